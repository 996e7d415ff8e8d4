"""Where the programs that ``deploy/bootstrap.d`` builds live.

Go programs (the Temporal server, Jaeger, Helm, ...) are built once per machine,
not per clone, so every clone and CI run on the machine shares them. The place
is the one ``deploy/bootstrap-lib.sh`` installs into.
"""

from __future__ import annotations

import os
from pathlib import Path


def tools_bin() -> Path:
    """The folder of built tools: ``DAIKO_TOOLS_BIN``, else the user's cache."""
    configured = os.environ.get("DAIKO_TOOLS_BIN")
    if configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "daiko" / "bin"


def tool(name: str) -> Path:
    """The path of one built tool (it may not exist: callers say how to get it)."""
    return tools_bin() / name

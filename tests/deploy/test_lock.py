"""uv.lock (what the image installs) agrees with pyproject.toml (what deploy/bootstrap.sh installs with pip).

The native path installs from pyproject.toml's pins; the image from the lock.
``uv lock --check`` fails when a dependency was added, removed or re-pinned in
pyproject.toml without ``uv lock``. uv comes with the dev extra; a venv without
it skips, saying so. It asks the package index (PyPI is reachable wherever the
README's commands run): a fresh machine has no uv cache to answer offline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from daiko.settings import PROJECT_ROOT

UV = Path(sys.executable).with_name("uv")

needs_uv = pytest.mark.skipif(
    not UV.is_file(), reason=f"uv is not installed in this venv ({UV}): pip install -e '.[dev]'"
)


def uv_lock_check(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(UV), "lock", "--check", "--project", str(project)],
        # The caller's environment (index, proxy and certificate settings), with this venv's Python.
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=120,
    )


@needs_uv
def test_uv_lock_agrees_with_pyproject() -> None:
    result = uv_lock_check(PROJECT_ROOT)
    assert result.returncode == 0, f"uv.lock is stale: run `.venv/bin/uv lock` and commit it\n{result.stderr}"


@needs_uv
def test_the_check_fails_when_pyproject_drops_a_locked_dependency(tmp_path: Path) -> None:
    """The check above can fail: a copy of the project whose pyproject.toml lost a dependency is refused."""
    shutil.copy(PROJECT_ROOT / "uv.lock", tmp_path / "uv.lock")
    shutil.copy(PROJECT_ROOT / "README.md", tmp_path / "README.md")
    text = (PROJECT_ROOT / "pyproject.toml").read_text()
    assert '  "pyyaml==' in text
    (tmp_path / "pyproject.toml").write_text("\n".join(line for line in text.splitlines() if '"pyyaml==' not in line))
    result = uv_lock_check(tmp_path)
    assert result.returncode != 0
    assert "needs to be updated" in result.stderr


def test_the_dev_extra_brings_uv() -> None:
    """So that the check above runs wherever deploy/bootstrap.sh made the venv."""
    import tomllib

    dev = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    assert any(r.startswith("uv==") for r in dev)

"""Every script in ``bench/`` still runs: each with ``--quick``, against the local stack.

The benchmarks are run by hand and their figures quoted in issues; a script
that no longer starts (an import moved, a setting renamed) would only be found
the next time someone needs a number. Here each runs with its small counts as
a subprocess, and must exit 0 and print its ``ratio`` line. No figure is
judged: a timing threshold would fail on a busy machine and say nothing about
the code. The subprocess timeout only stops a hung script.

A new script in ``bench/`` is picked up by the glob, so it must take ``--quick`` too.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from daiko.settings import PROJECT_ROOT
from tests.conftest import StackSettings

pytestmark = pytest.mark.stack

SCRIPTS = sorted((PROJECT_ROOT / "bench").glob("*.py"))
HANG_SECONDS = 150  # far above a quick run (under 60 s); only a hung script reaches it
RATIO_LINE = re.compile(r"^\s*ratio\b.*\d", re.IGNORECASE | re.MULTILINE)


def test_there_are_benchmarks_to_run() -> None:
    assert SCRIPTS, "bench/ holds no script"


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_each_benchmark_runs_quick_and_prints_its_ratio(stack: StackSettings, script: Path) -> None:
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(script), "--quick"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=HANG_SECONDS,
        check=False,
    )
    output = done.stdout + done.stderr
    # Shown with -s or on failure: how long the quick run took, for whoever tunes its counts.
    print(f"{script} --quick: exit {done.returncode} after {time.monotonic() - began:.0f}s")
    assert done.returncode == 0, output[-3000:]
    assert RATIO_LINE.search(done.stdout), f"no ratio line printed:\n{done.stdout[-3000:]}"

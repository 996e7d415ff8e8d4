"""The documentation lives in the repository and says true things about the tests.

Fast and stack-free: it reads files only.

- No tracked file may point to design documents outside the repository.
- Every rule R1-R14 has a row in docs/rules.md naming at least one test, and
  every test named there exists in the file it names.
- Every relative link between the documentation pages leads to a file.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
RULES = DOCS / "rules.md"

# Built from pieces so this file does not match its own patterns.
FORBIDDEN = ("../" + "shared", "DES" + "IGN.md")
RULE_IDS = [f"R{n}" for n in range(1, 15)]
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")
ROW = re.compile(r"^\|\s*(R\d+)\s*\|(.*)$")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def tracked_files() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, text=True
        ).stdout.split("\0")
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: every file but the usual noise
        skipped = {".git", ".venv", ".daiko", "node_modules", "__pycache__"}
        return [p for p in ROOT.rglob("*") if p.is_file() and not skipped & set(p.relative_to(ROOT).parts)]
    return [ROOT / name for name in listed if name and (ROOT / name).is_file()]


def rule_rows() -> dict[str, str]:
    rows: dict[str, str] = {}
    for line in RULES.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            assert match.group(1) not in rows, f"{match.group(1)} has two rows in docs/rules.md"
            rows[match.group(1)] = match.group(2)
    return rows


def defines(path: Path, name: str) -> bool:
    """A test function ``def name(`` / ``async def name(``, or a test bound by assignment (``name = ...``)."""
    pattern = re.compile(rf"^(?:async\s+)?def\s+{name}\s*\(|^{name}\s*=", re.MULTILINE)
    return bool(pattern.search(path.read_text(encoding="utf-8")))


def test_no_tracked_file_points_outside_the_repository() -> None:
    offenders = []
    for path in tracked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary files
        for number, line in enumerate(text.splitlines(), start=1):
            if any(word in line for word in FORBIDDEN):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "point to docs/ instead:\n" + "\n".join(offenders)


def test_every_rule_has_a_row_that_names_a_test() -> None:
    rows = rule_rows()
    assert sorted(rows, key=lambda r: int(r[1:])) == RULE_IDS
    for rule, row in rows.items():
        assert TEST_REF.search(row), f"{rule} in docs/rules.md names no test as `tests/<file>.py::test_<name>`"


@pytest.mark.parametrize("rule", RULE_IDS)
def test_every_test_a_rule_names_exists(rule: str) -> None:
    row = rule_rows().get(rule, "")
    for file, name in TEST_REF.findall(row):
        path = ROOT / file
        assert path.is_file(), f"{rule}: {file} does not exist"
        assert defines(path, name), f"{rule}: {file} defines no test {name}"


def test_links_between_documentation_pages_lead_to_files() -> None:
    pages = [*DOCS.rglob("*.md"), ROOT / "README.md"]
    broken = []
    for page in pages:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            if target == "events/README.md" and page.parent == DOCS:
                continue  # the generated event catalogue lands on its own branch
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken, "broken links:\n" + "\n".join(broken)

"""The Dockerfile, read: locked dependencies, a non-root user, a HEALTHCHECK, and an image layout that works.

No Docker engine is needed: the build stage's ``COPY`` lines are replayed
into a scratch folder, the project's wheel is built from exactly that, and
the installed package is imported from the unpacked wheel, with no source
tree beside it, as in the image. tests/deploy/test_compose_up.py builds the
real image where an engine exists.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement

from daiko.settings import PROJECT_ROOT

DOCKERFILE = PROJECT_ROOT / "Dockerfile"
BUILD_REQUIREMENTS = PROJECT_ROOT / "deploy" / "image-build-requirements.txt"
LOCK = PROJECT_ROOT / "uv.lock"


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            found.append([])
        found[-1].append((keyword, rest))
    return found


def pyproject() -> dict[str, Any]:
    loaded: dict[str, Any] = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    return loaded


def test_the_base_images_are_pinned_and_the_same_for_build_and_run() -> None:
    bases = [rest.split()[0] for keyword, rest in instructions() if keyword == "FROM"]
    assert len(bases) == 2, "a build stage and a run stage"
    assert len(set(bases)) == 1
    tag = bases[0].rsplit(":", 1)[1]
    assert re.fullmatch(r"3\.11\.\d+-slim-\w+", tag), f"{bases[0]} must pin Python's patch version"


def test_the_image_runs_as_an_unprivileged_user() -> None:
    run = stages()[-1]
    users = [rest for keyword, rest in run if keyword == "USER"]
    assert users, "the run stage must switch user"
    user, _, group = users[-1].partition(":")
    assert user not in {"root", "0"} and group not in {"root", "0"}
    assert user.isdigit(), "numeric, so Kubernetes' runAsNonRoot can check it"
    runs = " ".join(rest for keyword, rest in run if keyword == "RUN")
    assert f"useradd --system --uid {user} " in runs


def test_the_image_has_a_healthcheck_on_its_default_command() -> None:
    run = dict(stages()[-1])
    assert "HEALTHCHECK" in run
    check = run["HEALTHCHECK"]
    assert '"daiko-healthcheck", "http"' in check
    port = json.loads(run["CMD"])[-1]
    assert f"127.0.0.1:{port}/healthz" in check
    copies = [rest for keyword, rest in stages()[-1] if keyword == "COPY"]
    assert any(c.endswith("deploy/healthcheck.py /usr/local/bin/daiko-healthcheck") for c in copies)


def test_dependencies_come_from_the_lock_and_every_pip_install_checks_hashes() -> None:
    build = stages()[0]
    copies = [rest for keyword, rest in build if keyword == "COPY"]
    assert "pyproject.toml uv.lock ./" in copies
    runs = [rest for keyword, rest in build if keyword == "RUN"]
    syncs = [r for r in runs if "uv sync" in r]
    assert syncs and all("--frozen" in r for r in syncs), "uv sync --frozen: the lock as committed, never re-resolved"
    for command in " && ".join(runs).split("&&"):
        if "pip install" in command and "uv pip install" not in command:
            assert "--require-hashes" in command, command
        if "uv pip install" in command:
            assert "--no-deps" in command and "/dist/" in command, "uv pip installs only the project's own wheel"
        if "pip wheel" in command:
            assert "--no-deps" in command and "--no-build-isolation" in command, command
    assert not any(k == "COPY" and r.split()[0] == "." for k, r in build), "no COPY of the whole build context"


def test_the_build_requirements_pin_the_dev_extras_uv_with_the_locks_hashes() -> None:
    lines = re.sub(r"\\\n", " ", BUILD_REQUIREMENTS.read_text()).splitlines()
    pins = {}
    for line in lines:
        if line.strip() and not line.startswith("#"):
            spec, *hashes = line.split("--hash=")
            assert hashes, f"{spec.strip()} has no hash"
            name, version = spec.strip().split("==")
            pins[name] = (version, {h.strip() for h in hashes})
    assert set(pins) == {"uv", "setuptools"}
    dev = [Requirement(r) for r in pyproject()["project"]["optional-dependencies"]["dev"]]
    (uv_pin,) = [r for r in dev if r.name == "uv"]
    assert str(uv_pin.specifier) == f"=={pins['uv'][0]}"
    lock = tomllib.loads(LOCK.read_text())
    (locked_uv,) = [p for p in lock["package"] if p["name"] == "uv"]
    assert locked_uv["version"] == pins["uv"][0]
    locked_hashes = {w["hash"] for w in locked_uv.get("wheels", [])} | {locked_uv["sdist"]["hash"]}
    assert pins["uv"][1] <= locked_hashes, "the image's uv is the very files uv.lock names"
    (backend,) = [Requirement(r) for r in pyproject()["build-system"]["requires"] if r.startswith("setuptools")]
    assert pins["setuptools"][0] in backend.specifier, f"setuptools {pins['setuptools'][0]} is not {backend}"


def test_secrets_stay_out_of_the_build_context() -> None:
    ignored = (PROJECT_ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored
    assert ".venv" in ignored and ".daiko" in ignored


def test_the_package_carries_the_topics_file_of_deploy() -> None:
    packaged = PROJECT_ROOT / "daiko" / "topics.yaml"
    assert packaged.is_symlink() and packaged.resolve() == (PROJECT_ROOT / "deploy" / "topics.yaml").resolve()
    assert "topics.yaml" in pyproject()["tool"]["setuptools"]["package-data"]["daiko"]
    from daiko.topics import TOPICS_FILE

    assert packaged == TOPICS_FILE


@pytest.fixture(scope="module")
def image_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The build stage's COPY lines replayed, its wheel built, and the wheel unpacked as the image installs it."""
    context = tmp_path_factory.mktemp("context")
    for keyword, rest in stages()[0]:
        if keyword != "COPY" or rest.startswith("--from"):
            continue
        *sources, _ = rest.split()
        if sources == ["deploy/image-build-requirements.txt"]:
            continue
        for source in sources:
            target = context / source
            target.parent.mkdir(parents=True, exist_ok=True)
            origin = PROJECT_ROOT / source
            if origin.is_dir():
                shutil.copytree(origin, target, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(origin, target)
    wheels = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "--wheel-dir", str(wheels), str(context)],
        check=True,
        capture_output=True,
        timeout=240,
    )
    (wheel,) = wheels.glob("daiko-*.whl")
    site = tmp_path_factory.mktemp("site-packages")
    with zipfile.ZipFile(wheel) as unpacked:
        unpacked.extractall(site)
    return site


def test_in_the_image_layout_daiko_topics_finds_the_declared_topics(image_site: Path) -> None:
    assert not (image_site / "daiko" / "topics.yaml").is_symlink(), "the wheel holds the file, not a link"
    probe = """
import json
import daiko.topics, daiko.settings
from daiko.registry import registered_services
print(json.dumps({
    "topics_file": str(daiko.topics.TOPICS_FILE),
    "topics": daiko.topics.TOPICS_FILE.read_text(),
    "project_root": str(daiko.settings.PROJECT_ROOT),
    "migrations": {r.name: str(r.migrations) for r in registered_services()},
}))
"""
    answer = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=image_site.parent,  # not the repository: nothing but the unpacked wheel can be imported as daiko
        env={"PYTHONPATH": str(image_site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = json.loads(answer.stdout)
    assert Path(found["topics_file"]).is_relative_to(image_site), found["topics_file"]
    assert yaml.safe_load(found["topics"]) == yaml.safe_load((PROJECT_ROOT / "deploy" / "topics.yaml").read_text())
    assert found["project_root"] == str(image_site), "the image is a wheel install, no source tree"
    for name, folder in found["migrations"].items():
        assert (Path(folder) / "env.py").is_file(), f"{name}'s migrations are not in the wheel"
        assert any((Path(folder) / "versions").glob("*.py")), f"{name}'s migration versions are not in the wheel"

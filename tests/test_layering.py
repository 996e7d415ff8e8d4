"""The import arrows point one way: contracts <- plumbing <- workflows <- services <- development tools.

Read from the source (``ast``), so an arrow against the layering fails here
even inside a function-level import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("orders", "deposits", "messaging")


def _imported_modules(package: Path) -> set[tuple[str, str]]:
    """(file, imported module) for every import under ``package``."""
    found: set[tuple[str, str]] = set()
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update((str(path.relative_to(ROOT)), alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((str(path.relative_to(ROOT)), node.module))
    return found


def _offending(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{file} imports {module}"
        for file, module in _imported_modules(ROOT / package)
        if any(module == f or module.startswith(f"{f}.") for f in forbidden)
    )


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("contracts", ("daiko", "services", "workflows", "devstack", "tests", "bench")),
        ("daiko", ("services", "workflows", "devstack", "tests", "bench")),
        ("workflows", ("services", "devstack", "tests", "bench")),
        ("services", ("devstack", "tests", "bench")),
    ],
)
def test_a_lower_layer_never_imports_a_higher_one(package: str, forbidden: tuple[str, ...]) -> None:
    assert _offending(package, forbidden) == []


@pytest.mark.parametrize("name", SERVICES)
def test_a_service_imports_no_other_service(name: str) -> None:
    others = tuple(f"services.{other}" for other in SERVICES if other != name)
    assert _offending(f"services/{name}", others) == []


HTTP_LAYER = ("api.py", "staff_api.py", "schemas.py", "halts/api.py", "halts/schemas.py")


def _names_from_workflow_models(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module == "workflows.models":
            names.update(alias.name for alias in node.names)
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module == "workflows"
            and any(alias.name == "models" for alias in node.names)
        ):
            names.add("models")
        elif isinstance(node, ast.Import) and any(alias.name == "workflows.models" for alias in node.names):
            names.add("workflows.models")
    return names


@pytest.mark.parametrize("module", HTTP_LAYER)
def test_the_orders_http_layer_takes_only_the_workflows_vocabulary(module: str) -> None:
    """An API change is not a change replay must tolerate: routes and HTTP schemas use no workflow model.

    They may name the workflow's enumerations (statuses, kinds: the order's
    vocabulary, also on Kafka); every conversion between an HTTP model and a
    workflow model is in ``services/orders/mapping.py``.
    """
    from enum import Enum

    from workflows import models

    imported = _names_from_workflow_models(ROOT / "services" / "orders" / module)
    models_used = {name for name in imported if not isinstance(getattr(models, name, None), type(Enum))}
    assert models_used == set()


SKELETON = (
    "app.py",
    "settings.py",
    "registration.py",
    "deps.py",
    "api.py",
    "staff_api.py",
    "schemas.py",
    "service.py",
    "domain.py",
    "db.py",
    "events.py",
    "migrations",
)


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_has_the_same_inner_files(name: str) -> None:
    """The roles of docs/architecture.md "The same inner files in each service", one file each."""
    assert [f for f in SKELETON if not (ROOT / "services" / name / f).exists()] == []


@pytest.mark.parametrize("name", SERVICES)
def test_every_module_of_a_service_is_named_in_its_readme(name: str) -> None:
    """An extra module or sub-package is documented where a newcomer looks first."""
    folder = ROOT / "services" / name
    readme = (folder / "README.md").read_text()
    extra = sorted(
        p.name
        for p in folder.iterdir()
        if p.name not in SKELETON
        and p.name not in {"__init__.py", "__pycache__", "README.md"}
        and (p.suffix == ".py" or (p / "__init__.py").exists())
    )
    assert [f for f in extra if f"`{f}" not in readme] == []

"""How a service makes itself known to the plumbing, so the plumbing never imports a service.

Each service package declares one :class:`ServiceRegistration` and names it in
``pyproject.toml`` under the ``daiko.services`` entry-point group. ``daiko
migrate``, ``daiko search-attributes`` and the local stack read the group; adding
a fourth service is one registration, not edits scattered over the plumbing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from daiko.settings import ServiceSettings

ENTRY_POINT_GROUP = "daiko.services"


@dataclass(frozen=True)
class WorkerRegistration:
    """A Temporal worker process the service hosts (``python -m <module>``)."""

    name: str
    module: str


@dataclass(frozen=True)
class CompanionRegistration:
    """A development-only process the service needs next to it (e.g. a payment sandbox)."""

    name: str
    module: str
    health_path: str
    address: Callable[[], tuple[str, int]]
    """(host, port) it listens on, read from the service's settings."""


@dataclass(frozen=True)
class ServiceRegistration:
    name: str
    app: str
    """The ASGI application as uvicorn names it: ``package.module:attribute``."""
    settings: Callable[[], ServiceSettings]
    migrations: Path
    """The service's own Alembic folder; the plumbing's tables are migrated separately."""
    search_attributes: tuple[tuple[str, str], ...] = ()
    """Temporal search attributes (name, type) the service's workflows set."""
    workers: tuple[WorkerRegistration, ...] = ()
    companions: tuple[CompanionRegistration, ...] = ()


def registered_services() -> list[ServiceRegistration]:
    """Every installed service, in the order their names sort (stable start and migrate order)."""
    found = [ep.load() for ep in entry_points(group=ENTRY_POINT_GROUP)]
    for item in found:
        if not isinstance(item, ServiceRegistration):
            raise TypeError(f"entry point in {ENTRY_POINT_GROUP} is not a ServiceRegistration: {item!r}")
    return sorted(found, key=lambda registration: registration.name)


def service(name: str) -> ServiceRegistration:
    for registration in registered_services():
        if registration.name == name:
            return registration
    known = ", ".join(r.name for r in registered_services())
    raise KeyError(f"no service named {name!r} is installed (known: {known})")

"""``daiko dead-letters list|replay``: staff's view of the messages consumers parked, and their replays.

Each service's dead letters are in its own database, found through its
registration (``daiko.registry``), never by importing the service. A replay is
a request written on the row: the consumer that parked the message re-runs it
through its own path (read, contract check, apply once; see
:meth:`daiko.consumer.IdempotentConsumer.replay_requested`) and records the
outcome, which this command waits for and reports. Nothing is re-published to
Kafka, so the operator needs no write access to a service's topics and other
subscribers never see a copy.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
import time
from dataclasses import asdict
from typing import Any

from daiko.db import make_engine, make_session_factory
from daiko.dead_letters import DeadLetterView, list_dead_letters, request_replay
from daiko.registry import ServiceRegistration, registered_services, service
from daiko.tables import DeadLetter

POLL_SECONDS = 0.2


def add_parser(sub: Any) -> None:
    """Adds ``dead-letters`` to the ``daiko`` command's subcommands."""
    parser = sub.add_parser("dead-letters", help="list and replay the messages the consumers parked")
    actions = parser.add_subparsers(dest="action", required=True)

    listing = actions.add_parser("list", help="dead letters not yet replayed, newest first")
    listing.add_argument("--service", metavar="NAME", help="one service's (default: every service's)")
    listing.add_argument("--consumer", metavar="C", help="only those of this consumer group")
    listing.add_argument("--all", action="store_true", help="include those already replayed")
    listing.add_argument("--limit", type=int, default=100, metavar="N", help="per service (default 100)")
    listing.add_argument("--json", action="store_true", help="one JSON array, for scripts")

    replay = actions.add_parser("replay", help="have the consumer re-run dead letters, after fixing the cause")
    replay.add_argument("ids", nargs="+", type=int, metavar="ID")
    replay.add_argument("--service", metavar="NAME", required=True, help="whose database the ids are in")
    replay.add_argument("--by", default=getpass.getuser(), help="who asks, recorded on the row (default: you)")
    replay.add_argument(
        "--wait", type=float, default=30.0, metavar="SECONDS", help="for the outcome (default 30; 0: do not wait)"
    )


def run(args: argparse.Namespace) -> int:
    try:
        registrations = [service(args.service)] if args.service else registered_services()
    except KeyError as exc:  # an unknown --service: the registry's message names the known ones
        print(f"daiko dead-letters: {exc.args[0]}", file=sys.stderr)
        return 2
    if args.action == "list":
        return asyncio.run(_list(args, registrations))
    return asyncio.run(_replay(args, registrations[0]))


async def _views(registration: ServiceRegistration, **query: Any) -> list[DeadLetterView]:
    engine = make_engine(registration.settings().own_database_url, pool_size=1)
    try:
        async with make_session_factory(engine)() as session:
            return await list_dead_letters(session, DeadLetter, **query)
    finally:
        await engine.dispose()


async def _list(args: argparse.Namespace, registrations: list[ServiceRegistration]) -> int:
    found: list[tuple[str, DeadLetterView]] = []
    for registration in registrations:
        views = await _views(registration, consumer=args.consumer, include_resolved=args.all, limit=args.limit)
        found += [(registration.name, view) for view in views]
    if args.json:
        print(json.dumps([{"service": name, **asdict(view)} for name, view in found], default=str, indent=2))
        return 0
    for name, view in found:
        print(_line(name, view))
    if not found:
        print("no dead letters")
    return 0


def _line(service_name: str, view: DeadLetterView) -> str:
    error = view.error.replace("\n", " ")
    return (
        f"{service_name} #{view.id} {view.status} {view.created_at:%Y-%m-%dT%H:%M:%S%z} {view.consumer} "
        f"{view.topic}[{view.partition}]@{view.offset} type={view.event_type} id={view.event_id} "
        f"bytes={view.size} attempts={view.attempts} replays={view.replays}: "
        f"{error[:160]}{'…' if len(error) > 160 else ''}"
    )


async def _replay(args: argparse.Namespace, registration: ServiceRegistration) -> int:
    engine = make_engine(registration.settings().own_database_url, pool_size=1)
    try:
        sessions = make_session_factory(engine)
        async with sessions() as session, session.begin():
            marked = await request_replay(session, DeadLetter, args.ids, requested_by=args.by)
        for missing in sorted(set(args.ids) - set(marked)):
            print(f"{missing}: no dead letter waiting for a replay with this id in {registration.name}")
        if args.wait <= 0:
            for row_id in marked:
                print(f"{row_id}: replay requested")
            return 0 if len(marked) == len(set(args.ids)) else 1
        outcome = await _outcome(sessions, marked, args.wait) if marked else []
    finally:
        await engine.dispose()
    for view in outcome:
        if view.status == "replayed":
            print(f"{view.id}: replayed, applied by {view.consumer}")
        elif view.status == "failed-again":
            print(f"{view.id}: failed again, still a dead letter: {view.error}")
        else:
            print(f"{view.id}: still waiting for consumer {view.consumer} (is its service running?)")
    replayed = sum(view.status == "replayed" for view in outcome)
    return 0 if replayed == len(set(args.ids)) else 1


async def _outcome(sessions: Any, ids: list[int], wait: float) -> list[DeadLetterView]:
    """The rows once their consumers took the requests, or as they are when ``wait`` runs out."""
    deadline = time.monotonic() + wait
    while True:
        async with sessions() as session:
            views = await list_dead_letters(session, DeadLetter, ids=ids, include_resolved=True, limit=len(ids))
        if all(view.status != "replay-requested" for view in views) or time.monotonic() >= deadline:
            return sorted(views, key=lambda view: view.id)
        await asyncio.sleep(POLL_SECONDS)

"""The ``daiko`` command: the local stack, development tokens and migrations."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from daiko.settings import DaikoSettings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="daiko", description="Daiko order backend: local tools")
    sub = parser.add_subparsers(dest="command", required=True)

    stack = sub.add_parser("stack", help="run the whole system locally as native processes")
    stack_sub = stack.add_subparsers(dest="action", required=True)
    for action, text in (
        ("up", "start every part (idempotent) and wait until healthy"),
        ("down", "stop what `up` started"),
        ("status", "show each part; exit 0 only when all are healthy"),
        ("restart", "stop then start the named parts"),
    ):
        p = stack_sub.add_parser(action, help=text)
        p.add_argument("parts", nargs="*", help="postgres kafka temporal orders deposits messaging paypal worker")
    logs = stack_sub.add_parser("logs", help="show a part's log (all parts without a name)")
    logs.add_argument("part", nargs="?")
    logs.add_argument("-f", "--follow", action="store_true")
    logs.add_argument("-n", "--lines", type=int, default=100)

    token = sub.add_parser("token", help="mint a development JWT (HS256 secret from settings)")
    who = token.add_mutually_exclusive_group(required=True)
    who.add_argument("--customer", metavar="ID")
    who.add_argument("--staff", nargs="?", const="staff", metavar="ID")

    sub.add_parser("topics", help="create the Kafka topics declared in deploy/topics.yaml")
    sub.add_parser("search-attributes", help="register the order search attributes with Temporal")

    migrate = sub.add_parser("migrate", help="apply every service's Alembic migrations")
    migrate.add_argument("services", nargs="*")
    return parser


def register_search_attributes(settings: DaikoSettings) -> None:
    """Idempotent (the CLI accepts an attribute that already exists with the same type)."""
    import subprocess

    from daiko.stack.parts import VENV_BIN
    from workflows.search_attributes import SEARCH_ATTRIBUTES

    for name, kind in SEARCH_ATTRIBUTES:
        subprocess.run(
            [
                str(VENV_BIN / "temporal"),
                "operator",
                "search-attribute",
                "create",
                "--name",
                name,
                "--type",
                kind,
                "--namespace",
                settings.temporal_namespace,
                "--address",
                settings.temporal_address,
            ],
            check=True,
        )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # connection refusals while polling health
    settings = DaikoSettings()
    if args.command == "stack":
        from daiko.stack import commands
        from daiko.stack.parts import StackError

        try:
            if args.action == "up":
                return asyncio.run(commands.up(settings, args.parts))
            if args.action == "down":
                return commands.down(settings, args.parts)
            if args.action == "status":
                return asyncio.run(commands.status(settings, args.parts))
            if args.action == "restart":
                return asyncio.run(commands.restart(settings, args.parts))
            return commands.logs(settings, args.part, args.follow, args.lines)
        except StackError as exc:
            print(f"daiko stack {args.action}: {exc}", file=sys.stderr)
            return 1
    if args.command == "token":
        from daiko.auth import Role, mint_token

        if args.customer:
            print(mint_token(settings, subject=args.customer, role=Role.CUSTOMER))
        else:
            print(mint_token(settings, subject=args.staff, role=Role.STAFF))
        return 0
    if args.command == "search-attributes":
        register_search_attributes(settings)
        return 0
    if args.command == "topics":
        from daiko.stack.parts import create_topics

        asyncio.run(create_topics(settings.kafka_bootstrap))
        return 0
    from daiko.migrations import SERVICES, upgrade

    for service in args.services or SERVICES:
        upgrade(settings, service)
        print(f"{service}: migrated")
    return 0


if __name__ == "__main__":
    sys.exit(main())

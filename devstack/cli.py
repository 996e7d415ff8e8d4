"""``daiko-stack up|down|status|restart|logs``: the whole system as native processes, for development."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from daiko.settings import DaikoSettings
from devstack import commands
from devstack.parts import StackError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="daiko-stack", description="run the whole system locally")
    sub = parser.add_subparsers(dest="action", required=True)
    for action, text in (
        ("up", "start every part (idempotent) and wait until healthy"),
        ("down", "stop what `up` started"),
        ("status", "show each part; exit 0 only when all are healthy"),
        ("restart", "stop then start the named parts"),
    ):
        p = sub.add_parser(action, help=text)
        p.add_argument("parts", nargs="*", help="postgres kafka temporal, the services and their companions")
    logs = sub.add_parser("logs", help="show a part's log (all parts without a name)")
    logs.add_argument("part", nargs="?")
    logs.add_argument("-f", "--follow", action="store_true")
    logs.add_argument("-n", "--lines", type=int, default=100)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # connection refusals while polling health
    settings = DaikoSettings()
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
        print(f"daiko-stack {args.action}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

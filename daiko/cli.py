"""The ``daiko`` command: what an operator runs against a deployment (tokens, migrations, topics, Kafka ACLs,
dead letters).

The local stack is a development tool with its own command, ``daiko-stack``
(package ``devstack``); this one only uses the plumbing and the services'
registrations, so a production image needs nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import subprocess
import sys
from pathlib import Path

from daiko import dead_letter_commands
from daiko.acls import apply_service_acls, registered_principals, service_grants
from daiko.kafka import admin_connection
from daiko.registry import registered_services, service
from daiko.settings import DaikoSettings, KafkaAdminSettings
from daiko.topics import TOPICS_FILE, create_topics


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="daiko", description="Daiko order backend: operator tools")
    sub = parser.add_subparsers(dest="command", required=True)

    token = sub.add_parser("token", help="mint a development JWT (HS256 secret from settings)")
    who = token.add_mutually_exclusive_group(required=True)
    who.add_argument("--customer", metavar="ID")
    who.add_argument("--staff", nargs="?", const="staff", metavar="ID")

    topics = sub.add_parser("topics", help="create the Kafka topics declared in deploy/topics.yaml")
    topics.add_argument("--file", type=Path, default=TOPICS_FILE)
    sub.add_parser("kafka-acls", help="grant each service's Kafka principal its topics (from contracts/topics.py)")
    sub.add_parser("search-attributes", help="register the services' search attributes with Temporal")

    migrate = sub.add_parser("migrate", help="apply the plumbing's and every service's Alembic migrations")
    migrate.add_argument("services", nargs="*")
    dead_letter_commands.add_parser(sub)
    return parser


def register_search_attributes(settings: DaikoSettings) -> None:
    """Idempotent (the CLI accepts an attribute that already exists with the same type).

    Through the ``temporal`` CLI rather than the SDK, whose native threads can
    abort a short-lived interpreter at exit.
    """
    temporal = Path(sys.executable).parent / "temporal"
    for registration in registered_services():
        for name, kind in registration.search_attributes:
            subprocess.run(
                [
                    str(temporal),
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
    settings = DaikoSettings()
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
    if args.command == "dead-letters":
        return dead_letter_commands.run(args)
    if args.command == "topics":
        admin = KafkaAdminSettings()
        asyncio.run(
            create_topics(
                admin_connection(admin),
                args.file,
                replication_factor=admin.kafka_topic_replication_factor,
                min_insync_replicas=admin.kafka_topic_min_insync_replicas,
            )
        )
        return 0
    if args.command == "kafka-acls":
        created, deleted = asyncio.run(
            apply_service_acls(admin_connection(KafkaAdminSettings()), registered_principals())
        )
        for grant in service_grants(registered_principals()):
            print(f"{'created' if grant in created else 'kept   '} {grant}")
        for grant in deleted:
            print(f"deleted {grant}")
        return 0
    from daiko.migrations import upgrade

    registrations = [service(name) for name in args.services] if args.services else registered_services()
    for registration in registrations:
        upgrade(registration)
        print(f"{registration.name}: migrated")
    return 0


if __name__ == "__main__":
    sys.exit(main())

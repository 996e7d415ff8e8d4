"""Runs an outbox relay over the scratch database until killed (used by the crash test).

Usage: python -m tests.daiko.relay_process BATCH_SIZE
"""

from __future__ import annotations

import asyncio
import sys

from daiko.db import make_engine, make_session_factory
from daiko.kafka import admin_connection, idempotent_producer
from daiko.outbox import OutboxRelay
from daiko.settings import KafkaAdminSettings
from tests.daiko.plumbing_db import DATABASE, Outbox


async def main(batch_size: int) -> None:
    settings = KafkaAdminSettings()  # scratch topics: the setup admin may write any
    engine = make_engine(settings.database_url(DATABASE))
    producer = idempotent_producer(admin_connection(settings))
    await producer.start()
    relay = OutboxRelay(make_session_factory(engine), Outbox, producer, batch_size=batch_size, poll_interval=0.05)
    await relay.run()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))

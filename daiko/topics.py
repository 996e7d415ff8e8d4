"""Create the Kafka topics the system declares (``deploy/topics.yaml``), idempotently.

The package carries the file as ``daiko/topics.yaml`` (a link to ``deploy/topics.yaml`` in the
repository, the file itself in the wheel), so ``daiko topics`` finds it in a checkout, an editable
install and the container image alike.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from aiokafka.admin import NewTopic

from daiko.kafka import KafkaConnection, admin_client

TOPICS_FILE = Path(__file__).with_name("topics.yaml")


async def create_topics(
    kafka: KafkaConnection,
    spec_file: Path = TOPICS_FILE,
    *,
    replication_factor: int = 1,
    min_insync_replicas: int | None = None,
) -> None:
    """As ``kafka``'s principal, which needs CREATE on the cluster: the setup admin, never a service.

    One replica suits the single local broker; a production cluster gives every topic three (and
    ``min.insync.replicas`` 2), so an acknowledged event survives the loss of a broker. A topic that
    exists is left as it is (partitions are only ever added by hand: docs/production.md).
    """
    spec = yaml.safe_load(spec_file.read_text())["topics"]
    configs = {} if min_insync_replicas is None else {"min.insync.replicas": str(min_insync_replicas)}
    admin = admin_client(kafka)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                t["name"],
                t["partitions"],
                replication_factor,
                topic_configs={"retention.ms": str(t["retention_ms"]), **configs},
            )
            for t in spec
            if t["name"] not in existing
        ]
        if missing:
            await admin.create_topics(missing)
    finally:
        await admin.close()

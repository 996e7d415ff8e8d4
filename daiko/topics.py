"""Create the Kafka topics the system declares (``deploy/topics.yaml``), idempotently."""

from __future__ import annotations

from pathlib import Path

import yaml
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from daiko.settings import PROJECT_ROOT

TOPICS_FILE = PROJECT_ROOT / "deploy" / "topics.yaml"


async def create_topics(bootstrap: str, spec_file: Path = TOPICS_FILE) -> None:
    spec = yaml.safe_load(spec_file.read_text())["topics"]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(t["name"], t["partitions"], 1, topic_configs={"retention.ms": str(t["retention_ms"])})
            for t in spec
            if t["name"] not in existing
        ]
        if missing:
            await admin.create_topics(missing)
    finally:
        await admin.close()

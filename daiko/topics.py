"""Create the Kafka topics the system declares (``deploy/topics.yaml``), idempotently.

The package carries the file as ``daiko/topics.yaml`` (a link to ``deploy/topics.yaml`` in the
repository, the file itself in the wheel), so ``daiko topics`` finds it in a checkout, an editable
install and the container image alike.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from aiokafka.admin import NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

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
            # The broker answers a refusal (too many replicas for the brokers, a bad config) in the
            # response, not as an exception: a setup job must fail on it rather than report success.
            response = await admin.create_topics(missing)
            refused = [(error[0], error[1], error[2] if len(error) > 2 else None) for error in response.topic_errors]
            refused = [error for error in refused if error[1] and for_code(error[1]) is not TopicAlreadyExistsError]
            if refused:
                _, code, message = refused[0]
                names = ", ".join(error[0] for error in refused)
                raise for_code(code)(f"topics not created ({names}): {message or for_code(code).__name__}")
    finally:
        await admin.close()

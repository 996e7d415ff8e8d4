"""Kafka clients configured the way every Daiko process needs them."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


def idempotent_producer(bootstrap: str, **extra: object) -> AIOKafkaProducer:
    """acks=all + idempotence: a retried send never duplicates or reorders within a partition."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        **extra,  # type: ignore[arg-type]
    )


def committed_consumer(bootstrap: str, group_id: str, *topics: str, **extra: object) -> AIOKafkaConsumer:
    """Offsets are committed by hand, only after the effect is in the database."""
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        **extra,  # type: ignore[arg-type]
    )

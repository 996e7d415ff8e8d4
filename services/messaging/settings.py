"""Settings of the messaging service (``DAIKO_`` prefix, shared base).

Every limit a customer can run into (the R3 window, message length, photo size
and count) is a setting, so the agency can change its help page and this file
together without touching code.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from daiko.settings import KafkaLogin, ServiceSettings, development_secret

MiB = 1024 * 1024


class MessagingSettings(ServiceSettings):
    messaging_port: int = 8103
    messaging_database: str = "daiko_messaging"
    # Its Kafka principal (User:messaging): the ACLs let it write only the topics it produces.
    messaging_kafka_username: str = "messaging"
    messaging_kafka_password: SecretStr = development_secret("daiko-messaging-kafka-development-password")

    # R3: customers may write on ongoing orders and on orders closed less than this many days ago.
    message_window_days: int = Field(default=90, ge=0)
    message_max_chars: int = Field(default=5000, ge=1)

    # Photos for problem reports (R8).
    attachment_max_bytes: int = Field(default=10 * MiB, ge=1)
    attachment_max_count: int = Field(default=5, ge=0)
    attachment_storage: Literal["local", "s3"] = "local"
    attachment_dir: Path | None = None  # default: <state_dir>/messaging/attachments

    # S3-compatible object storage (AWS S3, MinIO, Cloudflare R2, ...), used when attachment_storage = "s3".
    s3_endpoint: str = "https://s3.ap-northeast-1.amazonaws.com"
    s3_region: str = "ap-northeast-1"
    s3_bucket: str = ""
    s3_prefix: str = "attachments/"
    s3_access_key_id: str = ""
    s3_secret_access_key: SecretStr = SecretStr("")

    # Cap per customer, so nobody fills the storage: bytes of photos uploaded in any 24 hours. Past it: 429.
    upload_bytes_max_per_customer_day: int = Field(default=100 * MiB, ge=0)

    # A customer writing on an order messaging has not heard of yet (its order.applied may still be on its way,
    # right after applying) is held this long for the order to appear before the 404 (with Retry-After).
    unknown_order_wait_seconds: float = Field(default=5.0, ge=0, le=30)
    # Messages left pending by earlier versions (which kept messages on unknown orders) are rejected this long
    # after they were written if their order never appeared; the sweep runs this often.
    pending_message_ttl_hours: float = Field(default=24.0, gt=0)
    pending_sweep_interval_seconds: float = Field(default=60.0, gt=0)

    order_events_group: str = "messaging-order-events"

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> MessagingSettings:
        if self.attachment_storage == "s3" and not (self.s3_bucket and self.s3_access_key_id):
            raise ValueError("DAIKO_ATTACHMENT_STORAGE=s3 needs DAIKO_S3_BUCKET and DAIKO_S3_ACCESS_KEY_ID")
        return self

    @property
    def message_window(self) -> timedelta:
        return timedelta(days=self.message_window_days)

    @property
    def pending_message_ttl(self) -> timedelta:
        return timedelta(hours=self.pending_message_ttl_hours)

    @property
    def attachment_path(self) -> Path:
        return self.attachment_dir or self.state_dir / "messaging" / "attachments"

    @property
    def port(self) -> int:
        return self.messaging_port

    @property
    def database(self) -> str:
        return self.messaging_database

    @property
    def messaging_kafka_login(self) -> KafkaLogin:
        return KafkaLogin(self.messaging_kafka_username, self.messaging_kafka_password)

    @property
    def kafka_login(self) -> KafkaLogin:
        return self.messaging_kafka_login

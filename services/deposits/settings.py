"""Settings of the deposits service (``DAIKO_`` prefix, shared base)."""

from __future__ import annotations

from pydantic import SecretStr

from daiko.events import DEPOSITS_COMMANDS
from daiko.settings import KafkaLogin, ServiceSettings, development_default, development_secret


class DepositsSettings(ServiceSettings):
    deposits_port: int = 8102
    deposits_database: str = "daiko_deposits"
    # Its Kafka principal (User:deposits): the ACLs let it write only the topics it produces.
    deposits_kafka_username: str = "deposits"
    deposits_kafka_password: SecretStr = development_secret("daiko-deposits-kafka-development-password")

    # Kafka: a test or a second deployment may point the consumer at another topic or group.
    deposits_commands_topic: str = DEPOSITS_COMMANDS
    deposits_commands_group: str = "deposits-commands"
    # Off only for a second instance that serves HTTP while another process consumes (tests).
    deposits_consume_commands: bool = True

    # PayPal REST API (Orders v2). The defaults point at the sandbox shipped in
    # services/deposits/paypal_sandbox (``python -m services.deposits.paypal_sandbox``).
    paypal_base_url: str = "http://127.0.0.1:8104"
    paypal_client_id: str = "daiko-sandbox-client"
    paypal_client_secret: SecretStr = development_secret("daiko-sandbox-secret")
    # The id PayPal gave the agency's webhook: PayPal's verify-webhook-signature checks deliveries against it.
    paypal_webhook_id: str = development_default("WH-DAIKO-SANDBOX")
    # A webhook older than this is refused even with a valid signature (replayed capture).
    paypal_webhook_tolerance_seconds: int = 300
    paypal_return_url: str = "http://127.0.0.1:8100/deposit/paypal/return"  # the portal captures there
    paypal_cancel_url: str = "http://127.0.0.1:8100/deposit"
    paypal_timeout_seconds: float = 10.0
    # Where the local sandbox delivers its webhooks; default: this deposits service.
    paypal_sandbox_webhook_url: str | None = None

    # Seed (32 bytes as 64 hex digits) of the Ed25519 key that signs every charge and refund the ledger
    # posts, so the orders' workflows can tell them from forgeries. Its public half goes to the orders service.
    ledger_signing_key: SecretStr = development_secret(
        "6c65646765722d6465762d7369676e696e672d6b65792d303030303030303030"
    )

    # The agency's own bank account: where a customer sends a bank-transfer pay-in, shown on Deposit Report's
    # bank-transfer tab. Production refuses these placeholders (customers would send money nowhere).
    agency_bank_name: str = development_default("Daiko Development Bank")
    agency_bank_branch: str = development_default("Head Office (001)")
    agency_bank_account_type: str = "ordinary"
    agency_bank_account_number: str = development_default("1234567")
    agency_bank_account_holder: str = development_default("DAIKO AGENCY")
    # For transfers from abroad; None where the agency takes domestic transfers only.
    agency_bank_swift: str | None = None

    # Key that seals withdrawal bank details at rest (AES-GCM); 32 bytes as 64 hex digits.
    bank_details_key: SecretStr = development_secret("6461696b6f2d6465762d62616e6b2d64657461696c732d6b65792d3030303030")

    @property
    def port(self) -> int:
        return self.deposits_port

    @property
    def database(self) -> str:
        return self.deposits_database

    @property
    def deposits_kafka_login(self) -> KafkaLogin:
        return KafkaLogin(self.deposits_kafka_username, self.deposits_kafka_password)

    @property
    def kafka_login(self) -> KafkaLogin:
        return self.deposits_kafka_login

"""Environment variables of each function (pydantic-settings), validated once per cold start."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

T = TypeVar("T", bound="Environment")


class Environment(BaseSettings):
    # Variable names are exactly the fields' aliases; anything else in the environment is ignored.
    model_config = SettingsConfigDict(extra="ignore", frozen=True, case_sensitive=True, hide_input_in_errors=True)
    _loaded: ClassVar[dict[type[Environment], Environment]] = {}

    @classmethod
    def load(cls: type[T]) -> T:
        """Read the process environment on first use and keep the result."""
        loaded = Environment._loaded.get(cls)
        if not isinstance(loaded, cls):
            loaded = Environment._loaded[cls] = cls()
        return loaded

    @staticmethod
    def forget() -> None:
        """Tests and the local runtime call this after changing the environment."""
        Environment._loaded.clear()


class AwsCallEnv(Environment):
    # A DynamoDB call answers in milliseconds; 5 s without an answer means a lost one, and the
    # SDK's retry is quicker than waiting. The local runtime raises it: its embedded AWS serves
    # one call at a time, so a call may wait its turn behind the other handlers' calls.
    read_timeout_seconds: float = Field(alias="PERISAI_AWS_READ_TIMEOUT_SECONDS", default=5, gt=0, le=60)


class AuthorizerEnv(Environment):
    partners_table: str = Field(alias="PARTNERS_TABLE", min_length=3)


class EnrollEnv(Environment):
    participants_table: str = Field(alias="PARTICIPANTS_TABLE", min_length=3)
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=3)
    nik_key_arn: str = Field(alias="NIK_KEY_ARN", min_length=3)
    nik_hmac_secret_arn: str = Field(alias="NIK_HMAC_SECRET_ARN", min_length=3)


class OutboxRelayEnv(Environment):
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)
    event_source: str = Field(alias="EVENT_SOURCE", default="perisai")


class NotifierEnv(Environment):
    participants_table: str = Field(alias="PARTICIPANTS_TABLE", min_length=3)
    # Indonesian operators require a registered alphanumeric sender id (3-11 characters).
    sms_sender_id: str = Field(alias="SMS_SENDER_ID", default="PERISAI", pattern=r"^[A-Za-z0-9]{3,11}$")


class PaymentsEnv(Environment):
    participants_table: str = Field(alias="PARTICIPANTS_TABLE", min_length=3)
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=3)
    midtrans_server_key_secret_arn: str = Field(alias="MIDTRANS_SERVER_KEY_SECRET_ARN", min_length=3)
    xendit_callback_token_secret_arn: str = Field(alias="XENDIT_CALLBACK_TOKEN_SECRET_ARN", min_length=3)
    channel_secrets_arn: str = Field(alias="CHANNEL_SECRETS_ARN", min_length=3)
    # Whether a payer named by the back office is a sponsor or local government (its key items).
    partners_table: str = Field(alias="PARTNERS_TABLE", min_length=3)


class BulkOrdersEnv(Environment):
    """Opening payers' bulk orders (its own function: a longer timeout than the callbacks')."""

    participants_table: str = Field(alias="PARTICIPANTS_TABLE", min_length=3)
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=3)
    # Whether a payer named by the back office is a sponsor or local government (its key items).
    partners_table: str = Field(alias="PARTNERS_TABLE", min_length=3)


class BulkCreditingEnv(Environment):
    """The bulk-order crediting worker: tasks from its queue, fanned out onto the same queue."""

    participants_table: str = Field(alias="PARTICIPANTS_TABLE", min_length=3)
    bulk_crediting_queue_url: str = Field(alias="BULK_CREDITING_QUEUE_URL", min_length=8)


class RemindersEnv(Environment):
    """The reminder functions: the scheduled run, the page worker and the SMS sender."""

    participants_table: str = Field(alias="PARTICIPANTS_TABLE", min_length=3)
    reminder_pages_queue_url: str = Field(alias="REMINDER_PAGES_QUEUE_URL", min_length=8)
    reminder_sms_queue_url: str = Field(alias="REMINDER_SMS_QUEUE_URL", min_length=8)
    # The SMS provider's per-country pace (AWS: 10 per second until raised), held across senders.
    sms_rate_per_second: int = Field(alias="SMS_RATE_PER_SECOND", default=10, ge=1, le=10_000)
    sms_sender_id: str = Field(alias="SMS_SENDER_ID", default="PERISAI", pattern=r"^[A-Za-z0-9]{3,11}$")


class ClaimsEnv(Environment):
    participants_table: str = Field(alias="PARTICIPANTS_TABLE", min_length=3)
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=3)
    claim_documents_bucket: str = Field(alias="CLAIM_DOCUMENTS_BUCKET", min_length=3)


class AgentsEnv(Environment):
    """The agents function (registry routes, later the agent reports) and its daily inactivity job."""

    participants_table: str = Field(alias="PARTICIPANTS_TABLE", min_length=3)
    # Whether a partner the back office names exists (its key listing items); not set for the job.
    partners_table: str | None = Field(alias="PARTNERS_TABLE", default=None, min_length=3)


class AggregatorEnv(Environment):
    """The coverage aggregator: domain events from its queue -> counters."""

    participants_table: str = Field(alias="PARTICIPANTS_TABLE", min_length=3)

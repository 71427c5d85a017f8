"""Environment variables of each function, validated once per cold start."""

from __future__ import annotations

import os
from typing import ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T", bound="Environment")


class Environment(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)
    _loaded: ClassVar[dict[type, Environment]] = {}

    @classmethod
    def load(cls: type[T]) -> T:
        """Validate the process environment on first use and keep the result."""
        if cls not in Environment._loaded:
            Environment._loaded[cls] = cls.model_validate(dict(os.environ))
        return Environment._loaded[cls]  # type: ignore[return-value]

    @staticmethod
    def forget() -> None:
        """Tests and the local runtime call this after changing the environment."""
        Environment._loaded.clear()


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


class PartnerAdminEnv(Environment):
    partners_table: str = Field(alias="PARTNERS_TABLE", min_length=3)


class NotifierEnv(Environment):
    participants_table: str = Field(alias="PARTICIPANTS_TABLE", min_length=3)
    # Indonesian operators require a registered alphanumeric sender id (3-11 characters).
    sms_sender_id: str = Field(alias="SMS_SENDER_ID", default="PERISAI", pattern=r"^[A-Za-z0-9]{3,11}$")

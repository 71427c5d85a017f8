"""Agent edge models: the registration and status-change requests, the agent view, the stored
agent item and the inactivity job's request."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from perisai.domain.agents import AGENT_CODE_PATTERN, REGENCY_PATTERN
from perisai.domain.errors import DomainValidationError
from perisai.domain.identity import is_known_regency, normalize_mobile
from perisai.domain.partners import PARTNER_ID_PATTERN
from perisai.models import Model, StoredModel

AgentStatus = Literal["active", "inactive"]
# Why the status is what it is: registered, deactivated or reactivated by a partner or the back
# office, or flagged by the daily inactivity job.
StatusReason = Literal["registered", "deactivated", "reactivated", "no_activity"]


class AgentRequest(Model):
    """POST /v1/agents. Unknown fields are ignored (as on the other requests)."""

    model_config = ConfigDict(str_strip_whitespace=True)

    agent_code: str = Field(
        pattern=AGENT_CODE_PATTERN,
        description="3-32 letters, digits or dashes; unique within the partner whatever the case (kept as "
        "given for display, keyed upper case)",
    )
    name: str = Field(min_length=1, max_length=150)
    phone: str = Field(description="The agent's Indonesian mobile number; stored as E.164, shown masked")
    home_regency: str = Field(
        pattern=REGENCY_PATTERN, description="Regency/city code (4 digits, as a NIK's first 4), e.g. 3273"
    )
    cooperative: str | None = Field(default=None, min_length=1, max_length=150, description="Umbrella cooperative")
    partner_id: str | None = Field(
        default=None,
        pattern=PARTNER_ID_PATTERN,
        description="Back office only: the partner the agent works for (default: the caller)",
    )

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        try:
            return normalize_mobile(value)
        except DomainValidationError as exc:
            raise ValueError("; ".join(f.message for f in exc.fields)) from None

    @field_validator("home_regency")
    @classmethod
    def _regency(cls, value: str) -> str:
        if not is_known_regency(value):
            raise ValueError("not a known regency/city code (the 4-digit code of the NIK region table)")
        return value


class StatusChangeRequest(Model):
    """POST /v1/agents/{agent_code}/deactivate and .../reactivate: an optional note."""

    reason: str | None = Field(default=None, min_length=1, max_length=200, description="Why (kept with the agent)")


class AgentView(Model):
    """An agent as its partner and the back office see it."""

    agent_code: str = Field(description="As registered")
    partner_id: str
    name: str
    phone: str = Field(description="Masked: country code and operator prefix, then the last 3 digits")
    home_regency: str
    cooperative: str | None
    status: AgentStatus
    status_reason: StatusReason
    status_note: str | None = Field(default=None, description="The reason given with the last (de)activation")
    registered_at: datetime
    updated_at: datetime
    last_activity_month: str = Field(
        description="Last month (YYYY-MM, Asia/Jakarta) with an acquisition or a collection; the registration "
        "month (or the reactivation month) until then"
    )


class StoredAgent(StoredModel):
    """The agent item ``AGENTS / <partner_id>#<CODE>`` (types only; index keys are computed on write)."""

    agent_code: str
    partner_id: str
    name: str
    phone: str
    home_regency: str
    cooperative: str | None = None
    status: AgentStatus
    status_reason: StatusReason
    status_note: str | None = None
    registered_at: datetime
    updated_at: datetime
    last_activity_month: str
    version: int = 1


class InactivityRun(Model):
    """What the agent-inactivity schedule sends."""

    job: Literal["agent-inactivity"]
    scheduled_at: datetime | None = None

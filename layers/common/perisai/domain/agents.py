"""Agen Perisai rules: agent codes, the registry's policy (data/agent_policy.json, key
``registry``) and when an agent without activity is flagged inactive. Pure: no AWS, no clock.

Inactivity (BPU_RULES, one branch's rule, unconfirmed): an agent with no acquisition and no
collection for ``inactive_after_months`` (3) consecutive whole calendar months is flagged
inactive. With L the agent's last month with activity (Asia/Jakarta), months L+1..L+3 must all
have passed: on any day of month N the agents with ``L <= N - 4`` qualify.
"""

from __future__ import annotations

import json
import re
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from . import policy_data
from .errors import DomainValidationError
from .months import DuesMonth

__all__ = [
    "AGENT_CODE_PATTERN",
    "AgentPolicy",
    "RegistryPolicy",
    "agent_sort_key",
    "inactivity_months",
    "is_inactive",
    "mask_phone",
    "normalize_agent_code",
]

# As the enrollment's agent_code (perisai.enrollment.models): a code an enrollment can name.
AGENT_CODE_PATTERN = r"^[A-Za-z0-9-]{3,32}$"
_AGENT_CODE = re.compile(AGENT_CODE_PATTERN)
REGENCY_PATTERN = r"^[0-9]{4}$"


def normalize_agent_code(code: str) -> str:
    """The code as the registry keys it: upper case (codes are unique per partner whatever their case)."""
    given: object = code
    if not isinstance(given, str) or not _AGENT_CODE.match(code):
        raise DomainValidationError.single("agent_code", "must be 3-32 letters, digits or dashes")
    return code.upper()


def agent_sort_key(partner_id: str, code: str) -> str:
    """``<partner_id>#<CODE>``: the agent item's sort key and its inactivity-index sort key (the
    code upper case; codes are checked where they enter, so a stored one is used as it is)."""
    return f"{partner_id}#{code.upper()}"


def mask_phone(e164: str) -> str:
    """An agent's phone as views show it: country code and operator prefix, then the last 3
    digits (``+62812*****890``): enough to recognise it, not to call it."""
    if len(e164) < 9:
        return "*" * len(e164)
    return e164[:6] + "*" * (len(e164) - 9) + e164[-3:]


class RegistryPolicy(BaseModel):
    """One effective-dated version of the registry's policy."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    effective_from: date
    inactive_after_months: int = Field(ge=1, le=24)
    catch_up_months: int = Field(ge=1, le=120)
    source: str = Field(min_length=1)


class AgentPolicy(BaseModel):
    """The registry's part of the agent policy book; other top-level keys (commission, ...)
    belong to other readers and are ignored here."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    registry: tuple[RegistryPolicy, ...] = Field(min_length=1)

    def registry_on(self, day: date) -> RegistryPolicy:
        """The registry policy in force on ``day``."""
        version = policy_data.in_force(self.registry, day)
        if version is None:
            raise ValueError(f"no agent registry policy is in force on {day.isoformat()}")
        return version

    @staticmethod
    @cache
    def packaged() -> AgentPolicy:
        return AgentPolicy.from_document(policy_data.packaged("agent_policy.json"))

    @staticmethod
    def load(path: str | Path) -> AgentPolicy:
        return AgentPolicy.from_document(json.loads(Path(path).read_text(encoding="utf-8")))

    @staticmethod
    def from_document(document: dict[str, Any]) -> AgentPolicy:
        policy = AgentPolicy.model_validate(document)
        policy_data.one_version_per_day(policy.registry, "agent registry policy")
        return policy


def last_inactive_month(today: date, policy: RegistryPolicy) -> DuesMonth:
    """The latest last-activity month that makes an agent inactive on ``today``: N - (months + 1)."""
    return DuesMonth.of(today).plus(-(policy.inactive_after_months + 1))


def is_inactive(last_activity_month: str, today: date, policy: RegistryPolicy) -> bool:
    """Whether an agent whose last activity was in ``last_activity_month`` has gone
    ``inactive_after_months`` whole months without any by ``today``."""
    return DuesMonth.parse(last_activity_month) <= last_inactive_month(today, policy)


def inactivity_months(today: date, policy: RegistryPolicy) -> list[str]:
    """The last-activity months the daily job reads on ``today``, newest first: N-4 and the
    ``catch_up_months`` - 1 before it (a bounded window: never a scan)."""
    newest = last_inactive_month(today, policy)
    return [str(newest.plus(-n)) for n in range(policy.catch_up_months)]

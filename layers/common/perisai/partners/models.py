from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from perisai.models import Model

Channel = Literal[
    "agent_network",  # Agen Perisai
    "post_office",
    "bank_agent",  # BRILink, Agen BNI 46
    "retailer",  # Indomaret, Alfamart
    "sponsor",  # SERTAKAN
    "local_government",  # APBD
    "back_office",
]
Scope = Literal["enroll", "pay", "claims", "backoffice"]
KeyStatus = Literal["active", "revoked"]
# API Gateway usage plans (infra/perisai_infra/api.py PLANS): per-partner rate, burst and daily quota.
UsagePlan = Literal["trial", "standard", "bulk"]

# The OpenAPI security scheme of partner keys (perisai.api documents it, the authorizer reads it).
SECURITY_SCHEME = "PartnerKey"


class PartnerKey(Model):
    """Stored item: one API key of one partner, found by the key's hash."""

    key_hash: str
    key_id: str
    partner_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    partner_name: str
    channel: Channel
    scopes: list[Scope]
    status: KeyStatus = "active"
    usage_plan: UsagePlan = "standard"
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"

    @property
    def usage_key(self) -> str:
        """The API Gateway API key value that meters this key in its usage plan. Derived from the
        hash, so nothing more is stored; it identifies usage, it does not authenticate."""
        return f"usage-{self.key_hash[:40]}"

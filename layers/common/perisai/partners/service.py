"""Partner authentication and key administration."""

from __future__ import annotations

from collections.abc import Iterable

from perisai.clock import clock
from perisai.partners.keys import bearer_token, key_hash, key_id, new_key
from perisai.partners.models import Channel, PartnerKey, Scope, UsagePlan
from perisai.partners.repository import PartnerKeyRepository


def authenticate(authorization_header: str | None, repository: PartnerKeyRepository) -> PartnerKey | None:
    """The active key behind an ``Authorization: Bearer`` header, or None (unknown, revoked, malformed)."""
    token = bearer_token(authorization_header)
    if token is None:
        return None
    key = repository.find_by_hash(key_hash(token))
    return key if key is not None and key.active else None


def issue_key(
    repository: PartnerKeyRepository,
    *,
    partner_id: str,
    partner_name: str,
    channel: Channel,
    scopes: Iterable[Scope],
    key: str | None = None,
    usage_plan: UsagePlan = "standard",
) -> tuple[str, PartnerKey]:
    """Create a key; the clear key is returned once and never stored."""
    clear = key or new_key()
    record = PartnerKey(
        key_hash=key_hash(clear),
        key_id=key_id(clear),
        partner_id=partner_id,
        partner_name=partner_name,
        channel=channel,
        scopes=sorted(set(scopes)),
        usage_plan=usage_plan,
        created_at=clock.now(),
    )
    repository.save(record)
    return clear, record

"""The partner channel that calls, and the rules that depend on who it is."""

from __future__ import annotations

from dataclasses import dataclass

BACKOFFICE = "backoffice"
LOCAL_GOVERNMENT = "local_government"
PARTNER_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"  # a partner id (payers and agents' partners too)


@dataclass(frozen=True)
class Partner:
    """A partner channel as the authorizer established it (trusted: read from the partner key)."""

    partner_id: str
    channel: str
    scopes: frozenset[str]
    key_id: str = ""

    def can(self, scope: str) -> bool:
        return scope in self.scopes or BACKOFFICE in self.scopes

    @property
    def is_backoffice(self) -> bool:
        return BACKOFFICE in self.scopes

    @property
    def is_local_government(self) -> bool:
        return self.channel == LOCAL_GOVERNMENT

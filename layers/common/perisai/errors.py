"""Application errors raised by services and data-access modules.

HTTP status codes are assigned in one place, ``perisai.api``; nothing here knows HTTP.
"""

from __future__ import annotations

from perisai.domain.errors import DomainError, DomainValidationError, FieldError, RulesNotInForce

__all__ = [
    "AgentExists",
    "AlreadyEnrolled",
    "ClaimAlreadyFiled",
    "ClaimStateConflict",
    "DependencyUnavailable",
    "DomainError",
    "DomainValidationError",
    "FieldError",
    "Forbidden",
    "IdempotencyKeyReused",
    "NotBuilt",
    "NotFound",
    "RequestInProgress",
    "InvalidPaymentCode",
    "MalformedCallback",
    "RulesNotInForce",
    "Unauthenticated",
    "VersionConflict",
    "WorkersInOpenOrder",
]


class NotFound(DomainError):
    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")
        self.what = what


class AlreadyEnrolled(DomainError):
    """This NIK already has a participation (the existing record is not revealed)."""

    def __init__(self) -> None:
        super().__init__("a participant with this NIK is already enrolled")


class AgentExists(DomainError):
    """The partner already registered an agent under this code (codes are unique per partner, whatever their case)."""

    def __init__(self) -> None:
        super().__init__("this partner already has an agent with this code")


class ClaimAlreadyFiled(DomainError):
    """One claim per participant, type and incident: this one exists (its id is named)."""

    def __init__(self, claim_id: str = "") -> None:
        named = f": {claim_id}" if claim_id else ""
        super().__init__(f"a claim of this type for this incident already exists{named}")
        self.claim_id = claim_id


class ClaimStateConflict(DomainError):
    """The claim is not in a state that allows this step (e.g. paying out a rejected claim)."""


class Forbidden(DomainError):
    pass


class IdempotencyKeyReused(DomainError):
    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was already used with a different request body")


class RequestInProgress(DomainError):
    def __init__(self) -> None:
        super().__init__("a request with this Idempotency-Key is still being processed; retry shortly")


class DependencyUnavailable(DomainError):
    """An AWS dependency throttled or failed; nothing was changed and the caller may retry."""


class NotBuilt(DomainError):
    """The capability behind this route or job is planned but not built yet."""


class VersionConflict(DomainError):
    """The item changed (or was created) since it was read: read it again and retry the change."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} changed since it was read")


class Unauthenticated(DomainError):
    """A caller that authenticates itself in the request (a provider's signature or token) did not."""


class InvalidPaymentCode(DomainError):
    """A payment code whose format or check digit is wrong: a mistyped code, never an order."""


class MalformedCallback(DomainError):
    """A provider's callback body (or header) that cannot be read: the field at fault is named,
    its value never. Here, not in perisai.payments, so the error table needs no provider code."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class WorkersInOpenOrder(DomainError):
    """Workers named for a bulk order are in another open bulk order (one at a time each)."""

"""Direct channel partners (Pos, BRILink, bank agents): authentication and meaning.

A channel POSTs ``{"payment_code", "amount", "paid_at", "channel_reference"}`` when a worker pays
an order's payment code at its counter, with headers:

- ``X-Channel-Id``: the channel (it selects the channel's own secret);
- ``X-Timestamp``: Unix seconds, refused more than 300 s away from our clock;
- ``X-Signature``: ``sha256=<hex HMAC-SHA256(secret, X-Timestamp + "." + raw body)>``.

The timestamp is signed with the body, so a captured request cannot be replayed later under a
new timestamp; duplicates (the same payment sent twice) are recognised by
``(channel, channel_reference)``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import datetime

from pydantic import Field

from perisai.clock import JAKARTA

from .providers import MalformedCallback, ProviderEvent, ProviderModel, Rupiah, parse_instant, parse_model

__all__ = [
    "CHANNEL_ID_PATTERN",
    "ChannelPayment",
    "channel_signature",
    "parse_channel",
    "verify_channel",
]

CHANNEL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_CHANNEL_ID = re.compile(CHANNEL_ID_PATTERN)
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_SIGNATURE = re.compile(r"^sha256=([0-9a-fA-F]{64})$")


class ChannelPayment(ProviderModel):
    payment_code: str = Field(min_length=1, max_length=64)
    amount: Rupiah
    paid_at: str = Field(min_length=1, max_length=40)
    channel_reference: str = Field(min_length=1, max_length=128)


def channel_signature(secret: str, timestamp: str, raw_body: bytes) -> str:
    """The ``X-Signature`` value a channel sends: ``sha256=`` and the hex HMAC-SHA256."""
    message = timestamp.encode("utf-8") + b"." + raw_body
    return "sha256=" + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify_channel(
    raw_body: bytes,
    timestamp: str | None,
    signature: str | None,
    secret: str,
    now: datetime,
    max_skew_seconds: int = 300,
) -> bool:
    """True when ``signature`` signs ``timestamp`` and ``raw_body`` with ``secret`` and
    ``timestamp`` is within ``max_skew_seconds`` of ``now`` (either way).

    Any missing or malformed header, or an empty secret, is False. Constant-time comparison.
    ``now`` must be timezone-aware.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not secret or timestamp is None or signature is None:
        return False
    if not _TIMESTAMP.match(timestamp):
        return False
    if abs(now.timestamp() - int(timestamp)) > max_skew_seconds:
        return False
    matched = _SIGNATURE.match(signature)
    if matched is None:
        return False
    expected = channel_signature(secret, timestamp, raw_body).removeprefix("sha256=")
    return hmac.compare_digest(expected.encode("ascii"), matched.group(1).lower().encode("ascii"))


def parse_channel(raw_body: bytes, channel_id: str | None) -> ProviderEvent:
    """A channel's payment, from the raw body it signed and its ``X-Channel-Id``.

    Always ``paid``; ``order_id`` is None (the order is named by ``payment_code``, which is not
    checked here: its format and check digit belong to the orders). ``paid_at`` without an offset
    is Jakarta time. Does not authenticate: call :func:`verify_channel` first.
    """
    if channel_id is None or not _CHANNEL_ID.match(channel_id):
        raise MalformedCallback("X-Channel-Id", "must be a channel id (letters, digits, '.', '_', '-')")
    try:
        body = json.loads(raw_body, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError):
        raise MalformedCallback("body", "must be a JSON object") from None
    payment = parse_model(ChannelPayment, body)
    reference = f"{channel_id}:{payment.channel_reference}"
    return ProviderEvent(
        provider="channel",
        kind="paid",
        order_id=None,
        payment_code=payment.payment_code,
        amount=payment.amount,
        reference=reference,
        payment_ref=reference,
        channel_name=channel_id,
        method=None,
        occurred_at=parse_instant(payment.paid_at, "paid_at", JAKARTA),
        raw_status="paid",
    )


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")

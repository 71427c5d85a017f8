"""Midtrans HTTP notifications: authentication and meaning.

Midtrans POSTs a JSON notification on every status change of a transaction, retries failed
deliveries, and may deliver one twice or out of order. Its ``signature_key`` is
``SHA512(order_id + status_code + gross_amount + server_key)`` in hex, over the strings exactly as
sent (``gross_amount`` is a string like ``"336000.00"``). Times are Jakarta time (GMT+7) without
an offset (``"2020-01-09 18:21:34"``). Refund notifications carry ``refund_amount`` (the total
refunded on the transaction so far) and ``refunds[]`` (each refund: ``refund_chargeback_id``,
``refund_amount``, ``created_at``, ``reason``, ``refund_key``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import Field

from perisai.clock import JAKARTA

from .providers import (
    EventKind,
    MalformedCallback,
    ProviderEvent,
    ProviderModel,
    Rupiah,
    parse_instant,
    parse_model,
    parse_rupiah,
)

__all__ = [
    "MidtransNotification",
    "MidtransRefund",
    "MidtransVaNumber",
    "interpret_midtrans",
    "midtrans_signature",
    "parse_midtrans",
    "verify_midtrans",
]

_PAID_STATUSES = frozenset({"capture", "settlement"})
_PENDING_STATUSES = frozenset({"pending", "authorize"})
_FAILED_STATUSES = frozenset({"expire", "failure"})
_VOIDED_STATUSES = frozenset({"deny", "cancel"})
_FULL_REVERSALS = frozenset({"refund", "chargeback"})
_PARTIAL_REVERSALS = frozenset({"partial_refund", "partial_chargeback"})


class MidtransVaNumber(ProviderModel):
    bank: str | None = None
    va_number: str | None = None


class MidtransRefund(ProviderModel):
    refund_chargeback_id: int | str | None = None
    refund_amount: Rupiah | None = None
    created_at: str | None = None
    reason: str | None = None
    refund_key: str | None = None


class MidtransNotification(ProviderModel):
    """The fields of a Midtrans notification this service reads; the others are ignored."""

    transaction_status: str = Field(min_length=1, max_length=40)
    status_code: str = Field(min_length=1, max_length=10)
    gross_amount: str = Field(min_length=1, max_length=40)
    order_id: str = Field(min_length=1, max_length=128)
    transaction_id: str = Field(min_length=1, max_length=128)
    signature_key: str | None = None
    fraud_status: str | None = None
    payment_type: str | None = None
    currency: str | None = None
    store: str | None = None
    va_numbers: list[MidtransVaNumber] | None = None
    permata_va_number: str | None = None
    bank: str | None = None
    transaction_time: str | None = None
    settlement_time: str | None = None
    expiry_time: str | None = None
    refund_amount: Rupiah | None = None
    refunds: list[MidtransRefund] | None = None


def midtrans_signature(order_id: str, status_code: str, gross_amount: str, server_key: str) -> str:
    """The ``signature_key`` Midtrans computes: SHA-512 hex of the plain concatenation."""
    return hashlib.sha512((order_id + status_code + gross_amount + server_key).encode("utf-8")).hexdigest()


def verify_midtrans(notification: Mapping[str, Any] | MidtransNotification, server_key: str) -> bool:
    """True when the notification's ``signature_key`` is Midtrans's, for this server key.

    Takes the parsed JSON body (so a caller can authenticate before validating, and answer an
    unsigned body 401 rather than 400) or a :class:`MidtransNotification`. Any missing or
    non-string signed field, or an empty server key, is False. Constant-time comparison.
    """
    if not server_key:
        return False
    fields = notification.model_dump() if isinstance(notification, MidtransNotification) else notification
    order_id, status_code, gross_amount, given = (
        _text(fields, name) for name in ("order_id", "status_code", "gross_amount", "signature_key")
    )
    if order_id is None or status_code is None or gross_amount is None or given is None:
        return False
    expected = midtrans_signature(order_id, status_code, gross_amount, server_key)
    return hmac.compare_digest(expected.encode("ascii"), given.strip().lower().encode("utf-8"))


def _text(fields: Mapping[str, Any], name: str) -> str | None:
    value = fields.get(name)
    return value if isinstance(value, str) else None


def parse_midtrans(body: object) -> ProviderEvent:
    """A parsed Midtrans notification body, validated and interpreted (see :func:`interpret_midtrans`).

    Does not authenticate: call :func:`verify_midtrans` first.
    """
    return interpret_midtrans(parse_model(MidtransNotification, body))


def interpret_midtrans(n: MidtransNotification) -> ProviderEvent:
    """What a Midtrans notification means.

    - ``settlement``, or ``capture``, with ``fraud_status`` ``accept`` or absent: ``paid`` (and
      ``status_code`` must be ``200``); ``fraud_status`` ``challenge``: ``held``;
      ``fraud_status`` ``deny``: ``voided``.
    - ``pending``, ``authorize`` (card authorised, not captured): ``pending``.
    - ``expire``, ``failure``: ``failed``.
    - ``deny``, ``cancel``: ``voided`` (``failed`` or ``reversed`` depending on whether this
      transaction was credited: :meth:`ProviderEvent.resolve`).
    - ``refund``, ``chargeback``: ``reversed`` of ``refund_amount`` (or the sum of ``refunds[]``,
      or ``gross_amount`` when neither is given); ``partial_refund``, ``partial_chargeback``:
      ``reversed`` of ``refund_amount`` or the sum of ``refunds[]``, one of which is required.
    - any other status: :class:`MalformedCallback` (``transaction_status``).
    """
    if n.currency is not None and n.currency != "IDR":
        raise MalformedCallback("currency", "must be IDR")
    gross = parse_rupiah(n.gross_amount, "gross_amount")
    transaction_time = _time(n.transaction_time, "transaction_time")
    settlement_time = _time(n.settlement_time, "settlement_time")
    expiry_time = _time(n.expiry_time, "expiry_time")
    status = n.transaction_status
    tx = n.transaction_id
    kind: EventKind
    amount = gross
    occurred_at: datetime | None
    if status in _PAID_STATUSES:
        if n.fraud_status in (None, "accept"):
            if n.status_code != "200":
                raise MalformedCallback("status_code", "must be 200 for a settled or accepted payment")
            kind = "paid"
            occurred_at = settlement_time or transaction_time
        elif n.fraud_status == "challenge":
            kind, occurred_at = "held", transaction_time
        elif n.fraud_status == "deny":
            kind, occurred_at = "voided", None
        else:
            raise MalformedCallback("fraud_status", "must be accept, challenge or deny")
    elif status in _PENDING_STATUSES:
        kind, occurred_at = "pending", transaction_time
    elif status in _FAILED_STATUSES:
        kind = "failed"
        occurred_at = (expiry_time if status == "expire" else None) or transaction_time
    elif status in _VOIDED_STATUSES:
        # When the deny or cancel happened is not in the notification (transaction_time is the
        # transaction's creation); the receiver's clock is the better record.
        kind, occurred_at = "voided", None
    elif status in _FULL_REVERSALS or status in _PARTIAL_REVERSALS:
        kind = "reversed"
        amount = _reversed_total(n, gross)
        occurred_at = _latest_refund_time(n)
    else:
        raise MalformedCallback("transaction_status", "is not a Midtrans transaction status")
    reference = f"{tx}:reversed:{status}:{amount}" if kind == "reversed" else f"{tx}:{kind}"
    return ProviderEvent(
        provider="midtrans",
        kind=kind,
        order_id=n.order_id,
        payment_code=None,
        amount=amount,
        reference=reference,
        payment_ref=tx,
        channel_name=_channel_name(n),
        method=n.payment_type,
        occurred_at=occurred_at,
        raw_status=status if n.fraud_status is None else f"{status}/{n.fraud_status}",
    )


def _reversed_total(n: MidtransNotification, gross: int) -> int:
    if n.refund_amount is not None:
        total = n.refund_amount
    elif n.refunds and all(r.refund_amount is not None for r in n.refunds):
        total = sum(r.refund_amount or 0 for r in n.refunds)
    elif n.transaction_status in _FULL_REVERSALS:
        total = gross
    else:
        raise MalformedCallback("refund_amount", "is required for a partial refund or chargeback")
    if total > gross:
        raise MalformedCallback("refund_amount", "exceeds gross_amount")
    return total


def _latest_refund_time(n: MidtransNotification) -> datetime | None:
    times = [_time(r.created_at, f"refunds.{i}.created_at") for i, r in enumerate(n.refunds or [])]
    known = [t for t in times if t is not None]
    return max(known) if known else None


def _channel_name(n: MidtransNotification) -> str | None:
    if n.payment_type == "cstore" and n.store:
        return n.store
    if n.va_numbers:
        bank = n.va_numbers[0].bank
        if bank:
            return bank
    if n.permata_va_number:
        return "permata"
    if n.payment_type == "echannel":
        return "mandiri"
    return n.bank or n.payment_type


def _time(value: str | None, field: str) -> datetime | None:
    return parse_instant(value, field, JAKARTA)

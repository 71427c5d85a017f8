"""Xendit callbacks: authentication and meaning.

Every Xendit callback carries the header ``x-callback-token``, equal to the account's
verification token. Three callbacks concern dues orders (``external_id`` is our ``order_id``):

- invoice callbacks: ``id`` (the invoice), ``external_id``, ``status`` (``PAID``, ``SETTLED``,
  ``EXPIRED``), ``amount``, ``paid_amount``, ``payment_method``, ``payment_channel``, ``paid_at``;
- fixed virtual-account payment callbacks: ``external_id``, ``amount``, ``payment_id``,
  ``bank_code``, ``callback_virtual_account_id``, ``transaction_timestamp``;
- retail-outlet (fixed payment code) payment callbacks: ``external_id``, ``amount``,
  ``payment_id``, ``retail_outlet_name``, ``fixed_payment_code_id``, ``transaction_timestamp``.

Amounts are JSON numbers in rupiah; times are ISO-8601 UTC (``2020-10-20T04:20:31.000Z``).
Xendit retries a callback for 24 hours.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated

from pydantic import Field

from .providers import (
    EventKind,
    MalformedCallback,
    ProviderEvent,
    ProviderModel,
    Rupiah,
    parse_instant,
    parse_model,
)

__all__ = [
    "XenditInvoiceCallback",
    "XenditRetailOutletPayment",
    "XenditVirtualAccountPayment",
    "parse_xendit",
    "verify_xendit",
]

_INVOICE_STATUSES: dict[str, EventKind] = {
    "PAID": "paid",
    "SETTLED": "paid",
    "EXPIRED": "failed",
    "PENDING": "pending",
}
_RETAIL_PAID_STATUSES = frozenset({"COMPLETED", "SUCCEEDED", "PAID"})

_Id = Annotated[str, Field(min_length=1, max_length=128)]


class XenditInvoiceCallback(ProviderModel):
    id: _Id
    external_id: _Id
    status: str = Field(min_length=1, max_length=40)
    amount: Rupiah | None = None
    paid_amount: Rupiah | None = None
    payment_id: str | None = None
    payment_method: str | None = None
    payment_channel: str | None = None
    bank_code: str | None = None
    retail_outlet_name: str | None = None
    paid_at: str | None = None
    updated: str | None = None
    currency: str | None = None


class XenditVirtualAccountPayment(ProviderModel):
    external_id: _Id
    amount: Rupiah
    payment_id: _Id
    bank_code: str = Field(min_length=1, max_length=40)
    callback_virtual_account_id: str | None = None
    transaction_timestamp: str | None = None
    currency: str | None = None


class XenditRetailOutletPayment(ProviderModel):
    external_id: _Id
    amount: Rupiah
    payment_id: _Id
    retail_outlet_name: str = Field(min_length=1, max_length=40)
    fixed_payment_code_id: str | None = None
    transaction_timestamp: str | None = None
    status: str | None = None
    currency: str | None = None


def verify_xendit(header_token: str | None, expected: str) -> bool:
    """True when the ``x-callback-token`` header equals the account's verification token.

    A missing header or an empty expected token is False. Constant-time comparison.
    """
    if not expected or header_token is None:
        return False
    return hmac.compare_digest(header_token.encode("utf-8"), expected.encode("utf-8"))


def parse_xendit(body: object) -> ProviderEvent:
    """A parsed Xendit callback body, recognised by its fields, validated and interpreted.

    - ``callback_virtual_account_id`` present, or ``bank_code`` without ``status``: a fixed
      virtual-account payment (``paid``);
    - ``fixed_payment_code_id`` present, or ``retail_outlet_name`` without an invoice ``status``:
      a retail-outlet payment (``paid``);
    - otherwise, with a ``status``: an invoice (``PAID``/``SETTLED`` ``paid`` of ``paid_amount``,
      or of ``amount`` when ``paid_amount`` is absent, since invoices are paid in full; ``EXPIRED``
      ``failed``; ``PENDING`` ``pending``);
    - anything else: :class:`MalformedCallback`.

    Does not authenticate: call :func:`verify_xendit` first.
    """
    if not isinstance(body, Mapping):
        raise MalformedCallback("body", "must be a JSON object")
    status = body.get("status")
    invoice_status = isinstance(status, str) and status in _INVOICE_STATUSES
    if "callback_virtual_account_id" in body or ("bank_code" in body and status is None):
        return _virtual_account(parse_model(XenditVirtualAccountPayment, body))
    if "fixed_payment_code_id" in body or ("retail_outlet_name" in body and not invoice_status):
        return _retail_outlet(parse_model(XenditRetailOutletPayment, body))
    if status is not None:
        return _invoice(parse_model(XenditInvoiceCallback, body))
    raise MalformedCallback("body", "is not a Xendit invoice, virtual-account or retail-outlet callback")


def _invoice(c: XenditInvoiceCallback) -> ProviderEvent:
    _check_currency(c.currency)
    kind = _INVOICE_STATUSES.get(c.status)
    if kind is None:
        raise MalformedCallback("status", "must be PAID, SETTLED, EXPIRED or PENDING")
    if kind == "paid":
        amount = c.paid_amount if c.paid_amount is not None else c.amount
        if amount is None:
            raise MalformedCallback("paid_amount", "is required")
        occurred_at = _time(c.paid_at, "paid_at") or _time(c.updated, "updated")
    else:
        if c.amount is None:
            raise MalformedCallback("amount", "is required")
        amount = c.amount
        occurred_at = _time(c.updated, "updated")
    return ProviderEvent(
        provider="xendit",
        kind=kind,
        order_id=c.external_id,
        payment_code=None,
        amount=amount,
        reference=f"{c.id}:{kind}",
        payment_ref=c.id,
        channel_name=c.payment_channel or c.bank_code or c.retail_outlet_name,
        method=c.payment_method,
        occurred_at=occurred_at,
        raw_status=c.status,
    )


def _virtual_account(c: XenditVirtualAccountPayment) -> ProviderEvent:
    _check_currency(c.currency)
    return ProviderEvent(
        provider="xendit",
        kind="paid",
        order_id=c.external_id,
        payment_code=None,
        amount=c.amount,
        reference=c.payment_id,
        payment_ref=c.payment_id,
        channel_name=c.bank_code,
        method="VIRTUAL_ACCOUNT",
        occurred_at=_time(c.transaction_timestamp, "transaction_timestamp"),
        raw_status="PAID",
    )


def _retail_outlet(c: XenditRetailOutletPayment) -> ProviderEvent:
    _check_currency(c.currency)
    if c.status is not None and c.status not in _RETAIL_PAID_STATUSES:
        raise MalformedCallback("status", "is not a completed retail-outlet payment")
    return ProviderEvent(
        provider="xendit",
        kind="paid",
        order_id=c.external_id,
        payment_code=None,
        amount=c.amount,
        reference=c.payment_id,
        payment_ref=c.payment_id,
        channel_name=c.retail_outlet_name,
        method="RETAIL_OUTLET",
        occurred_at=_time(c.transaction_timestamp, "transaction_timestamp"),
        raw_status=c.status or "PAID",
    )


def _check_currency(currency: str | None) -> None:
    if currency is not None and currency != "IDR":
        raise MalformedCallback("currency", "must be IDR")


def _time(value: str | None, field: str) -> datetime | None:
    return parse_instant(value, field, UTC)

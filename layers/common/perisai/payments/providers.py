"""What a payment provider's callback says, in one provider-neutral shape.

Pure: no AWS, no HTTP framework. Each provider module (``providers_midtrans``,
``providers_xendit``, ``providers_channel``) authenticates its callbacks and turns a body into a
:class:`ProviderEvent`; the callback handler decides what the event does to an order.

Nothing raised here carries a value from the body (an amount, a code, a token): only the name
of the field at fault and what is wrong with it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BeforeValidator, ConfigDict, ValidationError

from perisai.errors import MalformedCallback
from perisai.models import Model

__all__ = [
    "EventKind",
    "MalformedCallback",
    "Provider",
    "ProviderEvent",
    "ProviderModel",
    "Rupiah",
    "parse_instant",
    "parse_model",
    "parse_rupiah",
]

Provider = Literal["midtrans", "xendit", "channel"]

EventKind = Literal["paid", "pending", "held", "failed", "reversed", "voided"]
"""What a callback means for the money of one provider transaction.

- ``paid``: the money arrived (Midtrans ``settlement``, or ``capture`` with fraud status
  ``accept``; Xendit invoice ``PAID``/``SETTLED``, virtual-account and retail-outlet payments;
  a channel's payment). Credit it, once.
- ``pending``: the transaction exists and waits for the payer (Midtrans ``pending``,
  ``authorize``). Record it; credit nothing.
- ``held``: paid but held by the provider's fraud check (Midtrans ``challenge``) until a later
  ``accept`` (``paid``) or ``deny`` (``voided``). Record it; credit nothing yet.
- ``failed``: the transaction ended without money (Midtrans ``expire``, ``failure``; Xendit
  invoice ``EXPIRED``). Record it; it never undoes a payment (a late ``expire`` delivered after
  ``settlement`` changes nothing).
- ``reversed``: money that was paid went back (Midtrans ``refund``, ``partial_refund``,
  ``chargeback``, ``partial_chargeback``). ``amount`` is the total reversed so far.
- ``voided``: Midtrans ``deny`` or ``cancel``: the provider, bank or fraud system refused or
  voided the transaction. Its meaning depends on the ledger: before this transaction was
  credited it is ``failed``; after, it is ``reversed`` of the whole amount (Midtrans turns
  Indomaret and some bank settlements into ``deny`` within minutes; a captured card payment can
  be cancelled before it settles). :meth:`ProviderEvent.resolve` turns it into one or the other,
  so that no consumer can treat it as either by accident.
"""


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """One provider callback, interpreted.

    ``reference`` is this event's deduplication key (unique per provider): the same callback
    delivered twice gives the same reference, a new fact about the same transaction (paid, then
    refunded) a new one. ``payment_ref`` names the provider transaction the event is about and
    stays the same through its life (pending, paid, reversed): the key a reversal is matched to
    the payment it reverses by.

    - Midtrans: ``payment_ref`` is ``transaction_id``; ``reference`` is ``<transaction_id>:<kind>``
      (``settlement`` and ``capture``/``accept`` of one transaction are the same payment), and
      ``<transaction_id>:reversed:<status>:<total reversed>`` for reversals, so each further partial
      refund is a new event and a redelivered one is not.
    - Xendit: virtual-account and retail-outlet callbacks report only payments:
      ``reference == payment_ref == payment_id``. Invoice callbacks (``PAID``, ``SETTLED``,
      ``EXPIRED`` of one invoice): ``payment_ref`` is the invoice ``id`` and ``reference``
      ``<id>:<kind>`` (``PAID`` then ``SETTLED`` is one payment).
    - Channel: ``reference == payment_ref == <channel id>:<channel_reference>``.

    ``order_id`` is the order as the provider knows it (Midtrans ``order_id``, Xendit
    ``external_id``); a channel payment carries none and names the order by ``payment_code``.

    ``amount`` is integer rupiah: what was paid (or is awaited, held, or ended unpaid) for every
    kind but ``reversed``, where it is the total reversed on this transaction so far (Midtrans
    reports refunds cumulatively; redeliveries and out-of-order refunds stay consistent).
    """

    provider: Provider
    kind: EventKind
    order_id: str | None
    payment_code: str | None
    amount: int
    reference: str
    payment_ref: str
    channel_name: str | None
    method: str | None
    occurred_at: datetime | None
    raw_status: str

    def resolve(self, *, was_paid: bool) -> ProviderEvent:
        """A ``voided`` event as ``failed`` (``was_paid`` false) or ``reversed`` (true); any other
        event unchanged.

        ``was_paid``: whether a ``paid`` event of this same provider transaction (``payment_ref``)
        was credited: another payment of the order (another provider, a channel) does not count.
        The ``reference`` is kept, so a redelivered ``deny`` stays a duplicate whatever the ledger
        says by then.
        """
        if self.kind != "voided":
            return self
        return replace(self, kind="reversed" if was_paid else "failed")


class ProviderModel(Model):
    """A provider's body: unknown fields ignored (providers add fields without notice), input values
    hidden in validation errors."""

    model_config = ConfigDict(hide_input_in_errors=True, extra="ignore", frozen=True)


M = TypeVar("M", bound=ProviderModel)


def parse_model(model: type[M], body: object) -> M:
    """Validate a parsed JSON body into ``model``; :class:`MalformedCallback` names the first bad field."""
    if not isinstance(body, Mapping):
        raise MalformedCallback("body", "must be a JSON object")
    try:
        return model.model_validate(dict(body))
    except ValidationError as exc:
        raise _malformed(exc) from None


def _malformed(exc: ValidationError) -> MalformedCallback:
    first = exc.errors(include_url=False, include_input=False, include_context=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or "body"
    reason = "is required" if first["type"] == "missing" else first["msg"].removeprefix("Value error, ")
    return MalformedCallback(field, reason)


_DECIMAL = re.compile(r"^\d{1,15}(\.\d{1,4})?$")
_MAX_RUPIAH = 10**15  # far above any dues order; keeps floats exact and strings short


def parse_rupiah(value: Any, field: str) -> int:
    """Integer rupiah from a provider amount: ``336000``, ``336000.0`` or ``"336000.00"``.

    Refused (:class:`MalformedCallback` naming ``field``): a missing value, a fraction of a rupiah
    (``"336000.50"``), a negative or zero amount, booleans, exponents, anything else.
    """
    if value is None:
        raise MalformedCallback(field, "is required")
    if isinstance(value, bool):
        raise MalformedCallback(field, "must be an amount in rupiah")
    if isinstance(value, int):
        amount = value
    elif isinstance(value, float):
        if not value.is_integer() or not -_MAX_RUPIAH < value < _MAX_RUPIAH:
            raise MalformedCallback(field, "must be a whole number of rupiah")
        amount = int(value)
    elif isinstance(value, str):
        if not _DECIMAL.match(value):
            raise MalformedCallback(field, "must be a decimal amount in rupiah, like 50000.00")
        try:
            exact = Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
            raise MalformedCallback(field, "must be a decimal amount in rupiah") from None
        if exact != exact.to_integral_value():
            raise MalformedCallback(field, "must be a whole number of rupiah")
        amount = int(exact)
    else:
        raise MalformedCallback(field, "must be an amount in rupiah")
    if not 0 < amount < _MAX_RUPIAH:
        raise MalformedCallback(field, "must be a positive amount in rupiah")
    return amount


def parse_instant(value: str | None, field: str, naive_zone: tzinfo) -> datetime | None:
    """An aware datetime from an ISO-8601 string (``2020-01-09 18:21:34``,
    ``2020-10-20T04:20:31.000Z``); a time without offset is in ``naive_zone`` (the provider's
    documented zone). None stays None; an unreadable time is :class:`MalformedCallback`."""
    if value is None:
        return None
    text = value.strip()
    if not text or len(text) > 40:
        raise MalformedCallback(field, "must be an ISO-8601 date and time")
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise MalformedCallback(field, "must be an ISO-8601 date and time") from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=naive_zone)
    return instant


def _rupiah_field(value: Any) -> int:
    try:
        return parse_rupiah(value, "amount")
    except MalformedCallback as exc:
        raise ValueError(exc.reason) from None


Rupiah = Annotated[int, BeforeValidator(_rupiah_field)]
"""A model field holding integer rupiah, read with :func:`parse_rupiah` (errors name the field)."""

"""Who pays which dues month: the payer timeline of a participant, and what a statement shows.

A participant is enrolled with a payer (the worker, a SERTAKAN sponsor or a local government);
a payer can take the worker over from a month on, or stop paying from a month on. Each dues
month's payer is the one in force for that month. Pure functions over plain values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from perisai.domain.errors import DomainValidationError
from perisai.domain.months import DuesMonth

__all__ = [
    "MAX_MONTHS_AHEAD",
    "PAYER_CHANNELS",
    "PayerRef",
    "PayerSpan",
    "Period",
    "check_from_month",
    "mask_name",
    "payer_in_force",
    "payer_periods",
    "replace_from",
    "timeline",
]

# Partner channels that pay for workers (BPU_RULES: SERTAKAN sponsors, APBD local governments).
PAYER_CHANNELS = {"sponsor": "sponsor", "local_government": "government"}

P = TypeVar("P")
C = TypeVar("C")


def payer_in_force(initial: P, changes: Sequence[tuple[str, P]], month: str) -> P:
    """The payer of dues month ``month``: the latest change from a month at or before it, else
    the enrollment's payer. ``changes`` are (from_month, payer); months compare as YYYY-MM."""
    current = initial
    for from_month, payer in sorted(changes, key=lambda change: change[0]):
        if from_month <= month:
            current = payer
    return current


def replace_from(changes: Sequence[C], from_month: str, change: C, month_of: Sequence[str]) -> list[C]:
    """The timeline with ``change`` in force from ``from_month``: it replaces every change from
    that month on (a later decision overrides what was planned after it). ``month_of[i]`` is the
    from-month of ``changes[i]``."""
    kept = [c for c, m in zip(changes, month_of, strict=True) if m < from_month]
    return [*kept, change]


def mask_name(full_name: str) -> str:
    """A name as a statement shows it: each word's first letter, the rest starred
    ("Siti Aminah" -> "S*** A*****"); enough for a finance office to match, not to identify."""
    return " ".join(word[0] + "*" * (len(word) - 1) for word in full_name.split())


# How far ahead a payer change may be planned (a budget year: an APBD decision for next year).
MAX_MONTHS_AHEAD = 12


@dataclass(frozen=True)
class PayerRef:
    """A payer that can be named: a sponsor or a local government (its partner id and type)."""

    payer_id: str
    type: str


@dataclass(frozen=True)
class PayerSpan:
    """One stretch of the effective timeline: ``payer`` (None: the worker) pays from ``from_month``
    until the next span's month (exclusive)."""

    from_month: str
    payer: PayerRef | None


@dataclass(frozen=True)
class Period:
    """Months a payer pays: from ``from_month`` until ``until_month`` (exclusive; None: open-ended)."""

    from_month: str
    until_month: str | None = None


def timeline(
    first_dues_month: str, initial: PayerRef | None, changes: Sequence[tuple[str, PayerRef | None]]
) -> list[PayerSpan]:
    """The effective payer timeline from the first dues month: the enrollment's payer, then each
    change in month order (a change before the first dues month takes effect from it), with
    changes that change nothing merged away. Two timelines are equal when every month has the
    same payer in both."""
    spans = [PayerSpan(first_dues_month, initial)]
    for from_month, payer in sorted(changes, key=lambda change: change[0]):
        month = max(from_month, first_dues_month)
        if spans[-1].from_month == month:
            spans[-1] = PayerSpan(month, payer)
        else:
            spans.append(PayerSpan(month, payer))
    merged: list[PayerSpan] = []
    for span in spans:
        if merged and merged[-1].payer == span.payer:
            continue
        merged.append(span)
    return merged


def payer_periods(spans: Sequence[PayerSpan]) -> dict[str, tuple[str, list[Period]]]:
    """Each named payer of a timeline -> (its payer type, the periods it pays, oldest first)."""
    periods: dict[str, tuple[str, list[Period]]] = {}
    for index, span in enumerate(spans):
        if span.payer is None:
            continue
        until = spans[index + 1].from_month if index + 1 < len(spans) else None
        _, known = periods.get(span.payer.payer_id, (span.payer.type, []))
        # A payer's type follows its latest period (a partner has one channel).
        periods[span.payer.payer_id] = (span.payer.type, [*known, Period(span.from_month, until)])
    return periods


def check_from_month(
    from_month: str,
    *,
    first_dues_month: str,
    covered_through: str | None,
    current_month: str,
    months_ahead: int = MAX_MONTHS_AHEAD,
) -> None:
    """A payer change may start at a month that can still be paid: not before the participant's
    first dues month, not a month already credited (money already paid stays as paid), and at
    most ``months_ahead`` months after the current month. DomainValidationError on ``from_month``."""
    try:
        month = DuesMonth.parse(from_month)
    except ValueError:
        raise DomainValidationError.single("from_month", "must be a month YYYY-MM") from None
    if month < DuesMonth.parse(first_dues_month):
        raise DomainValidationError.single("from_month", f"must not be before the first dues month {first_dues_month}")
    if covered_through is not None and month <= DuesMonth.parse(covered_through):
        raise DomainValidationError.single(
            "from_month", f"months up to {covered_through} are already paid: start after it"
        )
    latest = DuesMonth.parse(current_month).plus(months_ahead)
    if month > latest:
        raise DomainValidationError.single("from_month", f"must be at most {months_ahead} months ahead ({latest})")

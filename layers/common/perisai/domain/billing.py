"""Which dues months a payment order bills, and what paying (or reversing) them does to a participant.

Pure functions over plain values: the caller reads the participant and the policies
(``policies.due_day_of_month``, ``policies.arrears_window_months``) and passes ``today``, the
business date in Asia/Jakarta. Nothing here reads a clock, a table or the rate book.

The rules (BPU_RULES.md "Due date, arrears and lapse"), with ``D`` the due day (15) and ``W`` the
arrears window (3 months):

- Dues for month M are due by day D of M; a payment on day D is on time, from day D + 1 M is overdue.
  (The "next working day if D is a public holiday" rule needs a holiday calendar: not applied.)
- Protection runs through ``covered_through``, the last paid month; months are credited in order,
  so every month from ``first_dues_month`` to ``covered_through`` is paid, except the months a
  lapsed participant gave up when resuming (see below).
- The *first unpaid month* U is ``covered_through + 1``, or ``first_dues_month`` before the first
  payment.
- ``pending_payment``: never paid and U's due date has not passed (U may be a future month).
- ``active``: paid at least once and U's due date has not passed.
- ``arrears``: U's due date has passed, and the participant is not lapsed. This includes a
  participant who never paid: a dues month past its due date is unpaid either way.
- ``lapsed``: more than W consecutive unpaid months, i.e. from the day after the due date of
  U + W (the (W+1)th unpaid month). With U = 2026-02: arrears from 2026-02-16, lapsed from
  2026-05-16. Until then U is still inside the window of W months before the current month, so
  the arrears can be paid; "months older than the window are not billed" and this lapse day
  therefore never disagree about a month the participant could still pay.
- A lapsed participant resumes from the current month (issue 10), keeping id and history; the
  months between U and the current month are given up, not billed.

The participant's stored status is refreshed by a nightly job, so it can be a day stale; these
functions take no status and decide from the dates, so an order and the crediting of its
payment always agree. A lapsed worker re-enrolled under the same id stays ``lapsed`` here until a
payment resumes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from .errors import DomainValidationError
from .months import DuesMonth

__all__ = [
    "ORDER_MONTH_COUNTS",
    "Credit",
    "Standing",
    "Status",
    "after_payment",
    "billable_months",
    "reversal",
    "standing",
]

Status = Literal["pending_payment", "active", "arrears", "lapsed"]

# BPU_RULES: dues are paid monthly, or 3, 6 or 12 months in advance.
ORDER_MONTH_COUNTS = (1, 3, 6, 12)


@dataclass(frozen=True)
class Standing:
    """Where a participant stands on ``today``.

    ``months_owed``: overdue months that can still be paid (due date passed, unpaid, inside the
    window): 1..W in arrears, 0 otherwise. The current month counts only once its due date has
    passed, so ``status == "arrears"`` exactly when ``months_owed > 0``; a lapsed participant owes
    nothing (their old months can no longer be paid).

    ``next_dues_month``: the first month a new order bills: U, or the current month when lapsed.

    ``last_day_to_pay``: in arrears only, the last day on which paying the oldest overdue month
    keeps the participation (the due date of U + W); None otherwise.
    """

    status: Status
    covered_through: DuesMonth | None
    next_dues_month: DuesMonth
    months_owed: int
    last_day_to_pay: date | None


@dataclass(frozen=True)
class Credit:
    """What crediting paid months did: the standing before and after, and what changed.

    ``first_payment``: the participant had never paid (the caller publishes ParticipantActivated).
    ``reactivated``: had paid before, was in arrears or lapsed, and is active now
    (ParticipantReactivated).
    ``resumed``: a lapsed participant resumed after a gap; the months between the old
    ``covered_through`` and ``months[0]`` stay unpaid for good.
    """

    months: tuple[DuesMonth, ...]
    before: Standing
    after: Standing
    first_payment: bool
    reactivated: bool
    resumed: bool


def standing(
    *,
    first_dues_month: DuesMonth,
    covered_through: DuesMonth | None,
    today: date,
    due_day: int,
    window_months: int,
) -> Standing:
    """The participant's status, next dues month, overdue months and deadline on ``today``."""
    _check(first_dues_month, covered_through, today, due_day, window_months)
    first_unpaid = covered_through.next() if covered_through is not None else first_dues_month
    current = DuesMonth.of(today)
    last_day = _due(first_unpaid.plus(window_months), due_day)
    if today > last_day:
        return Standing("lapsed", covered_through, current, 0, None)
    if today > _due(first_unpaid, due_day):
        # U is overdue, so U <= current; the months U..current-1 are all overdue, the current one
        # once its own due date has passed.
        owed = current.months_since(first_unpaid) + (1 if today > _due(current, due_day) else 0)
        return Standing("arrears", covered_through, first_unpaid, owed, last_day)
    status: Status = "pending_payment" if covered_through is None else "active"
    return Standing(status, covered_through, first_unpaid, 0, None)


def billable_months(
    *,
    first_dues_month: DuesMonth,
    covered_through: DuesMonth | None,
    today: date,
    count: int,
    due_day: int,
    window_months: int,
) -> list[DuesMonth]:
    """The ``count`` months (1, 3, 6 or 12) a new order bills, oldest first.

    Consecutive from ``standing(...).next_dues_month``: overdue arrears inside the window, then
    the current month, then months ahead; a lapsed participant's order starts at the current
    month. Paying them in order never leaves a gap. There is no cap on how far ahead a
    participant may prepay: each order adds at most 12 months after the last paid one.
    """
    if type(count) is not int or count not in ORDER_MONTH_COUNTS:
        raise DomainValidationError.single("months", "must be 1, 3, 6 or 12 months")
    start = standing(
        first_dues_month=first_dues_month,
        covered_through=covered_through,
        today=today,
        due_day=due_day,
        window_months=window_months,
    ).next_dues_month
    return [start.plus(i) for i in range(count)]


def after_payment(
    *,
    paid_months: Sequence[DuesMonth],
    first_dues_month: DuesMonth,
    covered_through: DuesMonth | None,
    today: date,
    due_day: int,
    window_months: int,
) -> Credit:
    """Credit ``paid_months`` (consecutive, oldest first) paid on ``today``; the new standing.

    Accepted starts (else DomainValidationError on ``months``, naming the month expected):

    - the first unpaid month U, always, even when the participant has lapsed since the order was
      made: the money is for months still unpaid and crediting them leaves no gap (whether money
      for an expired order is credited at all is the caller's decision, per issue 10);
    - for a participant lapsed on ``today``, any later month up to the current one: a resumption.
      Up to, not only, the current month: an order made last month may be paid after the month
      turned. Never a future month, which would skip the current one.

    A month at or before ``covered_through`` is refused as already credited: money for it is an
    overpayment for reconciliation, never a second credit.
    """
    months = tuple(paid_months)
    before = standing(
        first_dues_month=first_dues_month,
        covered_through=covered_through,
        today=today,
        due_day=due_day,
        window_months=window_months,
    )
    if not months:
        raise DomainValidationError.single("months", "no dues month was paid")
    for earlier, later in zip(months, months[1:], strict=False):
        if later != earlier.next():
            raise DomainValidationError.single("months", "paid months must be consecutive, oldest first")
    start = months[0]
    first_unpaid = covered_through.next() if covered_through is not None else first_dues_month
    if covered_through is not None and start <= covered_through:
        raise DomainValidationError.single("months", f"{start} is already credited (covered through {covered_through})")
    if start < first_unpaid:
        raise DomainValidationError.single("months", f"{start} is before the first dues month {first_dues_month}")
    resumed = False
    if start != first_unpaid:
        current = DuesMonth.of(today)
        if before.status != "lapsed" or start > current:
            expected = f"{first_unpaid} or, resuming, {current}" if before.status == "lapsed" else str(first_unpaid)
            raise DomainValidationError.single(
                "months", f"paying from {start} would leave earlier months unpaid; the next month to pay is {expected}"
            )
        resumed = True
    after = standing(
        first_dues_month=first_dues_month,
        covered_through=months[-1],
        today=today,
        due_day=due_day,
        window_months=window_months,
    )
    first_payment = covered_through is None
    reactivated = not first_payment and before.status in ("arrears", "lapsed") and after.status == "active"
    return Credit(months, before, after, first_payment, reactivated, resumed)


def reversal(*, paid_months: Sequence[DuesMonth], amounts: Sequence[int], reversed_amount: int) -> list[DuesMonth]:
    """The months a refund or chargeback of ``reversed_amount`` reverses, newest first.

    ``amounts[i]`` is what was paid for ``paid_months[i]`` (integer rupiah; months may cost
    differently, e.g. a discounted month). Walks from the newest month and takes each month whose
    whole amount the rest still covers; it stops at the first month it cannot cover rather than
    skipping to an older, cheaper one, so the months that stay credited remain the oldest ones,
    without a gap. A month that cost 0 (paid by a credit) is reversed once the walk reaches it.
    What is left of the amount (less than a month) is the caller's, for reconciliation.

    A reversal of more than was paid, or a negative one, is refused (DomainValidationError on
    ``amount``): it needs a person.
    """
    months, paid = list(paid_months), list(amounts)
    if len(months) != len(paid):
        raise ValueError(f"{len(months)} months but {len(paid)} amounts")
    if len(set(months)) != len(months):
        raise ValueError("a month appears twice in paid_months")
    if any(type(a) is not int or a < 0 for a in paid):
        raise ValueError("amounts must be non-negative integer rupiah")
    if type(reversed_amount) is not int or reversed_amount < 0:
        raise DomainValidationError.single("amount", "a reversed amount must be a non-negative integer (rupiah)")
    if reversed_amount > sum(paid):
        raise DomainValidationError.single(
            "amount", f"reverses Rp{reversed_amount:,} but only Rp{sum(paid):,} was paid for these months"
        )
    reversed_months: list[DuesMonth] = []
    remaining = reversed_amount
    for month, amount in sorted(zip(months, paid, strict=True), reverse=True):
        if amount > remaining:
            break
        reversed_months.append(month)
        remaining -= amount
    return reversed_months


def _due(month: DuesMonth, due_day: int) -> date:
    return date(month.year, month.month, due_day)


def _check(
    first_dues_month: DuesMonth, covered_through: DuesMonth | None, today: date, due_day: int, window_months: int
) -> None:
    # Programming errors, not user input: the caller passes stored values and policies.
    if isinstance(today, datetime) or not isinstance(today, date):
        raise ValueError("today must be a date (the business date in Asia/Jakarta), not a datetime")
    if type(due_day) is not int or not 1 <= due_day <= 28:
        raise ValueError(f"due_day must be an int from 1 to 28, got {due_day!r}")
    if type(window_months) is not int or window_months < 0:
        raise ValueError(f"window_months must be a non-negative int, got {window_months!r}")
    if covered_through is not None and covered_through < first_dues_month:
        raise ValueError(f"covered_through {covered_through} is before first_dues_month {first_dues_month}")

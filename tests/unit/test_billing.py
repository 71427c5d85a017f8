"""Billing (domain/billing.py): due dates, arrears window, lapse, orders, crediting, reversals.

Dates are written out by hand against BPU_RULES.md: dues for a month are due by the 15th of that
month; more than 3 consecutive unpaid months end the participation.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from perisai.domain.billing import (
    ORDER_MONTH_COUNTS,
    Credit,
    Standing,
    after_payment,
    billable_months,
    reversal,
    standing,
)
from perisai.domain.errors import DomainValidationError
from perisai.domain.months import DuesMonth
from perisai.domain.rates import RateBook

POLICIES = RateBook.load().policies
DUE_DAY = POLICIES.due_day_of_month
WINDOW = POLICIES.arrears_window_months


def m(text: str) -> DuesMonth:
    return DuesMonth.parse(text)


def ms(*texts: str) -> list[DuesMonth]:
    return [m(t) for t in texts]


def months_from(first: str, count: int) -> list[DuesMonth]:
    return [m(first).plus(i) for i in range(count)]


def at(today: date, covered: str | None, first: str = "2025-06", **policy: int) -> Standing:
    return standing(
        first_dues_month=m(first),
        covered_through=m(covered) if covered else None,
        today=today,
        due_day=policy.get("due_day", DUE_DAY),
        window_months=policy.get("window_months", WINDOW),
    )


def bill(today: date, covered: str | None, count: int, first: str = "2025-06") -> list[DuesMonth]:
    return billable_months(
        first_dues_month=m(first),
        covered_through=m(covered) if covered else None,
        today=today,
        count=count,
        due_day=DUE_DAY,
        window_months=WINDOW,
    )


def pay(paid: list[DuesMonth], today: date, covered: str | None, first: str = "2025-06") -> Credit:
    return after_payment(
        paid_months=paid,
        first_dues_month=m(first),
        covered_through=m(covered) if covered else None,
        today=today,
        due_day=DUE_DAY,
        window_months=WINDOW,
    )


def refused(field: str, call, *args, **kwargs) -> str:
    with pytest.raises(DomainValidationError) as caught:
        call(*args, **kwargs)
    assert caught.value.field_names == [field]
    return caught.value.fields[0].message


def test_the_packaged_policies_are_the_rules_of_bpu_rules_md():
    assert (DUE_DAY, WINDOW) == (15, 3)
    assert POLICIES.payment_order_ttl_hours == 48
    assert "arrears_window_months" not in POLICIES.unconfirmed
    assert {"payment_order_ttl_hours", "payment_code_length"} <= POLICIES.unconfirmed
    assert set(POLICIES.notes) >= {"arrears_window_months", "payment_order_ttl_hours", "payment_code_length"}


# --- DuesMonth arithmetic ---------------------------------------------------------


def test_month_arithmetic_across_year_boundaries():
    dec = m("2025-12")
    assert dec.next() == m("2026-01")
    assert m("2026-01").previous() == dec
    assert dec.plus(0) == dec
    assert dec.plus(13) == m("2027-01")
    assert dec.plus(-12) == m("2024-12")
    assert m("2026-03").plus(-3) == m("2025-12")
    assert m("2026-02").months_since(m("2025-11")) == 3
    assert m("2025-11").months_since(m("2026-02")) == -3
    assert m("2026-01").ordinal - dec.ordinal == 1
    for n in range(24_000, 24_400):
        assert DuesMonth.from_ordinal(n).ordinal == n
        assert DuesMonth.from_ordinal(n).next() == DuesMonth.from_ordinal(n + 1)


# --- standing: pending, active, arrears around the 15th ------------------------------------


def test_pending_before_the_first_due_date_then_arrears_from_the_16th():
    # Enrolled in late January with dues starting in February.
    for day in (date(2026, 1, 20), date(2026, 2, 1), date(2026, 2, 15)):
        assert at(day, None, first="2026-02") == Standing("pending_payment", None, m("2026-02"), 0, None)
    assert at(date(2026, 2, 16), None, first="2026-02") == Standing("arrears", None, m("2026-02"), 1, date(2026, 5, 15))


def test_pending_for_a_first_month_that_is_the_current_one():
    assert at(date(2026, 3, 2), None, first="2026-03").status == "pending_payment"
    assert at(date(2026, 3, 16), None, first="2026-03").status == "arrears"


def test_a_participant_who_never_paid_lapses_like_anyone_else():
    assert at(date(2026, 5, 15), None, first="2026-02") == Standing("arrears", None, m("2026-02"), 3, date(2026, 5, 15))
    assert at(date(2026, 5, 16), None, first="2026-02") == Standing("lapsed", None, m("2026-05"), 0, None)


def test_active_until_the_next_months_due_date_passes():
    assert at(date(2026, 2, 1), "2026-01") == Standing("active", m("2026-01"), m("2026-02"), 0, None)
    assert at(date(2026, 2, 15), "2026-01") == Standing("active", m("2026-01"), m("2026-02"), 0, None)
    assert at(date(2026, 2, 16), "2026-01") == Standing("arrears", m("2026-01"), m("2026-02"), 1, date(2026, 5, 15))
    # The month paid for the current month: active through the whole month and the next one's 15th.
    assert at(date(2026, 1, 31), "2026-01").status == "active"
    assert at(date(2026, 2, 15), "2026-01").status == "active"


def test_months_owed_grow_on_each_16th_and_never_exceed_the_window():
    covered = "2026-01"  # Feb unpaid
    table = [
        (date(2026, 2, 16), 1),
        (date(2026, 3, 15), 1),  # March due today: not overdue yet
        (date(2026, 3, 16), 2),
        (date(2026, 4, 15), 2),
        (date(2026, 4, 16), 3),
        (date(2026, 4, 30), 3),
        (date(2026, 5, 1), 3),
        (date(2026, 5, 15), 3),  # the last day: Feb, Mar, Apr overdue, May due today
    ]
    for day, owed in table:
        s = at(day, covered)
        assert (s.status, s.months_owed, s.next_dues_month, s.last_day_to_pay) == (
            "arrears",
            owed,
            m("2026-02"),
            date(2026, 5, 15),
        ), day


def test_lapse_is_the_day_after_the_due_date_of_the_fourth_unpaid_month():
    assert at(date(2026, 5, 15), "2026-01").status == "arrears"
    assert at(date(2026, 5, 16), "2026-01") == Standing("lapsed", m("2026-01"), m("2026-05"), 0, None)
    assert at(date(2026, 6, 1), "2026-01") == Standing("lapsed", m("2026-01"), m("2026-06"), 0, None)
    assert at(date(2028, 1, 1), "2026-01").next_dues_month == m("2028-01")


def test_arrears_and_lapse_across_a_year_boundary():
    covered = "2025-11"  # December unpaid
    assert at(date(2025, 12, 15), covered).status == "active"
    assert at(date(2025, 12, 16), covered) == Standing("arrears", m("2025-11"), m("2025-12"), 1, date(2026, 3, 15))
    assert at(date(2026, 1, 16), covered).months_owed == 2
    assert at(date(2026, 3, 15), covered).months_owed == 3
    assert at(date(2026, 3, 16), covered) == Standing("lapsed", m("2025-11"), m("2026-03"), 0, None)


def test_prepaid_twelve_months_ahead_is_active():
    s = at(date(2026, 1, 20), "2026-12")
    assert s == Standing("active", m("2026-12"), m("2027-01"), 0, None)
    assert at(date(2027, 1, 15), "2026-12").status == "active"
    assert at(date(2027, 1, 16), "2026-12").status == "arrears"


def test_the_window_and_due_day_are_policies():
    # A 1-month window: lapsed the day after the second unpaid month's due date.
    assert at(date(2026, 3, 15), "2026-01", window_months=1).status == "arrears"
    assert at(date(2026, 3, 16), "2026-01", window_months=1).status == "lapsed"
    # No window: the first overdue day ends the participation.
    assert at(date(2026, 2, 15), "2026-01", window_months=0).status == "active"
    assert at(date(2026, 2, 16), "2026-01", window_months=0).status == "lapsed"
    # Due by the 10th.
    assert at(date(2026, 2, 10), "2026-01", due_day=10).status == "active"
    assert at(date(2026, 2, 11), "2026-01", due_day=10) == Standing(
        "arrears", m("2026-01"), m("2026-02"), 1, date(2026, 5, 10)
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"today": datetime(2026, 2, 1, tzinfo=UTC)}, "not a datetime"),
        ({"today": "2026-02-01"}, "not a datetime"),
        ({"due_day": 29}, "due_day"),
        ({"due_day": 0}, "due_day"),
        ({"due_day": True}, "due_day"),
        ({"window_months": -1}, "window_months"),
        ({"covered_through": m("2025-05")}, "before first_dues_month"),
    ],
)
def test_standing_refuses_impossible_inputs(kwargs, message):
    args = {
        "first_dues_month": m("2025-06"),
        "covered_through": None,
        "today": date(2026, 2, 1),
        "due_day": 15,
        "window_months": 3,
    } | kwargs
    with pytest.raises(ValueError, match=message):
        standing(**args)


# --- billable_months ----------------------------------------------------------------


def test_a_new_participant_is_billed_from_the_first_dues_month():
    assert bill(date(2026, 1, 20), None, 3, first="2026-02") == ms("2026-02", "2026-03", "2026-04")
    assert bill(date(2026, 2, 20), None, 1, first="2026-02") == ms("2026-02")


def test_arrears_oldest_first_then_the_current_month_then_months_ahead():
    today = date(2026, 4, 10)  # Feb, Mar overdue; April due on the 15th
    assert bill(today, "2026-01", 1) == ms("2026-02")
    assert bill(today, "2026-01", 3) == ms("2026-02", "2026-03", "2026-04")
    assert bill(today, "2026-01", 6) == months_from("2026-02", 6)


def test_the_window_edge_on_the_15th_and_16th():
    # May 15: Feb is 3 months before May, inside the window; still billed.
    assert bill(date(2026, 5, 15), "2026-01", 6) == months_from("2026-02", 6)
    # May 16: lapsed; resumes from the current month, Feb..Apr are not billed any more.
    assert bill(date(2026, 5, 16), "2026-01", 3) == ms("2026-05", "2026-06", "2026-07")
    # June 1: Feb is more than 3 months before June: never billed again.
    assert bill(date(2026, 6, 1), "2026-01", 1) == ms("2026-06")


def test_an_order_for_a_lapsed_participant_starts_at_the_current_month():
    assert bill(date(2026, 3, 3), "2025-01", 3, first="2024-09") == ms("2026-03", "2026-04", "2026-05")
    # Never paid, enrolled long ago: not billed from the first dues month.
    assert bill(date(2026, 3, 3), None, 1, first="2025-01") == ms("2026-03")


def test_prepayment_twelve_months_ahead_over_a_year_boundary():
    assert bill(date(2026, 3, 20), "2026-03", 12) == months_from("2026-04", 12)
    assert bill(date(2026, 3, 20), "2026-03", 12)[-1] == m("2027-03")
    # Already prepaid a year: the next order continues after it.
    assert bill(date(2026, 3, 20), "2027-03", 3) == ms("2027-04", "2027-05", "2027-06")


@pytest.mark.parametrize("count", [0, 2, 4, 5, 7, 13, 24, -1, True, 3.0, "3", None])
def test_an_order_is_for_1_3_6_or_12_months(count):
    message = refused("months", bill, date(2026, 2, 1), "2026-01", count)
    assert message == "must be 1, 3, 6 or 12 months"


def test_order_sizes():
    assert ORDER_MONTH_COUNTS == (1, 3, 6, 12)


def scenarios():
    """(today, covered_through, first_dues_month) over two years of days and several histories."""
    start = date(2025, 11, 1)
    for offset in range(0, 800, 3):
        today = start + timedelta(days=offset)
        current = DuesMonth.of(today)
        yield today, None, current.plus(1)
        for back in range(0, 7):
            yield today, None, current.plus(-back)
            yield today, current.plus(-back), m("2025-01")
        yield today, current.plus(5), m("2025-01")


def test_invariants_over_many_dates():
    for today, covered, first in scenarios():
        s = standing(
            first_dues_month=first, covered_through=covered, today=today, due_day=DUE_DAY, window_months=WINDOW
        )
        current = DuesMonth.of(today)
        assert (s.status == "arrears") == (s.months_owed > 0)
        assert 0 <= s.months_owed <= WINDOW
        assert (s.last_day_to_pay is not None) == (s.status == "arrears")
        # Nothing billed is older than the window before the current month.
        assert s.next_dues_month >= current.plus(-WINDOW)
        if s.status == "lapsed":
            assert s.next_dues_month == current
        for count in ORDER_MONTH_COUNTS:
            billed = billable_months(
                first_dues_month=first,
                covered_through=covered,
                today=today,
                count=count,
                due_day=DUE_DAY,
                window_months=WINDOW,
            )
            assert billed == months_from(str(s.next_dues_month), count)
            # Paying exactly what was billed is always accepted, and clears the arrears when it
            # covers every overdue month.
            credit = after_payment(
                paid_months=billed,
                first_dues_month=first,
                covered_through=covered,
                today=today,
                due_day=DUE_DAY,
                window_months=WINDOW,
            )
            assert credit.after.covered_through == billed[-1]
            assert credit.after.next_dues_month == billed[-1].next()
            assert credit.resumed == (s.status == "lapsed")
            if count >= s.months_owed:
                assert credit.after.status == "active", (today, covered, first, count)
            else:
                assert credit.after.status == "arrears"
                assert credit.after.months_owed == s.months_owed - count


# --- after_payment ----------------------------------------------------------------


def test_first_payment_before_the_due_date_activates():
    credit = pay(ms("2026-02"), date(2026, 2, 10), None, first="2026-02")
    assert credit.before.status == "pending_payment"
    assert credit.after == Standing("active", m("2026-02"), m("2026-03"), 0, None)
    assert (credit.first_payment, credit.reactivated, credit.resumed) == (True, False, False)
    assert credit.months == (m("2026-02"),)


def test_first_payment_for_future_months():
    credit = pay(ms("2026-02", "2026-03", "2026-04"), date(2026, 1, 20), None, first="2026-02")
    assert credit.after == Standing("active", m("2026-04"), m("2026-05"), 0, None)
    assert credit.first_payment


def test_a_late_first_payment_is_a_first_payment_not_a_reactivation():
    credit = pay(ms("2026-02", "2026-03"), date(2026, 3, 20), None, first="2026-02")
    assert credit.before.status == "arrears"
    assert credit.after.status == "active"
    assert (credit.first_payment, credit.reactivated) == (True, False)


def test_paying_all_arrears_reactivates():
    credit = pay(ms("2026-02", "2026-03", "2026-04"), date(2026, 4, 20), "2026-01")
    assert credit.before == Standing("arrears", m("2026-01"), m("2026-02"), 3, date(2026, 5, 15))
    assert credit.after == Standing("active", m("2026-04"), m("2026-05"), 0, None)
    assert (credit.first_payment, credit.reactivated, credit.resumed) == (False, True, False)


def test_paying_the_overdue_months_before_the_current_months_due_date_is_enough():
    credit = pay(ms("2026-02", "2026-03"), date(2026, 4, 10), "2026-01")
    assert credit.after == Standing("active", m("2026-03"), m("2026-04"), 0, None)
    assert credit.reactivated


def test_paying_part_of_the_arrears_leaves_arrears_and_moves_the_last_day():
    credit = pay(ms("2026-02"), date(2026, 4, 20), "2026-01")
    assert credit.after == Standing("arrears", m("2026-02"), m("2026-03"), 2, date(2026, 6, 15))
    assert not credit.reactivated


def test_a_lapsed_participant_resumes_from_the_current_month():
    credit = pay(ms("2026-05"), date(2026, 5, 16), "2026-01")
    assert credit.before.status == "lapsed"
    assert credit.after == Standing("active", m("2026-05"), m("2026-06"), 0, None)
    assert (credit.first_payment, credit.reactivated, credit.resumed) == (False, True, True)


def test_an_order_made_before_the_lapse_and_paid_after_it_credits_its_months():
    # Ordered on May 15 (Feb..May), paid on May 16: the months are still unpaid, no gap is left.
    credit = pay(ms("2026-02", "2026-03", "2026-04", "2026-05"), date(2026, 5, 16), "2026-01")
    assert credit.before.status == "lapsed"
    assert credit.after == Standing("active", m("2026-05"), m("2026-06"), 0, None)
    assert (credit.reactivated, credit.resumed) == (True, False)


def test_a_resumption_ordered_last_month_and_paid_after_the_month_turned():
    credit = pay(ms("2026-06", "2026-07", "2026-08"), date(2026, 7, 1), "2026-01")
    assert credit.resumed
    assert credit.after == Standing("active", m("2026-08"), m("2026-09"), 0, None)


def test_a_lapsed_participant_cannot_skip_the_current_month():
    message = refused("months", pay, ms("2026-08"), date(2026, 7, 1), "2026-01")
    assert (
        message
        == "paying from 2026-08 would leave earlier months unpaid; the next month to pay is 2026-02 or, resuming, 2026-07"
    )


def test_a_never_paid_lapsed_participant_resumes_with_a_first_payment():
    credit = pay(ms("2026-03"), date(2026, 3, 3), None, first="2025-01")
    assert (credit.first_payment, credit.reactivated, credit.resumed) == (True, False, True)
    assert credit.after == Standing("active", m("2026-03"), m("2026-04"), 0, None)


def test_prepaying_twelve_months():
    credit = pay(months_from("2026-04", 12), date(2026, 3, 20), "2026-03")
    assert credit.before.status == "active"
    assert credit.after == Standing("active", m("2027-03"), m("2027-04"), 0, None)
    assert not credit.reactivated


def test_a_gap_is_refused_unless_lapsed():
    message = refused("months", pay, ms("2026-03"), date(2026, 3, 1), "2026-01")
    assert message == "paying from 2026-03 would leave earlier months unpaid; the next month to pay is 2026-02"
    # In arrears, on the last day to pay: still no skipping the oldest month.
    refused("months", pay, ms("2026-03", "2026-04", "2026-05"), date(2026, 5, 15), "2026-01")


@pytest.mark.parametrize(
    "paid",
    [ms("2026-01"), ms("2025-12", "2026-01", "2026-02"), ms("2026-01", "2026-02")],
)
def test_months_already_credited_are_refused(paid):
    message = refused("months", pay, paid, date(2026, 2, 1), "2026-01")
    assert message.endswith("is already credited (covered through 2026-01)")


def test_a_month_before_the_first_dues_month_is_refused():
    message = refused("months", pay, ms("2026-01", "2026-02"), date(2026, 1, 20), None, first="2026-02")
    assert message == "2026-01 is before the first dues month 2026-02"


@pytest.mark.parametrize(
    "paid",
    [
        ms("2026-02", "2026-04"),
        ms("2026-03", "2026-02"),
        ms("2026-02", "2026-02"),
        ms("2026-02", "2026-03", "2026-03"),
    ],
)
def test_paid_months_must_be_consecutive_oldest_first(paid):
    assert refused("months", pay, paid, date(2026, 2, 1), "2026-01") == "paid months must be consecutive, oldest first"


def test_nothing_paid_is_refused():
    assert refused("months", pay, [], date(2026, 2, 1), "2026-01") == "no dues month was paid"


# --- reversal -------------------------------------------------------------------


DUES = 16_800
QUARTER = ms("2026-01", "2026-02", "2026-03")


def rev(amount: int, months=QUARTER, amounts=None) -> list[DuesMonth]:
    return reversal(paid_months=months, amounts=amounts or [DUES] * len(months), reversed_amount=amount)


def test_a_full_refund_reverses_every_month_newest_first():
    assert rev(3 * DUES) == ms("2026-03", "2026-02", "2026-01")


def test_a_partial_refund_reverses_the_whole_months_it_covers():
    assert rev(2 * DUES) == ms("2026-03", "2026-02")
    assert rev(2 * DUES + DUES - 1) == ms("2026-03", "2026-02")  # the rest is not a whole month
    assert rev(DUES) == ms("2026-03")
    assert rev(20_000) == ms("2026-03")
    assert rev(DUES - 1) == []
    assert rev(0) == []


def test_months_of_different_prices_are_reversed_newest_first_without_skipping():
    # April onward discounted (PP 50/2025, other sectors): 8,400; March full: 16,800.
    months = ms("2026-03", "2026-04", "2026-05")
    amounts = [16_800, 8_400, 8_400]
    assert rev(8_400, months, amounts) == ms("2026-05")
    assert rev(16_800, months, amounts) == ms("2026-05", "2026-04")
    # 20,000 covers May and April (16,800) but not March: the 3,200 left is not a month.
    assert rev(20_000, months, amounts) == ms("2026-05", "2026-04")
    # Newest first even when the newest is the dearer one: 16,800 covers May (16,800), then stops.
    assert rev(16_800, ms("2026-03", "2026-04"), [8_400, 16_800]) == ms("2026-04")
    assert rev(10_000, ms("2026-03", "2026-04"), [8_400, 16_800]) == []


def test_the_input_order_does_not_matter():
    assert rev(2 * DUES, ms("2026-02", "2026-03", "2026-01")) == ms("2026-03", "2026-02")


def test_a_month_paid_by_a_credit_is_reversed_when_the_walk_reaches_it():
    months = ms("2026-01", "2026-02", "2026-03")
    amounts = [DUES, 0, DUES]
    assert rev(DUES, months, amounts) == ms("2026-03", "2026-02")
    assert rev(2 * DUES, months, amounts) == ms("2026-03", "2026-02", "2026-01")


@pytest.mark.parametrize("amount", [3 * DUES + 1, -1])
def test_a_reversal_of_more_than_was_paid_or_negative_is_refused(amount):
    message = refused("amount", rev, amount)
    assert "reverses Rp50,401" in message if amount > 0 else "non-negative" in message


def test_inconsistent_reversal_inputs_are_programming_errors():
    with pytest.raises(ValueError, match="3 months but 2 amounts"):
        reversal(paid_months=QUARTER, amounts=[DUES, DUES], reversed_amount=DUES)
    with pytest.raises(ValueError, match="twice"):
        reversal(paid_months=ms("2026-01", "2026-01"), amounts=[DUES, DUES], reversed_amount=DUES)
    with pytest.raises(ValueError, match="non-negative"):
        reversal(paid_months=ms("2026-01"), amounts=[-DUES], reversed_amount=0)

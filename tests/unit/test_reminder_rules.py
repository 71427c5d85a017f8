"""The reminder book and the jobs' pure rules: no AWS, no mocks."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone

import pytest
from pydantic import ValidationError

from perisai.domain.months import DuesMonth
from perisai.domain.reminders import (
    JobRead,
    ReminderBook,
    day_budget,
    gsm7,
    reminder_reads,
    segments,
    sms_plan,
    status_reads,
)

WIB = timezone(timedelta(hours=7))
BOOK = ReminderBook.packaged()


def test_every_template_fits_one_gsm7_sms_with_the_longest_values() -> None:
    for rule in BOOK.reminders:
        text = rule.render(
            month=DuesMonth(2026, 9),
            amount=999_999_999,
            code="1" * 16,
            due=date(2026, 9, 15),
            months_owed=3,
            last_day=date(2026, 12, 15),
        )
        assert len(text) <= 160 and segments(text) == 1
        assert "Rp999.999.999" in text and "1" * 16 in text


def test_a_template_that_would_not_fit_is_refused_when_the_book_loads(tmp_path: object) -> None:
    data = json.loads(json.dumps(BOOK.model_dump(mode="json", by_alias=True)))
    data["reminders"][0]["template"] += " Terima kasih atas partisipasi Anda dalam program ini."
    with pytest.raises(ValidationError, match="one SMS holds 160"):
        ReminderBook.model_validate(data)
    data["reminders"][0]["template"] = "Iuran {amount} \u2013 kode {code}"  # an en dash is not GSM-7
    with pytest.raises(ValidationError, match="GSM-7"):
        ReminderBook.model_validate(data)


def test_gsm7_and_segments() -> None:
    assert gsm7("Bayar sblm 15/12") == "Bayar sblm 15/12"
    with pytest.raises(ValueError, match="GSM-7"):
        gsm7("kode {x}")  # braces are GSM-7 extension characters (two septets)
    assert segments("a" * 160) == 1 and segments("a" * 161) == 2 and segments("\u00e9\u20ac" * 40) == 2


def test_the_days_are_data() -> None:
    assert [r.kind for r in BOOK.rules_on(date(2026, 12, 10))] == ["before_due"]
    assert [r.kind for r in BOOK.rules_on(date(2026, 12, 15))] == ["due_day"]
    assert [r.kind for r in BOOK.rules_on(date(2027, 1, 1))] == ["arrears"]
    assert BOOK.rules_on(date(2026, 12, 11)) == []
    assert all(r.send_from == time(9, 0) for r in BOOK.reminders)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-12-10T09:00", "2026-12-10T09:00"),
        ("2026-12-10T20:59", "2026-12-10T20:59"),
        ("2026-12-10T21:00", "2026-12-11T08:00"),
        ("2026-12-10T22:00", "2026-12-11T08:00"),
        ("2026-12-11T00:30", "2026-12-11T08:00"),
        ("2026-12-11T07:59", "2026-12-11T08:00"),
        ("2026-12-31T23:00", "2027-01-01T08:00"),
    ],
)
def test_quiet_hours_wait_for_eight(at: str, expected: str) -> None:
    instant = datetime.fromisoformat(at).replace(tzinfo=WIB)
    assert BOOK.sms.next_send_time(instant) == datetime.fromisoformat(expected).replace(tzinfo=WIB)
    assert BOOK.sms.allows(instant) == (at == expected)


def test_a_days_budget_is_what_is_left_of_its_window() -> None:
    assert day_budget(datetime(2026, 12, 10, 9, tzinfo=WIB), BOOK.sms, 10) == (date(2026, 12, 10), 12 * 3600 * 10)
    assert day_budget(datetime(2026, 12, 10, 22, tzinfo=WIB), BOOK.sms, 10) == (date(2026, 12, 11), 468_000)
    assert day_budget(datetime(2026, 12, 10, 20, 59, 59, tzinfo=WIB), BOOK.sms, 1) == (date(2026, 12, 10), 1)


def test_the_national_sms_plan() -> None:
    plan = sms_plan(participants=10_000_000, unpaid_share=1 / 3, rate_per_second=10, window=BOOK.sms, days_available=6)
    assert (plan.reminders, plan.per_day, plan.days_needed) == (3_333_333, 468_000, 8)
    assert sum(plan.daily) == plan.reminders and plan.daily[-1] == 3_333_333 - 7 * 468_000
    assert not plan.fits
    assert plan.rate_to_fit(6) == 12 and plan.rate_to_fit(1) == 72
    faster = sms_plan(
        participants=10_000_000, unpaid_share=1 / 3, rate_per_second=72, window=BOOK.sms, days_available=1
    )
    assert faster.days_needed == 1 and faster.fits


def test_status_reads_hold_only_who_moves_and_only_on_transition_days() -> None:
    def reads(today: date, since: date | None) -> set[JobRead]:
        return set(status_reads(today, due_day=15, window_months=3, catch_up_months=3, since=since))

    on_16th = reads(date(2026, 12, 16), date(2026, 12, 15))
    # December's due date passed: its active participants go to arrears. First unpaid month
    # September: lapsed the day after December's due date, in arrears or never paid.
    assert on_16th == {
        JobRead(DuesMonth(2026, 12), "active"),
        JobRead(DuesMonth(2026, 9), "pending_payment"),
        JobRead(DuesMonth(2026, 9), "arrears"),
    }
    # Never-paid December participants stay pending_payment until they lapse: not read.
    assert JobRead(DuesMonth(2026, 12), "pending_payment") not in on_16th
    # Any other day nobody moves, and nothing is read; the 15th itself is still on time.
    assert reads(date(2026, 12, 17), date(2026, 12, 16)) == set()
    assert reads(date(2026, 12, 15), date(2026, 12, 14)) == set()
    # A second run the same day reads nothing; a first run ever catches up as far as it reaches.
    assert reads(date(2026, 12, 16), date(2026, 12, 16)) == set()
    first = reads(date(2026, 12, 16), None)
    assert on_16th < first and JobRead(DuesMonth(2026, 6), "active") in first
    assert JobRead(DuesMonth(2026, 4), "active") not in first  # beyond window + catch-up
    # Missed runs are caught up: two transition days since 20 October.
    assert reads(date(2026, 12, 16), date(2026, 10, 20)) == on_16th | {
        JobRead(DuesMonth(2026, 11), "active"),
        JobRead(DuesMonth(2026, 8), "pending_payment"),
        JobRead(DuesMonth(2026, 8), "arrears"),
    }


def test_reminder_reads() -> None:
    before_due, _, arrears = BOOK.reminders
    assert reminder_reads(before_due, date(2026, 12, 10), 3) == [
        JobRead(DuesMonth(2026, 12), "pending_payment"),
        JobRead(DuesMonth(2026, 12), "active"),
    ]
    months = {r.month for r in reminder_reads(arrears, date(2027, 1, 1), 3)}
    assert months == {DuesMonth(2026, 10), DuesMonth(2026, 11), DuesMonth(2026, 12)}

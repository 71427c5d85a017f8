"""Payer rules without mocks: the effective timeline, each payer's periods, from-month limits."""

from __future__ import annotations

import pytest

from perisai.domain.errors import DomainValidationError
from perisai.domain.payers import PayerRef, PayerSpan, Period, check_from_month, payer_periods, timeline

PEMDA = PayerRef("pemda-x", "government")
SPONSOR = PayerRef("sponsor-y", "sponsor")


def test_a_worker_who_pays_alone_has_one_span_and_no_payer() -> None:
    spans = timeline("2026-03", None, [])
    assert spans == [PayerSpan("2026-03", None)]
    assert payer_periods(spans) == {}


def test_a_takeover_from_next_month_gives_the_payer_an_open_period() -> None:
    spans = timeline("2026-03", None, [("2026-06", PEMDA)])
    assert spans == [PayerSpan("2026-03", None), PayerSpan("2026-06", PEMDA)]
    assert payer_periods(spans) == {"pemda-x": ("government", [Period("2026-06")])}


def test_a_stop_closes_the_period_exclusively_and_a_return_opens_another() -> None:
    spans = timeline("2026-01", SPONSOR, [("2026-04", None), ("2026-09", SPONSOR)])
    assert payer_periods(spans) == {
        "sponsor-y": ("sponsor", [Period("2026-01", "2026-04"), Period("2026-09")]),
    }


def test_changes_that_change_nothing_merge_away() -> None:
    # The same payer again, and a change before the first dues month, leave one span each.
    assert timeline("2026-05", PEMDA, [("2026-02", PEMDA), ("2026-07", PEMDA)]) == [PayerSpan("2026-05", PEMDA)]
    assert timeline("2026-05", None, [("2026-01", SPONSOR)]) == [PayerSpan("2026-05", SPONSOR)]


def test_one_payer_hands_over_to_another() -> None:
    spans = timeline("2026-01", SPONSOR, [("2026-07", PEMDA)])
    assert payer_periods(spans) == {
        "sponsor-y": ("sponsor", [Period("2026-01", "2026-07")]),
        "pemda-x": ("government", [Period("2026-07")]),
    }


@pytest.mark.parametrize(
    ("from_month", "accepted"),
    [
        ("2026-02", False),  # before the first dues month
        ("2026-03", False),  # already paid (covered through April)
        ("2026-04", False),
        ("2026-05", True),  # the first unpaid month
        ("2027-06", True),  # twelve months after the current month
        ("2027-07", False),  # thirteen
        ("2026-13", False),  # not a month
    ],
)
def test_from_month_limits(from_month: str, accepted: bool) -> None:
    def check() -> None:
        check_from_month(from_month, first_dues_month="2026-03", covered_through="2026-04", current_month="2026-06")

    if accepted:
        check()
    else:
        with pytest.raises(DomainValidationError) as raised:
            check()
        assert raised.value.field_names == ["from_month"]


def test_a_worker_who_never_paid_may_be_taken_over_from_the_first_dues_month() -> None:
    check_from_month("2026-03", first_dues_month="2026-03", covered_through=None, current_month="2026-05")


@pytest.mark.parametrize(
    ("changes", "from_month", "named"),
    [
        ([], "2026-05", None),  # the worker pays: nobody to displace
        ([("2026-06", SPONSOR)], "2026-05", None),  # only the asking payer itself
        ([("2026-07", PEMDA)], "2026-05", "2026-07"),  # another payer's months come later
        ([("2026-07", PEMDA)], "2026-09", "2026-09"),  # open-ended: it pays the asked month too
        ([("2026-04", PEMDA), ("2026-06", None)], "2026-06", None),  # it stopped before
        ([("2026-04", PEMDA), ("2026-06", None)], "2026-05", "2026-05"),  # May is still its month
        ([("2026-06", SPONSOR), ("2026-08", PEMDA)], "2026-06", "2026-08"),
    ],
)
def test_a_payer_sees_the_first_month_another_payer_pays(
    changes: list[tuple[str, PayerRef | None]], from_month: str, named: str | None
) -> None:
    from perisai.payers.service import _other_payer_from

    spans = timeline("2026-03", None, changes)
    assert _other_payer_from(spans, from_month, SPONSOR.payer_id) == named

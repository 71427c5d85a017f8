"""The rule every effective-dated policy book shares, and the packaged files it reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from perisai.domain import policy_data
from perisai.domain.agent_performance import CommissionBook
from perisai.domain.agents import AgentPolicy
from perisai.domain.claims import BenefitBook


@dataclass(frozen=True)
class Version:
    name: str
    effective_from: date


BOOK = [Version("2027 rule", date(2027, 1, 1)), Version("first", date(2024, 1, 1)), Version("2025", date(2025, 7, 1))]


def in_force_on(day: date) -> str | None:
    version = policy_data.in_force(BOOK, day)
    return version.name if version else None


def test_the_version_in_force_is_the_latest_taking_effect_on_or_before_the_day_in_any_listing_order() -> None:
    assert in_force_on(date(2023, 12, 31)) is None
    assert in_force_on(date(2024, 1, 1)) == "first"
    assert in_force_on(date(2025, 6, 30)) == "first"
    assert in_force_on(date(2025, 7, 1)) == "2025"
    assert in_force_on(date(2031, 3, 15)) == "2027 rule"


def test_two_versions_taking_effect_on_the_same_day_are_refused() -> None:
    policy_data.one_version_per_day(BOOK, "rate")
    with pytest.raises(ValueError, match="two rate versions take effect on the same day"):
        policy_data.one_version_per_day([*BOOK, Version("again", date(2025, 7, 1))], "rate")


def test_each_book_refuses_a_second_version_on_the_same_day() -> None:
    registry = policy_data.packaged("agent_policy.json")
    registry["registry"] = registry["registry"] * 2
    with pytest.raises(ValueError, match="agent registry policy versions take effect on the same day"):
        AgentPolicy.from_document(registry)
    commission = policy_data.packaged("agent_commission.json")
    commission["fraud_signals"] = commission["fraud_signals"] * 2
    with pytest.raises(ValueError, match="fraud-signal policy versions take effect on the same day"):
        CommissionBook.from_document(commission)
    benefits = BenefitBook.default_data()
    benefits["versions"] = benefits["versions"] * 2
    with pytest.raises(ValueError, match="two benefit versions take effect on the same day"):
        BenefitBook.model_validate(benefits)


def test_packaged_reads_a_fresh_copy_of_the_data_file_each_time() -> None:
    first = policy_data.packaged("agent_policy.json")
    first["registry"].clear()
    assert policy_data.packaged("agent_policy.json")["registry"]

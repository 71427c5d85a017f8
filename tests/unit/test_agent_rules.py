"""Agen Perisai rules, pure: agent codes, the registry policy data and the inactivity months."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from perisai.domain.agents import (
    AgentPolicy,
    RegistryPolicy,
    agent_sort_key,
    inactivity_months,
    is_inactive,
    mask_phone,
    normalize_agent_code,
)
from perisai.domain.errors import DomainValidationError
from perisai.domain.identity import is_known_regency

POLICY = AgentPolicy.packaged().registry_on(date(2026, 11, 1))


def test_codes_are_upper_cased_and_checked_as_enrollment_checks_them() -> None:
    assert normalize_agent_code("agen-017") == "AGEN-017"
    assert agent_sort_key("agen-jabar", "ag-9") == "agen-jabar#AG-9"
    for bad in ("", "AG", "AG 9", "AG_9", "A" * 33, "AGÉN-1", "AG#9"):
        with pytest.raises(DomainValidationError) as refused:
            normalize_agent_code(bad)
        assert refused.value.field_names == ["agent_code"]


def test_the_packaged_policy_is_three_months_with_a_bounded_catch_up() -> None:
    assert POLICY.inactive_after_months == 3
    assert POLICY.catch_up_months == 24
    assert "BPU_RULES" in POLICY.source


def test_other_policy_concerns_beside_the_registry_are_ignored(tmp_path: Path) -> None:
    document = json.loads(
        (Path(__file__).parents[2] / "layers/common/perisai/domain/data/agent_policy.json").read_text()
    )
    document["commission"] = [{"effective_from": "2018-01-01", "rate": "0.075"}]
    document["registry"].append(
        {"effective_from": "2027-01-01", "inactive_after_months": 6, "catch_up_months": 12, "source": "a test"}
    )
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(document))
    policy = AgentPolicy.load(path)
    assert policy.registry_on(date(2026, 12, 31)).inactive_after_months == 3
    assert policy.registry_on(date(2027, 1, 1)).inactive_after_months == 6
    with pytest.raises(ValueError, match="no agent registry policy"):
        policy.registry_on(date(2017, 12, 31))


@pytest.mark.parametrize(
    ("last_activity", "today", "inactive"),
    [
        ("2026-01", date(2026, 4, 30), False),  # Feb, Mar passed; April is not over
        ("2026-01", date(2026, 5, 1), True),  # Feb, Mar, Apr: three whole months without activity
        ("2026-01", date(2026, 5, 31), True),
        ("2026-02", date(2026, 5, 31), False),
        ("2025-10", date(2026, 2, 1), True),  # across the year: Nov, Dec, Jan
        ("2025-11", date(2026, 2, 28), False),
        ("2026-05", date(2026, 5, 20), False),  # active this month
    ],
)
def test_inactive_after_three_whole_months_without_activity(last_activity: str, today: date, inactive: bool) -> None:
    assert is_inactive(last_activity, today, POLICY) is inactive


def test_the_job_reads_the_qualifying_months_newest_first_within_the_window() -> None:
    months = inactivity_months(date(2026, 5, 1), POLICY)
    assert months[0] == "2026-01"
    assert months[1] == "2025-12"
    assert len(months) == 24 and months[-1] == "2024-02"
    short = RegistryPolicy(effective_from=date(2018, 1, 1), inactive_after_months=3, catch_up_months=2, source="x")
    assert inactivity_months(date(2026, 3, 15), short) == ["2025-11", "2025-10"]
    assert all(is_inactive(m, date(2026, 5, 1), POLICY) for m in months)


def test_phones_are_shown_masked() -> None:
    assert mask_phone("+6281234567890") == "+62812*****890"
    assert mask_phone("+628123") == "*******"


def test_home_regencies_are_four_digit_codes_of_the_nik_region_table() -> None:
    assert is_known_regency("3273")  # Kota Bandung (python-stdnum)
    assert is_known_regency("3218")  # Pangandaran (2012: the packaged table)
    for bad in ("9999", "327", "32730", "32a3", "٣٢٧٣"):
        assert not is_known_regency(bad), bad

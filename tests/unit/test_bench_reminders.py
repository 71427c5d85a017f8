"""The bench's reminder section at a tiny size: the day's run reads no table it does not need (no
Scan, one index entry per participant reminded), the SMS plan for a national month, and the
report and docs carry the numbers."""

from __future__ import annotations

from typing import Any

import pytest

from bench import docs, report
from bench import reminders as section
from perisai.reminders.models import DueEntry

# The by_due_month index as infra/perisai_infra/data.py declares it (the bench reads it from the
# synthesized template; synthesizing here would take half a minute): it carries DueEntry's fields.
DEFINITION: dict[str, Any] = {
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "AttributeDefinitions": [{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi2pk", "gsi2sk")],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "by_due_month",
            "KeySchema": [
                {"AttributeName": "gsi2pk", "KeyType": "HASH"},
                {"AttributeName": "gsi2sk", "KeyType": "RANGE"},
            ],
            "Projection": {
                "ProjectionType": "INCLUDE",
                "NonKeyAttributes": [f for f in DueEntry.model_fields if f != "gsi2sk"],
            },
        }
    ],
}


@pytest.fixture(scope="module")
def measured() -> dict[str, Any]:
    return section.measure(DEFINITION, sizes=(300, 600), due_share=0.1)


def test_the_run_reminds_every_due_participant_reading_no_scan_and_one_index_entry_each(
    measured: dict[str, Any],
) -> None:
    for run in measured["runs"]:
        assert run["due"] == run["participants"] // 10
        assert run["reminders_queued"] == run["due"]
        assert run["scans"] == 0 and "DynamoDB.Scan" not in run["calls"]
        assert run["index_entries_read_per_reminded"] == 1.0
        assert run["errors"] == []
    small, large = measured["runs"]
    # What is not an index entry is bounded per run, whatever the table holds: the round and its 32
    # cursors (16 shards x 2 statuses) read by the run, each cursor again by its page, the budget per page.
    assert max(small["fixed_items_read"], large["fixed_items_read"]) <= 1 + 32 + 32 + 32 + 32
    assert large["items_read_per_reminded"] < small["items_read_per_reminded"] < 6


def test_the_plan_for_ten_million_with_a_third_unpaid_at_ten_per_second_takes_eight_days(
    measured: dict[str, Any],
) -> None:
    ten = next(r for r in measured["plan"]["rates"] if r["rate_per_second"] == 10)
    assert (ten["reminders"], ten["per_day"], ten["days_needed"]) == (3_333_333, 468_000, 8)
    assert not ten["fits"] and ten["rate_to_fit_plan_days"] == 12 and ten["rate_to_fit_1_day"] == 72
    assert ten["run_per_day"] == 432_000  # the 09:00 run gets 12 of the window's 13 hours


def test_the_cost_counts_one_segment_per_reminder_at_the_books_price(measured: dict[str, Any]) -> None:
    sms = measured["sms"]
    assert all(k["segments"] == 1 and k["longest_segments"] == 1 for k in sms["kinds"])
    assert sms["reminders_per_participant_month"] == pytest.approx(1 / 3 + 0.15 + 0.05, abs=1e-4)
    assert sms["idr_per_participant_month"] == pytest.approx(350 * (1 / 3 + 0.15 + 0.05), abs=0.01)
    ppm = measured["per_participant_month"]
    assert ppm["aws_usd"] > 0 and ppm["total_usd"] == pytest.approx(
        ppm["aws_usd"] + sms["usd_per_participant_month"], rel=1e-5
    )


def test_the_report_and_the_docs_carry_the_numbers(measured: dict[str, Any]) -> None:
    results = {"reminders": measured, "budgets": [report.reminder_budget({"reminders": measured})]}
    assert results["budgets"][0]["met"]
    text = "\n".join(" | ".join(row) for row in report.reminder_rows(results))
    small, large = measured["runs"]
    assert f"run over {large['participants']:,} participants" in text
    assert f"{large['items_read_per_reminded']:g} per reminded" in text
    assert "8 day(s) at 468,000/day" in text
    notes = docs._reminders_notes(results)
    assert "Scans: 0" in notes and f"| {small['participants']:,} | {small['due']:,} |" in notes

"""The bench's bulk-order section at small sizes: no Scan, crediting costs one transaction per
worker whatever the order's size, the payment callback's work does not depend on it, every worker
is credited exactly once, and the printed table and the docs carry the numbers."""

from __future__ import annotations

from typing import Any

import pytest

from bench import bulk_orders as section

SMALL, LARGER = 100, 300  # one chunk, three chunks


def _index(name: str, n: int, projection: str, attributes: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "IndexName": name,
        "KeySchema": [
            {"AttributeName": f"gsi{n}pk", "KeyType": "HASH"},
            {"AttributeName": f"gsi{n}sk", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": projection, **({"NonKeyAttributes": list(attributes)} if attributes else {})},
    }


# The participants table as infra/perisai_infra/data.py declares it (the bench reads it from the
# synthesized template; synthesizing here would take half a minute).
DEFINITION: dict[str, Any] = {
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "AttributeDefinitions": [
        {"AttributeName": n, "AttributeType": "S"}
        for n in ("pk", "sk", *(f"gsi{i}{k}" for i in (1, 2, 3, 4) for k in ("pk", "sk")))
    ],
    "GlobalSecondaryIndexes": [
        _index("by_partner", 1, "KEYS_ONLY"),
        _index(
            "by_due_month",
            2,
            "INCLUDE",
            ("participant_id", "partner_id", "status", "phone", "sms_opt_out", "first_dues_month")
            + ("covered_through", "next_dues_month"),
        ),
        _index("by_agent", 3, "KEYS_ONLY"),
        _index(
            "by_payer_month",
            4,
            "INCLUDE",
            ("participant_id", "month", "total", "payer_type", "payer_id", "order_id", "order_months", "provider")
            + ("reference", "paid_at", "regency", "masked_name"),
        ),
    ],
}


@pytest.fixture(scope="module")
def measured() -> dict[str, Any]:
    return section.measure(DEFINITION, sizes=(SMALL, LARGER))


def test_no_phase_scans_and_nothing_fails(measured: dict[str, Any]) -> None:
    for run in measured["runs"]:
        assert run["scans"] == 0 and run["errors"] == []
        for phase in run["phases"].values():
            assert "DynamoDB.Scan" not in phase["calls"]


def test_every_worker_is_credited_exactly_once(measured: dict[str, Any]) -> None:
    for run in measured["runs"]:
        checks, workers = run["checks"], run["workers"]
        assert checks["order_participants"] == workers and checks["chunks"] == -(-workers // 100)
        assert checks["payment_outcome"] == "credited" and checks["final_status"] == "paid"
        assert checks["ledger_entries"] == checks["ledger_participants"] == workers
        assert checks["credited_outcomes"] == checks["active_profiles"] == workers
        assert checks["outbox_events"] == {
            "BulkOrderPaid": 1,
            "ContributionReceived": workers,
            "ParticipantActivated": workers,
        }


def test_crediting_costs_one_transaction_per_worker_whatever_the_size(measured: dict[str, Any]) -> None:
    small, larger = (run["phases"]["crediting"] for run in measured["runs"])
    assert small["calls"]["DynamoDB.TransactWriteItems"] == SMALL
    assert larger["calls"]["DynamoDB.TransactWriteItems"] == LARGER
    assert larger["per_worker"]["calls"] <= small["per_worker"]["calls"] < 1.1
    assert larger["per_worker"]["rru"] <= small["per_worker"]["rru"]
    assert larger["per_worker"]["wru"] <= small["per_worker"]["wru"]
    for run in measured["runs"]:
        create = run["phases"]["create"]
        assert create["per_worker"]["calls"] < 0.1  # batched: no call per worker when opening
        for phase in run["phases"].values():
            for unit in ("calls", "rru", "wru"):
                assert phase["per_worker"][unit] >= phase["minimum_per_worker"][unit]


def test_the_payment_callback_does_the_same_work_at_every_size(measured: dict[str, Any]) -> None:
    small, larger = (run["phases"]["payment"] for run in measured["runs"])
    assert small["calls"] == larger["calls"] == {"DynamoDB.GetItem": 2, "DynamoDB.TransactWriteItems": 1}
    assert (small["rru"], small["wru"]) == (larger["rru"], larger["wru"])
    assert measured["payment_constant"]


def test_the_output_and_the_docs_carry_the_numbers(measured: dict[str, Any]) -> None:
    printed = section.text(measured)
    assert "design minimum" in printed and "moto's per-transaction table copy disabled" in printed
    larger = measured["runs"][-1]["phases"]["crediting"]
    doc = section.with_section("# Benchmarks\n\nintro\n\n## The table\n\nrows\n", {"bulk_orders": measured})
    assert doc.index("## Bulk orders") < doc.index("## The table")
    assert f"| {LARGER:,} | crediting | {section._f(larger['per_worker']['calls'])} |" in doc
    assert "the price of exactly-once" in doc and "Scans" in doc
    assert section.with_section("text", {}) == "text"

"""The bench's payments: the callbacks it sends are what the providers' verifiers accept (signatures
checked by the production code and recomputed here), the items a paid month leaves are classified
by key, and the cost per paid participant-month adds up (values worked out by hand)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import pytest

from bench import cost, docs, operations, report
from bench.awsmeter import Call, Tally
from perisai.payments.providers_channel import parse_channel, verify_channel
from perisai.payments.providers_midtrans import parse_midtrans, verify_midtrans
from perisai.payments.providers_xendit import parse_xendit

ORDER = {"order_id": "ORD-0123456789ABCD", "payment_code": "12345678901234", "amount": 16800}


def test_the_midtrans_body_is_signed_as_midtrans_documents_and_parses_as_a_payment() -> None:
    body = operations.midtrans_body(ORDER)
    expected = hashlib.sha512(b"ORD-0123456789ABCD20016800.00local-midtrans-server-key").hexdigest()
    assert body["signature_key"] == expected
    assert verify_midtrans(body, "local-midtrans-server-key")
    assert not verify_midtrans(body, "another-key")
    event = parse_midtrans(body)
    assert (event.kind, event.order_id, event.amount) == ("paid", ORDER["order_id"], 16800)


def test_the_xendit_body_is_a_fixed_virtual_account_payment_of_the_order() -> None:
    event = parse_xendit(operations.xendit_va_body(ORDER))
    assert (event.provider, event.kind, event.order_id, event.amount) == ("xendit", "paid", ORDER["order_id"], 16800)


def test_the_channel_request_signs_the_timestamp_and_the_raw_body() -> None:
    now = 1_800_000_000
    raw, headers = operations.channel_request(ORDER, now=now)
    digest = hmac.new(b"local-channel-secret", f"{now}.".encode() + raw, hashlib.sha256).hexdigest()
    assert headers == {"X-Channel-Id": "demo-channel", "X-Timestamp": str(now), "X-Signature": f"sha256={digest}"}
    at = datetime.fromtimestamp(now, UTC)
    assert verify_channel(raw, headers["X-Timestamp"], headers["X-Signature"], "local-channel-secret", at)
    event = parse_channel(raw, "demo-channel")
    assert (event.kind, event.payment_code, event.amount) == ("paid", ORDER["payment_code"], 16800)


def test_every_payment_operation_has_a_label_and_a_minimum_and_runs_in_payment_callback() -> None:
    for name in operations.PAYMENT_OPERATIONS:
        assert name in operations.LABELS and name in operations.MINIMUMS
        assert operations._function(name) == "payment_callback"
    settlement = operations.MINIMUMS["midtrans_settlement"]
    assert settlement.calls == {"DynamoDB.GetItem": 3, "DynamoDB.Query": 1, "DynamoDB.TransactWriteItems": 1}
    assert (settlement.rru, settlement.wru) == (4, 12)  # 5 items x2 in the transaction + the due-month index move
    assert operations.MINIMUMS["order"].wru == 6  # order, payment code, pointer: x2 in the transaction


def test_the_verdict_names_what_is_above_the_minimum() -> None:
    minimum = operations.MINIMUMS["midtrans_duplicate"]
    assert operations._compare({"DynamoDB.GetItem": 1}, 1, 0, minimum, {}) == "at minimum"
    verdict = operations._compare({"DynamoDB.GetItem": 2}, 2, 0, minimum, {})
    assert verdict == "above minimum: DynamoDB.GetItem 2 (min 1); 2 RRU (min 1)"


def _call(keys: list[str], sizes: list[int]) -> Call:
    return Call(
        function="payment_callback", name="DynamoDB.TransactWriteItems", seconds=0.0, item_keys=keys, item_bytes=sizes
    )


def test_the_items_a_paid_month_leaves_are_classified_by_key_the_last_write_winning() -> None:
    order = Tally(
        [_call(["ORDER#O|ORDER", "PAYCODE#1|CODE", "PARTICIPANT#P|OPENORDER#2026-12#2026-12"], [700, 150, 120])]
    )
    settlement = Tally(
        [
            _call(
                [
                    "ORDER#O|ORDER",
                    "PARTICIPANT#P|PROFILE",
                    "RECEIVED#midtrans#tx:settlement|CALLBACK",
                    "PARTICIPANT#P|DUES#2026-12",
                    "OUTBOX#e|EVENT",
                ],
                [900, 1736, 90, 600, 500],
            )
        ]
    )
    assert operations.written_items(order, settlement)["ORDER#O|ORDER"] == 900
    items = operations.paid_month_items(order, settlement)
    assert items == {
        "order": {"count": 1, "bytes": 900},
        "payment code": {"count": 1, "bytes": 150},
        "open-order pointer": {"count": 1, "bytes": 120},
        "received-event key": {"count": 1, "bytes": 90},
        "ledger entry": {"count": 1, "bytes": 600},
        "outbox event": {"count": 1, "bytes": 500},
    }  # the profile is rewritten, not added


PRICES: dict[str, Any] = {
    "unit_prices": {
        "api_gateway_rest_request": 0.0000035,
        "lambda_request": 0.0000002,
        "lambda_arm64_gb_second": 0.0000133334,
        "lambda_snapstart_restore_gb": 0.0001397998,
        "dynamodb_on_demand_write_request_unit": 0.000000625,
        "dynamodb_on_demand_read_request_unit": 0.000000125,
        "dynamodb_storage_gb_month": 0.25,
        "dynamodb_pitr_gb_month": 0.20,
        "eventbridge_custom_event": 0.000001,
        "cloudwatch_logs_ingestion_gb": 0.50,
        "xray_trace_recorded": 0.000005,
    },
    "assumptions": {
        "lambda_full_vcpu_mb": 1769,
        "aws_call_latency_ms": {"default": 10},
        "authorizer_invocations_per_request": 1.0,
        "authorizer_note": "",
        "lambda_platform_log_bytes_per_invocation": 0,
        "api_gateway_access_log_bytes_per_request": 0,
        "xray_traces_per_paid_month": 3.0,
        "xray_paid_month_note": "",
        "snapstart_restores_per_invocation": 0.05,
        "snapstart_restore_note": "",
        "dynamodb_item_storage_overhead_bytes": 100,
    },
}


def _op(calls: dict[str, int], rru: float, wru: float, cpu_ms: float, log_bytes: float = 0) -> dict[str, Any]:
    return {
        "warm": {"calls": calls, "dynamodb_rru": rru, "dynamodb_wru": wru},
        "warm_median_handler_cpu_ms": cpu_ms,
        "warm_median_handler_ms_excl_aws": cpu_ms,
        "log_bytes_per_request": log_bytes,
    }


def _payments() -> dict[str, Any]:
    return {
        "order": _op({"DynamoDB.GetItem": 2, "DynamoDB.TransactWriteItems": 1}, 2, 6, 10.0, 1000),
        "midtrans_settlement": _op(
            {"DynamoDB.GetItem": 3, "DynamoDB.Query": 1, "DynamoDB.TransactWriteItems": 1}, 4, 14, 20.0, 2000
        ),
        "downstream": {
            "invocations_per_settlement": {"outbox_relay": 1},
            "log_bytes_per_settlement": 500,
            "functions": {"outbox_relay": _op({"EventBridge.PutEvents": 1}, 0, 0, 5.0)},
        },
        "paid_month_items": {
            "ledger entry": {"count": 1, "bytes": 924},  # 1,024 with its overhead: kept for good
            "outbox event": {"count": 1, "bytes": 300},
        },
    }


def test_the_cost_per_paid_participant_month_adds_the_order_the_callback_and_what_follows() -> None:
    memory = {"payment_callback": 512, "authorizer": 256, "outbox_relay": 256}
    authorizer = _op({"DynamoDB.GetItem": 1}, 1, 0, 0.0)
    overhead = {"authorizer": {"median_ms": 1.0}}
    paid = cost.per_1000_paid_months(_payments(), authorizer, overhead, memory, PRICES)
    lines = {line["item"]: line for line in paid["lines"]}
    assert lines["API Gateway REST requests"]["quantity"] == 2000
    assert paid["dynamodb_rru_per_paid_month"] == 2 + 4 + 1
    assert paid["dynamodb_wru_per_paid_month"] == 6 + 14
    assert lines["DynamoDB write request units"]["usd"] == pytest.approx(20_000 * 0.000000625)
    assert lines["EventBridge.PutEvents calls"]["quantity"] == 1000
    # order: 10 ms x 1769/512 (3.455) = 34.55 + 3 calls x 10 ms -> 65 ms billed, 0.5 GB
    order_duration = next(v for k, v in lines.items() if k.startswith("Lambda payment_callback (order): duration"))
    assert order_duration["quantity"] == pytest.approx(1000 * 0.5 * 0.065)
    assert lines["X-Ray traces recorded (active tracing, service side)"]["quantity"] == 3000
    assert lines["CloudWatch Logs ingestion"]["quantity"] == pytest.approx((1000 + 2000 + 500) * 1000 / 1e9)
    # 1,024 bytes kept (one month counted) + 400 bytes for 7 days (7 / 30.4 of a month), x1,000
    storage = lines["DynamoDB storage and PITR of the items it leaves"]
    assert storage["quantity"] == pytest.approx(1000 * (1024 + 400 * 7 / 30.4) / 2**30, rel=1e-5)
    assert paid["storage_added_per_paid_month"]["kept_bytes"] == 1024
    total = sum(line["usd"] for line in paid["lines"])
    assert paid["total_usd"] == pytest.approx(total, abs=1e-4)
    assert paid["usd_per_paid_month"] == pytest.approx(total / 1000, rel=1e-2)


def test_the_paid_month_table_is_rendered_in_the_cost_notes_and_the_report() -> None:
    memory = {"payment_callback": 512, "authorizer": 256, "outbox_relay": 256}
    authorizer = _op({"DynamoDB.GetItem": 1}, 1, 0, 0.0)
    paid = cost.per_1000_paid_months(_payments(), authorizer, {"authorizer": {"median_ms": 1.0}}, memory, PRICES)
    text = docs._paid_month_notes({"per_1000_paid_months": paid})
    assert "| per 1,000 paid participant-months |" in text
    assert f"**{report._usd(paid['usd_per_paid_month'])}**" in text
    assert docs._paid_month_notes({"per_1000_paid_months": None}).startswith("Payments: not measured")


def test_the_paid_order_replaces_the_open_one_when_the_requests_were_on_different_orders() -> None:
    order = Tally([_call(["ORDER#A|ORDER", "PAYCODE#1|CODE"], [700, 150])])
    settlement = Tally([_call(["ORDER#B|ORDER", "PARTICIPANT#P|DUES#2026-12"], [900, 600])])
    items = operations.paid_month_items(order, settlement)
    assert items["order"] == {"count": 1, "bytes": 900}
    assert items["payment code"] == {"count": 1, "bytes": 150}

"""Cost model: AWS cost per 1,000 enrollments, per active participant per month, SMS, and the
fixed monthly cost of the deployed stack at rest, from the bench's measurements and the prices
kept as data in bench/prices.json.

SnapStart (every function runs on it, as a published version): its cache is a fixed monthly
line (each published version's memory, every second it is active), its restores a line per
1,000 enrollments (an assumed share of invocations), and publishing a version costs its init
and priming once (``per_deployment``). Active tracing stays billed as X-Ray traces.

Payments: ``per_1000_paid_months`` (an order, one settlement callback crediting one month, what
its outbox events set off, and the storage of the items it leaves).

Adding a capability's costs: a flow (reminders) adds a function to ``PER_PARTICIPANT_MONTH``
returning its lines per active participant per month; SMS it sends goes to the SMS lines
(segments), never into the totals without a recorded price.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from typing import Any

from bench.common import PRICES


def load_prices() -> dict[str, Any]:
    return json.loads(PRICES.read_text())


def _line(
    item: str, quantity: float, unit: str, price_key: str | None, prices: dict[str, Any], note: str = ""
) -> dict[str, Any]:
    unit_price = prices["unit_prices"].get(price_key) if price_key else None
    usd = None if unit_price is None else quantity * unit_price
    return {
        "item": item,
        "quantity": float(f"{quantity:.6g}"),
        "unit": unit,
        "unit_price_usd": unit_price,
        "usd": None if usd is None else float(f"{usd:.6g}"),
        "note": note,
    }


def duration_ms(cpu_ms: float, memory_mb: int, calls: dict[str, int], prices: dict[str, Any]) -> float:
    """Modelled billed duration of one warm invocation: the handler overhead measured here scaled
    to the function's CPU share, plus the assumed latency of each AWS call it waits for."""
    assumptions = prices["assumptions"]
    scale = max(1.0, assumptions["lambda_full_vcpu_mb"] / memory_mb)
    latency = assumptions["aws_call_latency_ms"]
    waiting = sum(count * latency.get(name, latency["default"]) for name, count in calls.items())
    return cpu_ms * scale + waiting


def _lambda_lines(
    name: str, invocations: float, cpu_ms: float, memory: int, calls: dict[str, int], prices: dict[str, Any], note: str
) -> list[dict[str, Any]]:
    ms = duration_ms(cpu_ms, memory, calls, prices)
    billed = math.ceil(ms)
    gb_seconds = invocations * memory / 1024 * billed / 1000
    return [
        _line(f"Lambda {name}: requests", invocations, "invocations", "lambda_request", prices, note),
        _line(
            f"Lambda {name}: duration ({memory} MB arm64, ~{billed} ms each)",
            gb_seconds,
            "GB-s",
            "lambda_arm64_gb_second",
            prices,
            f"{cpu_ms:.2f} ms overhead here x {max(1.0, prices['assumptions']['lambda_full_vcpu_mb'] / memory):.2f} "
            f"CPU share + assumed AWS latency of {sum(calls.values())} call(s)",
        ),
    ]


# What each AWS API call costs by itself (DynamoDB is priced by request units instead; SNS SMS by segment).
CALL_PRICES = {
    "KMS.": "kms_request",
    "SecretsManager.": "secrets_manager_api_call",
    "EventBridge.PutEvents": "eventbridge_custom_event",
    "SQS.": "sqs_request",
}


def _call_lines(calls: Counter[str], per: int, prices: dict[str, Any]) -> list[dict[str, Any]]:
    lines = []
    for name, count in sorted(calls.items()):
        key = next((v for k, v in CALL_PRICES.items() if name.startswith(k)), None)
        if name.startswith(("DynamoDB.", "SNS.")) or key is None:
            continue
        lines.append(_line(f"{name} calls", count * per, "requests", key, prices))
    return lines


# -- SnapStart (Python and .NET functions pay for it; Java's is free) -----------------------------

SECONDS_PER_MONTH = 730 * 3600  # AWS prices a month as 730 hours


def snapstart_functions(template: dict[str, Any], key_of: dict[str, str]) -> list[tuple[str, int, int]]:
    """(function, memory MB, published versions in the template) of every Python function with
    SnapStart on its published versions."""
    resources = template["Resources"]
    versions: Counter[str] = Counter()
    for r in resources.values():
        if r["Type"] == "AWS::Lambda::Version":
            function = r["Properties"].get("FunctionName")
            if isinstance(function, dict) and "Ref" in function:
                versions[function["Ref"]] += 1
    out = []
    for logical, r in resources.items():
        props = r["Properties"] if r["Type"] == "AWS::Lambda::Function" else {}
        if (props.get("SnapStart") or {}).get("ApplyOn") != "PublishedVersions":
            continue
        if not str(props.get("Runtime", "")).startswith("python"):
            continue
        out.append((key_of.get(logical, logical), int(props.get("MemorySize", 128)), versions[logical]))
    return sorted(out)


def snapstart_cache_line(functions: list[tuple[str, int, int]], prices: dict[str, Any]) -> dict[str, Any]:
    """A month of every published version's snapshot in SnapStart's cache: the function's memory
    in GB for each second the version is active."""
    gb = sum(memory / 1024 * versions for _, memory, versions in functions)
    names = ", ".join(f"{name} {memory} MB" for name, memory, _ in functions)
    versions = sum(v for _, _, v in functions)
    return _line(
        f"Lambda SnapStart cache ({versions} published versions)",
        gb * SECONDS_PER_MONTH,
        "GB-s",
        "lambda_snapstart_cache_gb_second",
        prices,
        f"{gb:g} GB cached for 730 h: {names}. {prices['assumptions']['snapstart_cache_note']}",
    )


def snapstart_restore_line(invocations: list[tuple[str, float, int]], prices: dict[str, Any]) -> dict[str, Any]:
    """Restores: the share of invocations that start a new execution environment from the
    snapshot (``snapstart_restores_per_invocation``), each charged the function's memory in GB."""
    share = prices["assumptions"]["snapstart_restores_per_invocation"]
    gb_all = sum(count * memory / 1024 for _, count, memory in invocations)
    unit_price = prices["unit_prices"].get("lambda_snapstart_restore_gb")
    ceiling = "" if unit_price is None else f" (${gb_all * unit_price:.3g} if every one did)"
    return _line(
        "Lambda SnapStart restores",
        gb_all * share,
        "GB restored",
        "lambda_snapstart_restore_gb",
        prices,
        f"assumed: {share:g} of invocations start an environment from the snapshot{ceiling}; "
        f"{prices['assumptions']['snapstart_restore_note']}",
    )


def publish_init_line(inits: list[tuple[str, float, int]], prices: dict[str, Any]) -> dict[str, Any]:
    """Publishing a version runs the function's init (imports) and its before-snapshot hooks
    (priming) once, billed as duration: the time measured here scaled to each function's CPU share."""
    full = prices["assumptions"]["lambda_full_vcpu_mb"]
    gb_seconds = sum(ms * max(1.0, full / memory) / 1000 * memory / 1024 for _, ms, memory in inits)
    return _line(
        f"Lambda init and priming when publishing ({len(inits)} versions)",
        gb_seconds,
        "GB-s",
        "lambda_arm64_gb_second",
        prices,
        "import + before-snapshot hooks measured here (section 1) x CPU share; "
        + prices["assumptions"]["snapstart_publish_note"],
    )


def per_1000_enrollments(
    operations: dict[str, Any],
    overhead: dict[str, Any],
    memory: dict[str, int],
    sqs_triggered: set[str],
    prices: dict[str, Any],
    snapstart: bool = True,
) -> dict[str, Any]:
    a = prices["assumptions"]
    n = 1000
    enroll, authorizer = operations["enroll"], operations["authorizer"]
    downstream = operations["downstream"]
    lines = [_line("API Gateway REST requests", n, "requests", "api_gateway_rest_request", prices)]
    invoked: list[tuple[str, float, int]] = [
        ("enroll", n, memory["enroll"]),
        ("authorizer", n * a["authorizer_invocations_per_request"], memory["authorizer"]),
    ]
    lines += _lambda_lines(
        "enroll",
        n,
        overhead["enroll"]["median_ms"],
        memory["enroll"],
        enroll["warm"]["calls"],
        prices,
        "one per enrollment",
    )
    auth_n = n * a["authorizer_invocations_per_request"]
    lines += _lambda_lines(
        "authorizer",
        auth_n,
        overhead["authorizer"]["median_ms"],
        memory["authorizer"],
        authorizer["warm"]["calls"],
        prices,
        a["authorizer_note"],
    )
    calls: Counter[str] = Counter(enroll["warm"]["calls"])
    calls.update({k: v * a["authorizer_invocations_per_request"] for k, v in authorizer["warm"]["calls"].items()})
    rru = enroll["warm"]["dynamodb_rru"] + authorizer["warm"]["dynamodb_rru"] * a["authorizer_invocations_per_request"]
    wru = enroll["warm"]["dynamodb_wru"] + authorizer["warm"]["dynamodb_wru"] * a["authorizer_invocations_per_request"]
    sms_segments = 0
    sqs_messages = 0.0
    for key, entry in downstream["functions"].items():
        invocations = downstream["invocations_per_enrollment"].get(key, 1)
        warm = entry["warm"]
        cpu_ms = entry.get("warm_median_handler_cpu_ms") or entry["warm_median_handler_ms_excl_aws"]
        lines += _lambda_lines(
            key, n * invocations, cpu_ms, memory[key], warm["calls"], prices, "downstream of each enrollment"
        )
        invoked.append((key, n * invocations, memory[key]))
        calls.update({k: v * invocations for k, v in warm["calls"].items()})
        rru += warm["dynamodb_rru"] * invocations
        wru += warm["dynamodb_wru"] * invocations
        sms_segments += warm["sms_segments"] * invocations
        if key in sqs_triggered:
            sqs_messages += invocations
    if snapstart:
        lines.append(snapstart_restore_line(invoked, prices))
    lines.append(_line("DynamoDB write request units", wru * n, "WRU", "dynamodb_on_demand_write_request_unit", prices))
    lines.append(_line("DynamoDB read request units", rru * n, "RRU", "dynamodb_on_demand_read_request_unit", prices))
    lines += _call_lines(calls, n, prices)
    if sqs_messages:
        lines.append(
            _line(
                "SQS requests (queue hops)",
                sqs_messages * a["sqs_requests_per_message"] * n,
                "requests",
                "sqs_request",
                prices,
                a["sqs_note"],
            )
        )
    invocations_total = n + auth_n + n * sum(downstream["invocations_per_enrollment"].values())
    log_bytes = (
        n * overhead["enroll"]["log_bytes_per_request"]
        + auth_n * overhead["authorizer"]["log_bytes_per_request"]
        + n * downstream.get("log_bytes_per_enrollment", 0)
        + invocations_total * a["lambda_platform_log_bytes_per_invocation"]
        + n * a["api_gateway_access_log_bytes_per_request"]
    )
    lines.append(
        _line(
            "CloudWatch Logs ingestion",
            log_bytes / 1e9,
            "GB",
            "cloudwatch_logs_ingestion_gb",
            prices,
            f"{log_bytes / n:,.0f} bytes per enrollment: handlers' JSON logs and EMF metrics as measured, "
            "Lambda platform records and the API access log line as assumed",
        )
    )
    lines.append(
        _line(
            "X-Ray traces recorded (active tracing, service side)",
            n * a["xray_traces_per_enrollment"],
            "traces",
            "xray_trace_recorded",
            prices,
            a["xray_note"],
        )
    )
    total = sum(line["usd"] for line in lines if line["usd"] is not None)
    return {
        "lines": lines,
        "total_usd": round(total, 4),
        "sms_segments": sms_segments * n,
        "aws_calls_per_enrollment": dict(sorted(calls.items())),
        "dynamodb_wru_per_enrollment": round(wru, 2),
        "dynamodb_rru_per_enrollment": round(rru, 2),
    }


def _storage_lines(storage: dict[str, Any], prices: dict[str, Any]) -> list[dict[str, Any]]:
    a = prices["assumptions"]
    stored = (
        storage["profile_bytes"]
        + storage["nik_item_bytes"]
        + 2 * a["dynamodb_item_storage_overhead_bytes"]
        + sum(size + a["dynamodb_index_entry_overhead_bytes"] for size in storage["index_entry_bytes"].values())
    )
    gb = stored / 2**30
    note = f"{stored:,} bytes: profile, NIK item and {len(storage['index_entry_bytes'])} index entries with overheads"
    return [
        _line("DynamoDB storage", gb, "GB-month", "dynamodb_storage_gb_month", prices, note),
        _line("DynamoDB point-in-time recovery", gb, "GB-month", "dynamodb_pitr_gb_month", prices, note),
    ]


# -- payments: one paid participant-month ---------------------------------------------------------

# How long the table keeps each item a paid month leaves (from perisai.payments.repository and the
# outbox): None = for good (no TTL).
PAID_MONTH_RETENTION_MONTHS: dict[str, float | None] = {
    "order": None,
    "open-order pointer": None,
    "ledger entry": None,
    "payment code": (2 + 90) / 30.4,  # payable 48 h, then TTL 90 days later
    "received-event key": 400 / 30.4,
    "outbox event": 7 / 30.4,
}


def per_1000_paid_months(
    payments: dict[str, Any],
    authorizer: dict[str, Any],
    overhead: dict[str, Any],
    memory: dict[str, int],
    prices: dict[str, Any],
    snapstart: bool = True,
) -> dict[str, Any]:
    """1,000 paid participant-months: each an order for one month (partner route, authorizer) and
    one provider callback crediting it (a Midtrans settlement of a renewal month), and what its
    outbox events set off (outbox relay, event bus; no rule routes payment events anywhere yet)."""
    a = prices["assumptions"]
    n = 1000
    order, settlement = payments["order"], payments["midtrans_settlement"]
    downstream = payments["downstream"]
    auth_share = a["authorizer_invocations_per_request"]
    lines = [
        _line(
            "API Gateway REST requests",
            2 * n,
            "requests",
            "api_gateway_rest_request",
            prices,
            "the order and the callback",
        )
    ]
    lines += _lambda_lines(
        "payment_callback (order)",
        n,
        order["warm_median_handler_cpu_ms"],
        memory["payment_callback"],
        order["warm"]["calls"],
        prices,
        "one order per paid month",
    )
    lines += _lambda_lines(
        "payment_callback (settlement)",
        n,
        settlement["warm_median_handler_cpu_ms"],
        memory["payment_callback"],
        settlement["warm"]["calls"],
        prices,
        "one provider callback per paid month",
    )
    lines += _lambda_lines(
        "authorizer",
        n * auth_share,
        overhead["authorizer"]["median_ms"],
        memory["authorizer"],
        authorizer["warm"]["calls"],
        prices,
        a["authorizer_note"],
    )
    invoked: list[tuple[str, float, int]] = [
        ("payment_callback", 2 * n, memory["payment_callback"]),
        ("authorizer", n * auth_share, memory["authorizer"]),
    ]
    calls: Counter[str] = Counter(order["warm"]["calls"])
    calls.update(settlement["warm"]["calls"])
    calls.update({k: v * auth_share for k, v in authorizer["warm"]["calls"].items()})
    rru = (
        order["warm"]["dynamodb_rru"]
        + settlement["warm"]["dynamodb_rru"]
        + authorizer["warm"]["dynamodb_rru"] * auth_share
    )
    wru = (
        order["warm"]["dynamodb_wru"]
        + settlement["warm"]["dynamodb_wru"]
        + authorizer["warm"]["dynamodb_wru"] * auth_share
    )
    per_settlement = downstream["invocations_per_settlement"]
    for key, entry in downstream["functions"].items():
        invocations = per_settlement.get(key, 1)
        warm = entry["warm"]
        cpu_ms = entry.get("warm_median_handler_cpu_ms") or entry["warm_median_handler_ms_excl_aws"]
        lines += _lambda_lines(
            key, n * invocations, cpu_ms, memory[key], warm["calls"], prices, "downstream of each settlement"
        )
        invoked.append((key, n * invocations, memory[key]))
        calls.update({k: v * invocations for k, v in warm["calls"].items()})
        rru += warm["dynamodb_rru"] * invocations
        wru += warm["dynamodb_wru"] * invocations
    if snapstart:
        lines.append(snapstart_restore_line(invoked, prices))
    lines.append(_line("DynamoDB write request units", wru * n, "WRU", "dynamodb_on_demand_write_request_unit", prices))
    lines.append(_line("DynamoDB read request units", rru * n, "RRU", "dynamodb_on_demand_read_request_unit", prices))
    lines += _call_lines(calls, n, prices)
    invocations_total = 2 * n + n * auth_share + n * sum(per_settlement.values())
    log_bytes = (
        n * order["log_bytes_per_request"]
        + n * settlement["log_bytes_per_request"]
        + n * downstream.get("log_bytes_per_settlement", 0)
        + invocations_total * a["lambda_platform_log_bytes_per_invocation"]
        + 2 * n * a["api_gateway_access_log_bytes_per_request"]
    )
    lines.append(
        _line(
            "CloudWatch Logs ingestion",
            log_bytes / 1e9,
            "GB",
            "cloudwatch_logs_ingestion_gb",
            prices,
            f"{log_bytes / n:,.0f} bytes per paid month: handlers' JSON logs and EMF metrics as measured (the "
            "authorizer's included), Lambda platform records and the API access log lines as assumed",
        )
    )
    lines.append(
        _line(
            "X-Ray traces recorded (active tracing, service side)",
            n * a["xray_traces_per_paid_month"],
            "traces",
            "xray_trace_recorded",
            prices,
            a["xray_paid_month_note"],
        )
    )
    lines.append(_paid_month_storage_line(payments.get("paid_month_items", {}), n, prices))
    total = sum(line["usd"] for line in lines if line["usd"] is not None)
    return {
        "lines": lines,
        "total_usd": round(total, 4),
        "usd_per_paid_month": float(f"{total / n:.3g}"),
        "aws_calls_per_paid_month": dict(sorted(calls.items())),
        "dynamodb_wru_per_paid_month": round(wru, 2),
        "dynamodb_rru_per_paid_month": round(rru, 2),
        "storage_added_per_paid_month": _storage_added(payments.get("paid_month_items", {}), prices),
    }


def _storage_added(items: dict[str, dict[str, int]], prices: dict[str, Any]) -> dict[str, Any]:
    """Bytes one paid month leaves in the table: kept for good, and kept for a while (TTL)."""
    overhead = prices["assumptions"]["dynamodb_item_storage_overhead_bytes"]
    kept = expiring = 0
    expiring_gb_months = 0.0
    for kind, found in items.items():
        size = found["bytes"] + found["count"] * overhead
        months = PAID_MONTH_RETENTION_MONTHS.get(kind)
        if months is None:
            kept += size
        else:
            expiring += size
            expiring_gb_months += size / 2**30 * months
    return {
        "kept_bytes": kept,
        "expiring_bytes": expiring,
        "expiring_gb_months": expiring_gb_months,
        "items": items,
    }


def _paid_month_storage_line(items: dict[str, dict[str, int]], n: int, prices: dict[str, Any]) -> dict[str, Any]:
    """Storage and PITR of the items the paid month leaves: the TTL'd ones for their whole life, the
    kept ones for their first month (each month kept adds as much again)."""
    added = _storage_added(items, prices)
    gb_months = added["kept_bytes"] / 2**30 + added["expiring_gb_months"]
    unit = prices["unit_prices"]["dynamodb_storage_gb_month"] + prices["unit_prices"]["dynamodb_pitr_gb_month"]
    return {
        "item": "DynamoDB storage and PITR of the items it leaves",
        "quantity": float(f"{gb_months * n:.6g}"),
        "unit": "GB-month",
        "unit_price_usd": unit,
        "usd": float(f"{gb_months * n * unit:.6g}"),
        "note": f"{added['kept_bytes']:,} bytes kept for good (order, open-order pointer, ledger entry; "
        f"the first month counted here, ${added['kept_bytes'] / 2**30 * unit:.3g} per participant for every "
        f"month after) and {added['expiring_bytes']:,} bytes until their TTL (payment code, received-event key, "
        "outbox event), with item overheads",
    }


# Lines per active participant per month; payments and reminders append theirs when they are built.
def _reminder_lines(results: dict[str, Any], prices: dict[str, Any]) -> list[dict[str, Any]]:
    if "reminders" not in results:
        return []
    from bench.reminders import cost_lines

    return cost_lines(results["reminders"], prices)


PER_PARTICIPANT_MONTH: list[Callable[[dict[str, Any], dict[str, Any]], list[dict[str, Any]]]] = [
    lambda results, prices: _storage_lines(results["operations"]["storage"], prices),
    _reminder_lines,
]
PLANNED_PER_PARTICIPANT_MONTH = [
    "reminders: the sender's work per SMS (profile read, payment order, send claim, pace counter, SNS request); "
    "the reminder SMS themselves are in the reminders section (assumed price, kept out of the AWS totals)",
    "the daily lapse-detection job",
]


def per_participant_month(results: dict[str, Any], prices: dict[str, Any]) -> dict[str, Any]:
    lines = [line for provider in PER_PARTICIPANT_MONTH for line in provider(results, prices)]
    return {
        "lines": lines,
        "total_usd": float(f"{sum(line['usd'] for line in lines if line['usd'] is not None):.6g}"),
        "planned": PLANNED_PER_PARTICIPANT_MONTH,
    }


def fixed_monthly(
    template: dict[str, Any], prices: dict[str, Any], key_of: dict[str, str] | None = None
) -> dict[str, Any]:
    resources = template["Resources"]
    counts = Counter(r["Type"] for r in resources.values())
    lines = []
    snapstart = snapstart_functions(template, key_of or {})
    if snapstart:
        lines.append(snapstart_cache_line(snapstart, prices))
    for kind, rule in prices["resource_monthly_at_rest"].items():
        if not counts.get(kind):
            continue
        price_key = rule["price"]
        count = counts[kind]
        if kind == "AWS::CloudWatch::Alarm":
            high = sum(
                1 for r in resources.values() if r["Type"] == kind and int(r["Properties"].get("Period", 60) or 60) < 60
            )
            if high:
                lines.append(
                    _line(
                        "CloudWatch alarms (high resolution)",
                        high,
                        "alarms",
                        "cloudwatch_alarm_high_resolution_month",
                        prices,
                    )
                )
                count -= high
        lines.append(_line(kind.removeprefix("AWS::"), count, "each", price_key, prices, rule.get("note", "")))
    sqs_mappings = sum(
        1
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
        and _is_queue(resources, r["Properties"].get("EventSourceArn"))
    )
    if sqs_mappings:
        a = prices["assumptions"]
        lines.append(
            _line(
                "SQS polling by event source mappings (idle)",
                sqs_mappings * a["sqs_idle_requests_per_mapping_month"],
                "requests",
                "sqs_request",
                prices,
                a["sqs_idle_note"],
            )
        )
    free = {
        kind: {"count": counts[kind], "why": why} for kind, why in prices["free_at_rest"].items() if counts.get(kind)
    }
    return {
        "lines": lines,
        "total_usd": round(sum(line["usd"] for line in lines if line["usd"] is not None), 4),
        "no_charge_at_rest": free,
        "resource_count": sum(counts.values()),
    }


def _is_queue(resources: dict[str, Any], arn: Any) -> bool:
    if isinstance(arn, dict) and "Fn::GetAtt" in arn:
        return resources.get(arn["Fn::GetAtt"][0], {}).get("Type") == "AWS::SQS::Queue"
    return isinstance(arn, str) and ":sqs:" in arn


def sqs_triggered_functions(template: dict[str, Any], key_of: dict[str, str]) -> set[str]:
    resources = template["Resources"]
    out = set()
    for r in resources.values():
        if r["Type"] != "AWS::Lambda::EventSourceMapping":
            continue
        props = r["Properties"]
        function = props.get("FunctionName")
        logical = function.get("Ref") if isinstance(function, dict) else None
        if logical in key_of and _is_queue(resources, props.get("EventSourceArn")):
            out.add(key_of[logical])
    return out


def model(
    results: dict[str, Any], template: dict[str, Any], memory: dict[str, int], key_of: dict[str, str]
) -> dict[str, Any]:
    prices = load_prices()
    snapstart = snapstart_functions(template, key_of)
    enrollments = per_1000_enrollments(
        results["operations"],
        results["overhead"],
        memory,
        sqs_triggered_functions(template, key_of),
        prices,
        snapstart=bool(snapstart),
    )
    sms_price = prices["unit_prices"].get("sms_segment_indonesia")
    return {
        "prices": {
            "region": prices["region"],
            "as_of": prices["as_of"],
            "verified": prices["verified"],
            "note": prices["region_note"],
            "file": "bench/prices.json",
            "price_notes": prices.get("price_notes", {}),
        },
        "per_1000_enrollments": enrollments,
        "per_active_participant_month": per_participant_month(results, prices),
        "per_1000_paid_months": per_1000_paid_months(
            results["operations"]["payments"],
            results["operations"]["authorizer"],
            results["overhead"],
            memory,
            prices,
            snapstart=bool(snapstart),
        )
        if "payments" in results["operations"]
        else None,
        "sms": {
            "segments_per_1000_enrollments": enrollments["sms_segments"],
            "price_per_segment_usd": sms_price,
            "usd_per_1000_enrollments": None
            if sms_price is None
            else round(enrollments["sms_segments"] * sms_price, 4),
            "note": prices["sms_note"],
        },
        "fixed_monthly_at_rest": fixed_monthly(template, prices, key_of),
        "per_deployment": per_deployment(results.get("cold_start", {}), snapstart, prices),
    }


def per_deployment(
    cold_start: dict[str, Any], snapstart: list[tuple[str, int, int]], prices: dict[str, Any]
) -> dict[str, Any]:
    """What publishing a new version of every SnapStart function costs once (a deployment that
    changes them all): each runs its init and priming before its snapshot is taken."""
    measured = cold_start.get("functions", {})
    inits = []
    for name, memory, _ in snapstart:
        figures = measured.get(name.split(".")[0])
        if figures is not None:
            inits.append((name, figures["import_ms"] + figures.get("priming_ms", 0.0), memory))
    lines = [publish_init_line(inits, prices)] if inits else []
    return {"lines": lines, "total_usd": float(f"{sum(line['usd'] or 0 for line in lines):.6g}")}

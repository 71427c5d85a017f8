"""Budgets, the one table `make bench` prints, and docs/BENCHMARKS.md."""

from __future__ import annotations

from typing import Any

from bench.coldstart import FIRST_TO_WARM_BUDGET

GROWTH_RATIO = 1.1
ENROLL_OVERHEAD_MS = 5.0
AUTHORIZER_OVERHEAD_MS = 1.0

# -- budgets ------------------------------------------------------------------------------------


def budgets(results: dict[str, Any]) -> list[dict[str, Any]]:
    cold = results["cold_start"]
    ops = results["operations"]
    growth = results["growth"]
    over = results["overhead"]
    layer = results["sizes"]["layer"]

    fns = cold["functions"]
    api = [k for k, f in fns.items() if f["api"]]
    over_ratio = [k for k in api if not fns[k]["met"]]
    xray = cold["xray_sdk_imported_by"]
    priming_calls = cold["priming_aws_calls_by"]
    without_hooks = cold["without_hooks"]
    enroll_tables = ops["enroll"]["warm"]["dynamodb_calls_by_table"]
    participants_calls = enroll_tables.get("participants", {})
    idempotency_calls = enroll_tables.get("idempotency", {})
    other_tables = {t: c for t, c in enroll_tables.items() if t not in ("participants", "idempotency")}
    one_transaction = participants_calls == {"DynamoDB.TransactWriteItems": 1}
    idempotency_only_writes = set(idempotency_calls) <= {"DynamoDB.PutItem", "DynamoDB.UpdateItem"}
    scans = results["scans_seen"]
    growth_over = {k: v for k, v in growth["ratios_large_to_small"].items() if v > GROWTH_RATIO}
    calls_stable = all(
        size[op]["calls_identical_across_samples"] for size in growth["sizes"] for op in ("enroll", "lookup")
    )
    reminder = reminder_budget(results)
    return [
        {
            "name": "first request after restore",
            "budget": f"API functions: the first request after a simulated SnapStart restore <= "
            f"{FIRST_TO_WARM_BUDGET}x a warm request",
            "met": not over_ratio,
            "detail": ", ".join(f"{k} {fns[k]['first_to_warm']:.2f}x" for k in api)
            + ("; all within" if not over_ratio else f"; over: {', '.join(over_ratio)}"),
        },
        {
            "name": "no X-Ray SDK",
            "budget": "no function imports `aws_xray_sdk` (after import, priming and its requests)",
            "met": not xray,
            "detail": (f"imported by {', '.join(xray)}" if xray else f"none of {len(fns)} functions")
            + ("" if cold["xray_sdk_installed"] else " (the SDK is not installed here: the check proves nothing)"),
        },
        {
            "name": "priming without AWS",
            "budget": "before-snapshot hooks (priming) make no AWS call",
            "met": not priming_calls,
            "detail": (
                "AWS calls in priming: " + "; ".join(f"{k}: {_calls(c)}" for k, c in priming_calls.items())
                if priming_calls
                else f"0 calls in {len(fns) - len(without_hooks)} functions' priming"
            )
            + (f"; no priming hooks: {', '.join(without_hooks)}" if without_hooks else ""),
        },
        {
            "name": "AWS work and growth",
            "budget": "enrollment: one DynamoDB transaction plus the idempotency record's writes; no Scan anywhere; "
            f"figures at 100,000 participants <= {GROWTH_RATIO}x those at 1,000",
            "met": one_transaction
            and idempotency_only_writes
            and not other_tables
            and not scans
            and not growth_over
            and calls_stable,
            "detail": "; ".join(
                [
                    f"participants table: {_calls(participants_calls) or 'none'}",
                    f"idempotency table: {_calls(idempotency_calls) or 'none'}",
                    f"Scans: {scans}",
                    "growth: all within"
                    if not growth_over
                    else "growth over: " + ", ".join(f"{k} {v}x" for k, v in growth_over.items()),
                ]
            ),
        },
        {
            "name": "handler overhead",
            "budget": f"handler overhead per warm request: median < {ENROLL_OVERHEAD_MS:g} ms enroll, "
            f"< {AUTHORIZER_OVERHEAD_MS:g} ms authorizer",
            "met": over["enroll"]["median_ms"] < ENROLL_OVERHEAD_MS
            and over["authorizer"]["median_ms"] < AUTHORIZER_OVERHEAD_MS,
            "detail": f"enroll {over['enroll']['median_ms']:.2f} ms, authorizer {over['authorizer']['median_ms']:.2f} ms",
        },
        {
            "name": "layer size",
            "budget": "layer < 25 MB unzipped, no boto3 or botocore in it",
            "met": layer["bytes"] < layer["budget_bytes"] and not layer["boto_packages"],
            "detail": f"{_mb(layer['bytes'])} unzipped"
            + (f"; contains {', '.join(layer['boto_packages'])}" if layer["boto_packages"] else "; no boto3/botocore"),
        },
        *([reminder] if reminder else []),
    ]


def reminder_budget(results: dict[str, Any]) -> dict[str, Any] | None:
    r = results.get("reminders")
    if not r:
        return None
    runs = r["runs"]
    small, large = runs[0], runs[-1]
    scans = sum(run["scans"] for run in runs)
    entries_one = all(run["index_entries_read_per_reminded"] == 1.0 for run in runs)
    grows = large["items_read_per_reminded"] > GROWTH_RATIO * small["items_read_per_reminded"]
    return {
        "name": "reminder run reads",
        "budget": "dues reminders: no Scan; one index entry read per participant reminded; items read per "
        f"participant reminded at {large['participants']:,} <= {GROWTH_RATIO}x that at {small['participants']:,}",
        "met": not scans and entries_one and not grows and all(run["reminders_queued"] == run["due"] for run in runs),
        "detail": f"Scans: {scans}; items read per reminded "
        + ", ".join(f"{run['items_read_per_reminded']:g} at {run['participants']:,}" for run in runs)
        + "; index entries per reminded "
        + ", ".join(f"{run['index_entries_read_per_reminded']:g}" for run in runs),
    }


def reminder_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    r = results.get("reminders")
    if not r:
        return []
    out: list[tuple[str, str, str, str, str]] = []
    section = f"7 dues reminders ({r['due_share']:.0%} unpaid, run {r['run_at']})"
    for run in r["runs"]:
        out.append(
            (
                section,
                f"run over {run['participants']:,} participants",
                f"{run['reminders_queued']:,} reminders queued of {run['due']:,} due; {run['items_read']:,} items read "
                f"= {run['items_read_per_reminded']:g} per reminded ({run['index_entries_read_per_reminded']:g} index "
                f"entries + {run['fixed_items_read']} fixed); {run['dynamodb_rru']:g} RRU, {run['dynamodb_wru']:g} WRU; "
                f"Scans {run['scans']}; wall {run['wall_seconds']:.2f} s on moto "
                f"({run['handler_seconds_outside_aws'] * 1000:,.0f} ms outside AWS calls)",
                "no Scan; 1 index entry per reminded",
                _status(run["scans"] == 0 and run["index_entries_read_per_reminded"] == 1.0),
            )
        )
    plan = r["plan"]
    for row in plan["rates"]:
        out.append(
            (
                section,
                f"SMS plan: {plan['participants']:,} participants, {plan['unpaid_share']:.3g} unpaid, "
                f"{row['rate_per_second']} SMS/s",
                f"{row['days_needed']} day(s) at {row['per_day']:,}/day ({plan['window']}); smallest rate for "
                f"{plan['days_before_due']} days {row['rate_to_fit_plan_days']}/s, for 1 day {row['rate_to_fit_1_day']}/s "
                f"(the {plan['run_at']} run's day: {row['run_per_day']:,}/day, {row['run_days_needed']} day(s), "
                f"{row['run_rate_to_fit_plan_days']}/s and {row['run_rate_to_fit_1_day']}/s)",
                f"within {plan['days_before_due']} days",
                _status(row["fits"]),
            )
        )
    ppm = r["per_participant_month"]
    sms = r["sms"]
    out.append(
        (
            section,
            "per active participant-month",
            f"AWS {_usd(ppm['aws_usd'])} + SMS {sms['segments_per_participant_month']:g} segments x "
            f"Rp{sms['price_per_segment_idr']} = Rp{sms['idr_per_participant_month']:g} ({_usd(sms['usd_per_participant_month'])}, "
            f"assumed price) = {_usd(ppm['total_usd'])}",
            "",
            "",
        )
    )
    return out


# -- formatting helpers -------------------------------------------------------------------------


def _mb(size: float) -> str:
    return f"{size / 1e6:.2f} MB"


def _kb(size: float) -> str:
    return f"{size / 1e3:.1f} KB"


def _calls(counts: dict[str, int]) -> str:
    """{'DynamoDB.PutItem': 1, 'KMS.GenerateDataKey': 1} -> 'DynamoDB PutItem; KMS GenerateDataKey'."""
    grouped: dict[str, list[str]] = {}
    for name, count in sorted(counts.items()):
        service, _, operation = name.partition(".")
        grouped.setdefault(service, []).append(operation + (f" x{count:g}" if count != 1 else ""))
    return "; ".join(f"{service} {', '.join(ops)}" for service, ops in grouped.items())


def _usd(value: float | None) -> str:
    if value is None:
        return "not priced"
    if value == 0:
        return "$0"
    if value < 0.01:
        return f"${value:.3g}"
    return f"${value:,.4f}"


def _status(met: bool) -> str:
    return "met" if met else "NOT MET"


def _diff(first: dict[str, int], warm: dict[str, int]) -> str:
    extra = {k: first.get(k, 0) - warm.get(k, 0) for k in first if first.get(k, 0) != warm.get(k, 0)}
    return _calls(extra) if extra else "nothing"


# -- the table ----------------------------------------------------------------------------------


def rows(results: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(section, what, measured, budget or minimum, status)."""
    out: list[tuple[str, str, str, str, str]] = []
    cold = results["cold_start"]
    section = f"1 cold start under SnapStart (median of {cold['runs']})"
    out.append((section, "import boto3 alone", f"{cold['boto3_import_ms']:,.0f} ms", "reference", ""))
    for name, f in cold["functions"].items():
        calls = f["priming_aws_call_count"]
        priming = (
            f"priming {f['priming_ms']:,.0f} ms, {calls} AWS call{'s' if calls != 1 else ''}"
            if f["primes"]
            else "no priming hooks (0 ms)"
        )
        out.append(
            (
                section,
                f"{name}: before the snapshot",
                f"import {f['import_ms']:,.0f} ms; {priming}",
                "priming: no AWS call",
                "" if not f["primes"] else _status(calls == 0),
            )
        )
        extra = _diff(f["first_request_aws_calls"], f["warm_request_aws_calls"])
        imported = f["first_request_imported_modules"]
        out.append(
            (
                section,
                f"{name}: first request after restore",
                f"{f['first_request_ms']:,.1f} ms vs warm {f['warm_request_ms']:,.1f} ms = {f['first_to_warm']:.2f}x"
                f" ({str(f['first_request_outcome'])[:40]}); adds {extra}; imports {imported} module{'s' if imported != 1 else ''}",
                f"<= {f['budget']}x warm" if f["api"] else "no budget (not an API function)",
                _status(f["met"]) if f["api"] else "",
            )
        )
    xray = cold["xray_sdk_imported_by"]
    out.append(
        (
            section,
            "aws_xray_sdk imported by",
            ", ".join(xray) or "no function",
            "no function",
            _status(not xray),
        )
    )

    ops = results["operations"]
    section = "2 AWS work per request"
    for name in ("enroll", "quote", "lookup", "get", "authorizer"):
        e = ops[name]
        out.append(_op_row(section, e["label"], e))
    for key, e in ops["downstream"]["functions"].items():
        out.append(_op_row(section, f"after enrollment: {key}", e))
    payments = ops.get("payments", {})
    for e in payments.values():
        if isinstance(e, dict) and "warm_verdict" in e:
            out.append(_op_row(section, e["label"], e))
    for key, e in payments.get("downstream", {}).get("functions", {}).items():
        out.append(_op_row(section, f"after a settlement: {key}", e))
    out.append(
        (section, "Scans issued by any handler", str(results["scans_seen"]), "0", _status(results["scans_seen"] == 0))
    )

    over = results["overhead"]
    section = "3 handler overhead (warm, in-memory AWS)"
    for name, limit_ms in (("enroll", ENROLL_OVERHEAD_MS), ("authorizer", AUTHORIZER_OVERHEAD_MS)):
        o = over[name]
        out.append(
            (
                section,
                f"{name} x {o['requests']:,} (best of {len(o.get('passes', [o]))} passes)",
                f"median {o['median_ms']:.2f} ms, p99 {o['p99_ms']:.2f} ms "
                f"(CPU {o['cpu_median_ms']:.2f}; botocore {o['botocore_client_median_ms']:.2f})",
                f"median < {limit_ms:g} ms",
                _status(o["median_ms"] < limit_ms),
            )
        )

    growth = results["growth"]
    small, large = growth["sizes"]
    section = f"4 growth {small['participants']:,} -> {large['participants']:,} participants"
    for op in ("enroll", "lookup"):
        a, b = small[op], large[op]
        ratios = {k.split(".", 1)[1]: v for k, v in growth["ratios_large_to_small"].items() if k.startswith(op + ".")}
        worst = max(ratios.values())
        out.append(
            (
                section,
                "enrollment" if op == "enroll" else "lookup by NIK",
                f"calls {a['call_count']}->{b['call_count']}, RRU {a['dynamodb_rru']:g}->{b['dynamodb_rru']:g}, "
                f"WRU {a['dynamodb_wru']:g}->{b['dynamodb_wru']:g}, items read {a['items_read']:g}->{b['items_read']:g}, "
                f"handler CPU {a['handler_cpu_ms']:.2f}->{b['handler_cpu_ms']:.2f} ms (worst {worst:.2f}x)",
                f"each <= {GROWTH_RATIO}x",
                _status(
                    worst <= GROWTH_RATIO
                    and b["calls_identical_across_samples"]
                    and a["calls_identical_across_samples"]
                ),
            )
        )

    cost = results["cost"]
    section = f"5 cost ({cost['prices']['region']} list prices of {cost['prices']['as_of']})"
    per = cost["per_1000_enrollments"]
    for line in per["lines"]:
        out.append(
            (
                section,
                f"per 1,000 enrollments: {line['item']}",
                f"{line['quantity']:,.6g} {line['unit']} = {_usd(line['usd'])}",
                "",
                "",
            )
        )
    out.append((section, "per 1,000 enrollments: TOTAL", _usd(per["total_usd"]), "", ""))
    sms = cost["sms"]
    out.append(
        (
            section,
            "SMS per 1,000 enrollments (separate)",
            f"{sms['segments_per_1000_enrollments']:,} segments = {_usd(sms['usd_per_1000_enrollments'])}",
            "",
            "",
        )
    )
    ppm = cost["per_active_participant_month"]
    for line in ppm["lines"]:
        out.append((section, f"per active participant-month: {line['item']}", _usd(line["usd"]), "", ""))
    paid = cost.get("per_1000_paid_months")
    if paid:
        for line in paid["lines"]:
            out.append(
                (
                    section,
                    f"per 1,000 paid participant-months: {line['item']}",
                    f"{line['quantity']:,.6g} {line['unit']} = {_usd(line['usd'])}",
                    "",
                    "",
                )
            )
        out.append(
            (
                section,
                "per 1,000 paid participant-months: TOTAL",
                f"{_usd(paid['total_usd'])} ({_usd(paid['usd_per_paid_month'])} per paid participant-month)",
                "",
                "",
            )
        )
    fixed = cost["fixed_monthly_at_rest"]
    for line in fixed["lines"]:
        out.append(
            (
                section,
                f"fixed monthly at rest: {line['item']}",
                f"{line['quantity']:,.6g}{'' if line['unit'] == 'each' else ' ' + line['unit']} = {_usd(line['usd'])}",
                "",
                "",
            )
        )
    out.append((section, "fixed monthly at rest: TOTAL", _usd(fixed["total_usd"]), "", ""))
    for line in cost.get("per_deployment", {}).get("lines", []):
        out.append(
            (
                section,
                f"per deployment: {line['item']}",
                f"{line['quantity']:,.6g} {line['unit']} = {_usd(line['usd'])}",
                "",
                "",
            )
        )

    sizes = results["sizes"]
    section = "6 deployment size (unzipped)"
    layer = sizes["layer"]
    out.append(
        (
            section,
            "layer (build/layer)",
            f"{_mb(layer['bytes'])} ({_mb(layer['zipped_bytes'])} zipped), "
            + ("no boto3/botocore" if not layer["boto_packages"] else "contains " + ", ".join(layer["boto_packages"])),
            "< 25 MB, no boto3/botocore",
            _status(layer["bytes"] < layer["budget_bytes"] and not layer["boto_packages"]),
        )
    )
    for name, f in sizes["functions"].items():
        out.append((section, f"functions/{name}", _kb(f["bytes"]), "", ""))

    out.extend(reminder_rows(results))

    for b in results["budgets"]:
        out.append(("budgets", b["name"], b["detail"], b["budget"], _status(b["met"])))
    return out


def _op_row(section: str, label: str, e: dict[str, Any]) -> tuple[str, str, str, str, str]:
    warm, first = e["warm"], e["first"]
    measured = (
        f"{_calls(warm['calls']) or 'no AWS calls'}; {warm['dynamodb_rru']:g} RRU, {warm['dynamodb_wru']:g} WRU"
        + (f" ({warm['dynamodb_index_wru']:g} index)" if warm["dynamodb_index_wru"] else "")
        + (f", {warm['sms_segments']} SMS segment(s)" if warm.get("sms_segments") else "")
        + f"; 1st request adds {_diff(first['calls'], warm['calls'])}"
    )
    minimum = e["minimum"]
    if minimum is None:
        return (section, label, measured, "no minimum recorded", "")
    reference = f"min {_calls(minimum['calls']) or 'no AWS calls'}; {minimum['rru']:g} RRU, {minimum['wru']:g} WRU"
    verdict = e["warm_verdict"]
    return (section, label, measured, reference, "at minimum" if verdict == "at minimum" else "ABOVE MIN")


def table(results: dict[str, Any]) -> str:
    header = ("section", "what", "measured", "budget / minimum", "status")
    body = rows(results)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(5)]
    widths[2] = min(widths[2], 110)
    lines = [_fmt(header, widths), _fmt(tuple("-" * w for w in widths), widths)]
    previous = None
    for row in body:
        section = row[0] if row[0] != previous else ""
        previous = row[0]
        lines.append(_fmt((section, *row[1:]), widths))
    return "\n".join(lines)


def _fmt(row: tuple[str, ...], widths: list[int]) -> str:
    return " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()


def markdown_table(results: dict[str, Any]) -> str:
    out = ["| section | what | measured | budget / minimum | status |", "|---|---|---|---|---|"]
    previous = None
    for row in rows(results):
        section = row[0] if row[0] != previous else ""
        previous = row[0]
        cells = [c.replace("|", "\\|") for c in (section, *row[1:])]
        if cells[4] in ("NOT MET", "ABOVE MIN"):
            cells[4] = f"**{cells[4]}**"
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)

"""Runs every section once, in one process, on one machine; prints the table; writes
bench/results.json and (unless --no-docs) docs/BENCHMARKS.md."""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import bulk_orders, coldstart, cost, growth, operations, overhead, reminders, report, sizes
from bench.common import DOC, FUNCTION_HANDLERS, RESULTS, StdoutSink, progress
from bench.stack import PARTNER_KEY, Stack, start, stop


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as fh:
            model = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "")
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": model or platform.processor() or "unknown",
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "lambda_runtime_note": "the functions run on Lambda's python3.14 arm64 runtime; these figures come "
        "from this machine's interpreter",
    }


def _load() -> float | None:
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def _fresh_notification(event: dict[str, Any]) -> dict[str, Any]:
    """The notifier's last queue event with new message and event ids: the same request, not a
    redelivery (the notifier sends once per event id and would skip the SMS the second time)."""
    fresh = copy.deepcopy(event)
    for record in fresh.get("Records", []):
        record["messageId"] = str(uuid.uuid4())
        body = json.loads(record["body"])
        if isinstance(body.get("detail"), dict) and "event_id" in body["detail"]:
            body["id"] = str(uuid.uuid4())
            body["detail"]["event_id"] = str(uuid.uuid4())
            record["body"] = json.dumps(body)
    return fresh


def _cold_start_inputs(stack: Stack) -> tuple[dict[str, dict[str, str]], dict[str, Any]]:
    base = dict(os.environ)  # local AWS endpoint, credentials, region and the stack's variables
    envs: dict[str, dict[str, str]] = {}
    for folder in FUNCTION_HANDLERS:
        key = folder if FUNCTION_HANDLERS[folder] == "handler" else f"{folder}.{FUNCTION_HANDLERS[folder]}"
        spec = stack.spec(key)
        service = stack.runtime.cloud.resolve(spec.environment.get("POWERTOOLS_SERVICE_NAME", "perisai"))
        envs[folder] = {**base, "POWERTOOLS_SERVICE_NAME": str(service)}
    method_arn = stack.events["authorizer"]["methodArn"]
    # A fresh event per call: the first request after the restore, then the warm ones.
    factories: dict[str, Any] = {
        "enroll": lambda: stack.enroll_event(*stack.enroll_niks.take()),
        "authorizer": lambda: {"type": "TOKEN", "authorizationToken": f"Bearer {PARTNER_KEY}", "methodArn": method_arn},
        "payment_callback": lambda: stack.route_events[("POST", "/v1/payments/midtrans")],
        "claims": lambda: stack.route_events[("POST", "/v1/claims")],
        "reminders": lambda: {"job": "dues-reminders", "scheduled_at": datetime.now(UTC).isoformat()},
        "outbox_relay": lambda: stack.events["outbox_relay"],
    }
    if "notifier" in stack.events:
        factories["notifier"] = lambda: _fresh_notification(stack.events["notifier"])
    return envs, factories


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/BENCHMARKS.md")
    parser.add_argument(
        "--only",
        choices=["reminders", "bulk_orders"],
        help="measure only this section (synthesizes the stack for its table), merged into bench/results.json",
    )
    args = parser.parse_args(argv)
    if args.only:
        return _only(args.only, not args.no_docs)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "machine": machine(),
        "load_average_1min": {"start": _load()},
    }
    with StdoutSink() as sink:  # the handlers' logs and metrics go to a file, the table to the terminal
        stack = start()
        try:
            results["operations"] = operations.measure(stack, sink)
            envs, factories = _cold_start_inputs(stack)
            results["cold_start"] = coldstart.measure(envs, factories)
            results["overhead"] = overhead.measure(stack, sink)
            results["growth"] = growth.measure(stack, results["operations"]["_context"]["participant_id"])
            results["scans_seen"] = stack.meter.seen.get("DynamoDB.Scan", 0)
            results["aws_calls_seen"] = dict(sorted(stack.meter.seen.items()))
            memory = {key: stack.memory(key) for key in stack.key_of.values()}
            template, key_of = stack.template, dict(stack.key_of)
        finally:
            stop(stack)
    progress("reminders")
    results["reminders"] = reminders.measure(
        reminders.participants_table(template), memory_mb=reminders.reminder_pages_memory(template)
    )
    results["bulk_orders"] = bulk_orders.measure(reminders.participants_table(template))
    progress("deployment sizes")
    results["sizes"] = sizes.measure()
    results["function_memory_mb"] = memory
    results["cost"] = cost.model(results, template, memory, key_of)
    results["budgets"] = report.budgets(results)
    results["load_average_1min"]["end"] = _load()
    results["bench_seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.write_text(json.dumps(results, indent=1, default=str) + "\n")
    print(report.table(results))
    print(bulk_orders.text(results["bulk_orders"]))
    print(
        f"\n{sum(b['met'] for b in results['budgets'])} of {len(results['budgets'])} budgets met; "
        f"figures in {RESULTS.relative_to(RESULTS.parents[1])}; {results['bench_seconds']:.0f} s"
    )
    if not args.no_docs:
        from bench import docs

        DOC.write_text(bulk_orders.with_section(docs.render(results), results))
        print(f"wrote {DOC.relative_to(DOC.parents[1])}")
    return 0


def _only(section: str, docs: bool) -> int:
    """One section re-measured; every other figure stays as the last full run left it."""
    from bench.stack import _tables, function_key
    from local_runtime.template import load
    from perisai_infra.synth import synthesize

    started = time.perf_counter()
    results: dict[str, Any] = json.loads(RESULTS.read_text())
    progress("synthesizing the stack (cdk-nag included)")
    _, template = synthesize(Path(tempfile.mkdtemp(prefix="bench-cdk-")))
    assert _tables(template)
    if section == "reminders":
        results["reminders"] = reminders.measure(
            reminders.participants_table(template), memory_mb=reminders.reminder_pages_memory(template)
        )
    if section == "bulk_orders":
        results["bulk_orders"] = bulk_orders.measure(reminders.participants_table(template))
    key_of = {k: function_key(f.source, f.handler) for k, f in load(template).functions.items()}
    results["cost"] = cost.model(results, template, results["function_memory_mb"], key_of)
    results["budgets"] = report.budgets(results)
    results.setdefault("partial_runs", []).append(
        {
            "section": section,
            "at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "seconds": round(time.perf_counter() - started, 1),
            "command": f"python -m bench --only {section}",
        }
    )
    RESULTS.write_text(json.dumps(results, indent=1, default=str) + "\n")
    print(report.table(results))
    if "bulk_orders" in results:
        print(bulk_orders.text(results["bulk_orders"]))
    if docs:
        from bench import docs as docs_module

        DOC.write_text(bulk_orders.with_section(docs_module.render(results), results))
        print(f"wrote {DOC.relative_to(DOC.parents[1])}")
    return 0

"""Handler overhead per warm request, without AWS time: the real handler (Powertools decorators,
validation, our code, botocore building/signing/parsing requests) against the in-memory AWS of
``bench.fakeaws``, whose answers were recorded from moto just before.

Each handler runs ``PASSES`` passes of N requests; the figures are those of the pass with the
lowest median. On a shared machine other processes only ever add time, so the best pass is the
closest to the handler's own cost; every pass is kept in the results, with the load average."""

from __future__ import annotations

import gc
import os
import time
from typing import Any

from bench.common import StdoutSink, median, percentile, progress
from bench.stack import PARTNER_KEY, Stack

ENROLL_REQUESTS = 1000
AUTHORIZER_REQUESTS = 2000
PASSES = 4
WARMUP = 25


def _pass(stack: Stack, sink: StdoutSink, key: str, events: list[dict[str, Any]], check: Any) -> dict[str, Any]:
    handler = stack.handler(key)
    meter = stack.meter
    contexts = [stack.context(key) for _ in events]
    durations: list[float] = []
    cpu: list[float] = []
    client_seconds: list[float] = []
    calls_per_request: list[int] = []
    with stack.fake.replaying(), meter.function(key):
        for event, context in zip(events[:WARMUP], contexts, strict=False):
            check(handler(event, context))
        measured = events[WARMUP:]
        gc.collect()
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        with sink.measure() as logged:
            for event, context in zip(measured, contexts, strict=False):
                with meter.recording() as tally:
                    started, started_cpu = time.perf_counter(), time.thread_time()
                    result = handler(event, context)
                    ended, ended_cpu = time.perf_counter(), time.thread_time()
                # Less the meter's own bookkeeping around each call (a few microseconds).
                durations.append(ended - started - tally.meter_seconds)
                cpu.append(ended_cpu - started_cpu - tally.meter_cpu)
                check(result)
                client_seconds.append(tally.aws_seconds)
                calls_per_request.append(len(tally.calls))
    ms = [d * 1000 for d in durations]
    return {
        "requests": len(ms),
        "median_ms": round(median(ms), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "mean_ms": round(sum(ms) / len(ms), 3),
        "cpu_median_ms": round(median([c * 1000 for c in cpu]), 3),
        "cpu_p99_ms": round(percentile([c * 1000 for c in cpu], 99), 3),
        "botocore_client_median_ms": round(median([s * 1000 for s in client_seconds]), 3),
        "aws_calls_per_request": round(sum(calls_per_request) / len(calls_per_request), 2),
        "log_bytes_per_request": round(logged[0] / len(ms), 1),
        "load_average_1min": None if load is None else round(load, 2),
    }


def _measure(stack: Stack, sink: StdoutSink, key: str, make_events: Any, count: int, check: Any) -> dict[str, Any]:
    handler = stack.handler(key)
    meter = stack.meter
    # Record real answers (moto) for this handler's calls; the passes replay them.
    with stack.fake.recording(), meter.function(key):
        for event in make_events(3):
            check(handler(event, stack.context(key)))
    saved = meter.inject_capacity, meter.compute_units
    meter.inject_capacity = meter.compute_units = False  # the requests exactly as production sends them
    try:
        passes = []
        for number in range(PASSES):
            progress(f"handler overhead: {key} pass {number + 1}/{PASSES} x {count:,}")
            passes.append(_pass(stack, sink, key, make_events(count + WARMUP), check))
    finally:
        meter.inject_capacity, meter.compute_units = saved
    best = min(passes, key=lambda p: p["median_ms"])
    return {**best, "passes": passes}


def measure(stack: Stack, sink: StdoutSink) -> dict[str, Any]:
    out: dict[str, Any] = {
        "method": "wall time of handler(event, context) per warm request, AWS answered in memory "
        "(recorded moto answers replayed at the HTTP layer): includes Powertools, validation, our code "
        "and botocore's request building, signing and parsing; excludes network and service time; "
        f"best of {PASSES} passes by median",
    }

    def created(result: dict[str, Any]) -> None:
        assert result["statusCode"] == 201, result

    def enroll_events(n: int) -> list[dict[str, Any]]:
        return [stack.enroll_event(*stack.enroll_niks.take()) for _ in range(n)]

    out["enroll"] = _measure(stack, sink, "enroll", enroll_events, ENROLL_REQUESTS, created)

    method_arn = stack.events["authorizer"]["methodArn"]
    token = {"type": "TOKEN", "authorizationToken": f"Bearer {PARTNER_KEY}", "methodArn": method_arn}

    def allowed(result: dict[str, Any]) -> None:
        assert result["policyDocument"]["Statement"][0]["Effect"] == "Allow", result

    out["authorizer"] = _measure(
        stack, sink, "authorizer", lambda n: [dict(token) for _ in range(n)], AUTHORIZER_REQUESTS, allowed
    )
    return out

"""The bench's SnapStart arithmetic: the cost lines (cache, restores, init at publication) with
values worked out by hand, and how the cold-start runs become the first-after-restore ratio."""

from __future__ import annotations

from typing import Any

import pytest

from bench import cost
from bench.coldstart import summarize

PRICES: dict[str, Any] = {
    "unit_prices": {
        "lambda_snapstart_cache_gb_second": 0.0000015046,
        "lambda_snapstart_restore_gb": 0.0001397998,
        "lambda_arm64_gb_second": 0.0000133334,
    },
    "assumptions": {
        "lambda_full_vcpu_mb": 1769,
        "snapstart_restores_per_invocation": 0.05,
        "snapstart_restore_note": "",
        "snapstart_cache_note": "",
        "snapstart_publish_note": "",
    },
}


def _function(runtime: str, memory: int, snap_start: bool) -> dict[str, Any]:
    props: dict[str, Any] = {"Runtime": runtime, "MemorySize": memory}
    if snap_start:
        props["SnapStart"] = {"ApplyOn": "PublishedVersions"}
    return {"Type": "AWS::Lambda::Function", "Properties": props}


def _version(function: str) -> dict[str, Any]:
    return {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": function}}}


def test_snapstart_functions_are_the_python_ones_with_snapstart_and_their_versions() -> None:
    template = {
        "Resources": {
            "Enroll": _function("python3.14", 512, True),
            "EnrollVersion": _version("Enroll"),
            "Java": _function("java21", 1024, True),  # Java's SnapStart is free
            "JavaVersion": _version("Java"),
            "Plain": _function("python3.14", 256, False),
            "Unpublished": _function("python3.14", 256, True),  # SnapStart on, no version yet
        }
    }
    found = cost.snapstart_functions(template, {"Enroll": "enroll"})
    assert found == [("Unpublished", 256, 0), ("enroll", 512, 1)]


def test_cache_is_memory_in_gb_for_every_second_of_a_730_hour_month() -> None:
    line = cost.snapstart_cache_line([("enroll", 512, 1), ("authorizer", 256, 1)], PRICES)
    # 0.5 GB + 0.25 GB = 0.75 GB x 2,628,000 s = 1,971,000 GB-s; x $0.0000015046 = $2.9655666
    assert line["quantity"] == 1_971_000
    assert line["usd"] == pytest.approx(2.96557, abs=1e-5)
    assert cost.snapstart_cache_line([("enroll", 512, 2)], PRICES)["quantity"] == 2 * 0.5 * 2_628_000


def test_restores_are_the_assumed_share_of_invocations_times_memory() -> None:
    line = cost.snapstart_restore_line([("enroll", 1000, 512), ("authorizer", 1000, 256)], PRICES)
    # (1,000 x 0.5 GB + 1,000 x 0.25 GB) x 0.05 = 37.5 GB; x $0.0001397998 = $0.00524249
    assert line["quantity"] == 37.5
    assert line["usd"] == pytest.approx(0.00524249, abs=1e-8)
    assert "$0.105 if every one did" in line["note"]  # 750 GB x $0.0001397998


def test_init_at_publication_is_scaled_to_the_cpu_share_and_billed_as_duration() -> None:
    line = cost.publish_init_line([("enroll", 1000.0, 512), ("big", 1000.0, 2048)], PRICES)
    # enroll: 1 s x 1769/512 = 3.455078125 s x 0.5 GB = 1.7275390625 GB-s; big: 1 s (no scaling
    # above one vCPU) x 2 GB = 2 GB-s; together 3.7275390625 GB-s x $0.0000133334 = $4.97008e-05
    assert line["quantity"] == pytest.approx(3.72754, abs=1e-5)
    assert line["usd"] == pytest.approx(4.97008e-05, rel=1e-5)


def test_the_recorded_snapstart_prices_say_where_they_come_from_and_whether_confirmed() -> None:
    prices = cost.load_prices()
    for key in ("lambda_snapstart_cache_gb_second", "lambda_snapstart_restore_gb"):
        assert prices["unit_prices"][key] > 0
        note = prices["price_notes"][key]
        assert note["as_of"] and note["source"] and isinstance(note["confirmed"], bool)


def _run(first: float, warm: list[float], priming_ms: float = 5.0, hooks: int = 1) -> dict[str, Any]:
    request = {"outcome": 200, "calls": {}}
    return {
        "import_ms": 100.0,
        "modules": 500,
        "hooks": {"before_snapshot": hooks, "after_restore": 1},
        "priming": {"ms": priming_ms, "outcome": "ok", "calls": {}},
        "after_restore": {"ms": 0.01, "outcome": "ok", "calls": {}},
        "requests": [{**request, "ms": first}, *({**request, "ms": ms} for ms in warm)],
        "imported_by_first_request": [],
        "loaded_at_import": [],
        "loaded_after_priming": [],
        "loaded_at_end": [],
        "xray_sdk_modules": [],
    }


def test_first_after_restore_against_the_median_warm_request() -> None:
    # first: median of 12, 14, 30 = 14; warm: per run 10, 11, 9 (medians) -> 10; 14 / 10 = 1.4
    runs = [_run(12, [9, 10, 50]), _run(14, [11, 11, 12]), _run(30, [8, 9, 9])]
    figures = summarize("enroll", runs)
    assert (figures["first_request_ms"], figures["warm_request_ms"], figures["first_to_warm"]) == (14, 10, 1.4)
    assert figures["met"] is True
    over = summarize("authorizer", [_run(16, [10, 10])])
    assert (over["first_to_warm"], over["met"]) == (1.6, False)


def test_functions_outside_the_api_have_no_budget_and_no_hooks_means_no_priming() -> None:
    figures = summarize("notifier", [_run(30, [10, 10], priming_ms=0.02, hooks=0)])
    assert figures["met"] is None and figures["budget"] is None
    assert figures["primes"] is False and figures["priming_ms"] == 0.0

"""Cold start under SnapStart, per function, in fresh interpreters: the import of the handler
module and its before-snapshot hooks (priming), both paid when a version is published (the
snapshot is taken after them); then the after-restore hooks and the first request after a
simulated restore, beside warm requests (the same request again) in the same interpreter.

The simulated restore: one fresh ``python`` process per run imports the handler, takes the hooks
the module registered through ``perisai.snapstart`` (the stand-in records them off Lambda), runs
the before-snapshot hooks (reverse registration order, as Lambda does), then the after-restore
hooks, then times one representative request against the bench's moto, then the same request
again several times. What it does not capture: the restore itself (Firecracker loading the
snapshot's memory, lazily, page by page, from Lambda's cache), which a real first request after
a restore also waits for and which only a deployed function shows (``Restore Duration`` in its
REPORT line). Between the hooks nothing is dropped here: memory stays resident and CPU caches
warm, so the first request here is a lower bound of the one on Lambda.

Each run is a new ``python`` process with the function folder as its working directory and first
path entry (as ``/var/task`` on Lambda) and the layer's source (``layers/common``) on PYTHONPATH;
third-party packages come from the venv's site-packages. ``import boto3`` alone is timed the same
way, for scale.

AWS calls: the bench's AWS meter (``bench.awsmeter.AwsMeter``) is installed in the child as soon
as botocore's client module is imported (a one-shot import hook, so priming's time still includes
importing botocore when priming is what imports it), and counts every call made during priming,
the after-restore hooks and each request. Priming must make none. Time the meter spends on its
own bookkeeping is subtracted.

Bytecode: every module is compiled once into a private cache (PYTHONPYCACHEPREFIX) by an untimed
warm-up run, so all targets are compared with the same warm bytecode cache.

Environment: the variables Lambda's runtime sets in a SnapStart execution environment are set in
the child too (``LAMBDA_TASK_ROOT``, ``AWS_LAMBDA_FUNCTION_NAME``, ``AWS_LAMBDA_INITIALIZATION_TYPE``
= ``snap-start``, a published version, the active-tracing header, ...; not the log group and
stream names, which SnapStart functions do not get), because libraries take their Lambda code
path on them.

Rounds interleave the targets (boto3, enroll, authorizer, ...) so drift on a busy machine hits all
of them alike.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.common import (
    API_FUNCTIONS,
    FUNCTION_HANDLERS,
    FUNCTIONS,
    LAYER_BUILD,
    LAYER_SOURCE,
    ROOT,
    median,
    progress,
)

RUNS = 5
WARM_REQUESTS = 5  # after the first request, in the same interpreter; their median is "warm"
FIRST_TO_WARM_BUDGET = 1.5  # API functions: first request after a restore <= 1.5x a warm one

# Packages worth naming when they are (or are not) in the interpreter.
WATCHED = (
    "boto3",
    "botocore",
    "aws_xray_sdk",
    "aws_lambda_powertools.tracing",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.event_handler.openapi.models",
    "pydantic",
    "phonenumbers",
    "stdnum",
    "aws_lambda_powertools.utilities.idempotency",
    "aws_lambda_powertools.utilities.parameters",
    "aws_lambda_powertools.utilities.data_masking",
    "aws_encryption_sdk",
    "cryptography",
)
XRAY_SDK = "aws_xray_sdk"

CHILD = r"""
import importlib, json, os, sys, time, uuid
with open(os.environ["BENCH_SPEC"]) as fh:
    spec = json.load(fh)
watched = spec["watched"]
started = time.perf_counter()
module = importlib.import_module(spec["module"])
out = {"import_ms": (time.perf_counter() - started) * 1000, "modules": len(sys.modules)}
out["loaded_at_import"] = [w for w in watched if w in sys.modules]
if spec.get("attribute"):
    import importlib.abc, importlib.util
    sys.path.append(spec["bench_root"])  # appended: it shadows nothing the handler imports
    from bench.awsmeter import AwsMeter

    meter = AwsMeter({}, None)
    meter.inject_capacity = False  # the requests exactly as the function sends them

    class InstallMeterAfterBotocore(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name != "botocore.client":
                return None
            sys.meta_path.remove(self)
            found = importlib.util.find_spec(name)
            run = found.loader.exec_module

            def exec_module(module):
                run(module)
                meter.install()

            found.loader.exec_module = exec_module
            return found

    if "botocore.client" in sys.modules:
        meter.install()
    else:
        sys.meta_path.insert(0, InstallMeterAfterBotocore())
    from perisai import snapstart

    hooks = snapstart.take_hooks()
    out["hooks"] = {"before_snapshot": len(hooks.before_snapshot), "after_restore": len(hooks.after_restore)}

    class Context:
        function_name = spec["function_name"]
        function_version = "1"
        memory_limit_in_mb = 512
        invoked_function_arn = "arn:aws:lambda:ap-southeast-3:123456789012:function:" + spec["function_name"] + ":live"
        log_group_name = "/aws/lambda/" + spec["function_name"]
        log_stream_name = "bench"

        def __init__(self):
            self.aws_request_id = str(uuid.uuid4())

        def get_remaining_time_in_millis(self):
            return 10000

    def phase(run):
        with meter.function(spec["function"]), meter.recording() as tally:
            error = result = None
            started, started_cpu = time.perf_counter(), time.thread_time()
            try:
                result = run()
            except Exception as exc:
                error = type(exc).__name__ + ": " + str(exc)[:160]
            elapsed = time.perf_counter() - started - tally.meter_seconds
            cpu = time.thread_time() - started_cpu - tally.meter_cpu
        outcome = error or (result.get("statusCode", "ok") if isinstance(result, dict) else "ok")
        return {"ms": elapsed * 1000, "cpu_ms": cpu * 1000, "outcome": outcome, "calls": tally.counts()}

    out["priming"] = phase(hooks.run_before_snapshot)
    out["loaded_after_priming"] = [w for w in watched if w in sys.modules]
    # (Lambda takes the snapshot here; a restored environment resumes from it.)
    out["after_restore"] = phase(hooks.run_after_restore)
    handler = getattr(module, spec["attribute"])
    requests = []
    for index, event in enumerate(spec["events"]):
        before = set(sys.modules)
        requests.append(phase(lambda event=event: handler(event, Context())))
        if index == 0:
            out["imported_by_first_request"] = sorted(set(sys.modules) - before)
    out["requests"] = requests
    out["loaded_at_end"] = [w for w in watched if w in sys.modules]
out["xray_sdk_modules"] = sorted(m for m in sys.modules if m == "aws_xray_sdk" or m.startswith("aws_xray_sdk."))
with open(os.environ["BENCH_RESULT"], "w") as fh:
    json.dump(out, fh)
"""


def lambda_environment(target: str) -> dict[str, str]:
    """What Lambda's python3.14 runtime sets in a SnapStart execution environment before it
    imports a handler (its documented reserved variables), with this machine's paths. Active
    tracing is service-side: the trace header is set, no X-Ray SDK or daemon is used."""
    folder = FUNCTIONS / target if target in FUNCTION_HANDLERS else FUNCTIONS / "enroll"
    return {
        "LAMBDA_TASK_ROOT": str(folder),
        "LAMBDA_RUNTIME_DIR": str(folder),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.14",
        "AWS_LAMBDA_FUNCTION_NAME": f"bench-{target}",
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start",
        "_HANDLER": f"handler.{FUNCTION_HANDLERS.get(target, 'handler')}",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "TZ": ":UTC",
    }


def _child_env(
    base: dict[str, str], pycache: str | None, write_bytecode: bool, layer: Path = LAYER_SOURCE, target: str = ""
) -> dict[str, str]:
    env = {k: v for k, v in base.items() if not k.startswith("PYTHON")}
    env.update(lambda_environment(target))
    env["PYTHONPATH"] = str(layer)
    if pycache:
        env["PYTHONPYCACHEPREFIX"] = pycache
    env["PYTHONHASHSEED"] = "0"
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run(target: str, env: dict[str, str], events: list[dict[str, Any]] | None) -> dict[str, Any]:
    """One fresh interpreter; ``events``: the first request and the warm ones (None: import only)."""
    with tempfile.TemporaryDirectory() as tmp:
        result_path = Path(tmp) / "result.json"
        spec: dict[str, Any] = {"watched": WATCHED, "bench_root": str(ROOT)}
        if target == "boto3":
            spec["module"] = "boto3"
            cwd = tmp
        else:
            spec.update(module="handler", function=target, function_name=f"bench-{target}")
            if events is not None:
                spec.update(attribute=FUNCTION_HANDLERS[target], events=events)
            cwd = str(FUNCTIONS / target)
        spec_path = Path(tmp) / "spec.json"
        spec_path.write_text(json.dumps(spec))
        completed = subprocess.run(
            [sys.executable, "-c", CHILD],
            cwd=cwd,
            env={**env, "BENCH_SPEC": str(spec_path), "BENCH_RESULT": str(result_path)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=180,
        )
        if completed.returncode != 0 or not result_path.exists():
            raise RuntimeError(f"cold start of {target} failed:\n{completed.stderr[-2000:]}")
        return json.loads(result_path.read_text())


NO_BYTECODE_TARGETS = ("enroll", "authorizer")
NO_BYTECODE_RUNS = 3


def _copy_layer_sources(target: Path) -> None:
    """The layer's packages (as build/layer lists them) copied from this venv without any bytecode."""
    site_packages = Path(sysconfig.get_paths()["purelib"])
    names = {p.name.split(".")[0] for p in (LAYER_BUILD / "python").iterdir()} if LAYER_BUILD.exists() else set()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in sorted(names - {"perisai"}):
        for source in site_packages.glob(f"{name}*"):
            if source.name == name and source.is_dir():
                shutil.copytree(source, target / source.name, ignore=ignore)
            elif source.is_file() and source.name.split(".")[0] == name:
                shutil.copy2(source, target / source.name)
    shutil.copytree(LAYER_SOURCE / "perisai", target / "perisai", ignore=ignore)


def _without_layer_bytecode(function_env: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Import as Lambda does it when publishing a version today: the runtime's modules (stdlib,
    boto3) have their .pyc, the layer has none (make build removes the 3.11 bytecode pip writes,
    and nothing writes 3.14's), so the layer is compiled from source before every snapshot."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-layer-src-") as tmp:
        layer = Path(tmp)
        _copy_layer_sources(layer)
        for target in NO_BYTECODE_TARGETS:
            progress(f"cold start: {target} with the layer compiled from source ({NO_BYTECODE_RUNS} runs)")
            env = _child_env(
                function_env.get(target, dict(os.environ)), None, write_bytecode=False, layer=layer, target=target
            )
            times = [_run(target, env, None)["import_ms"] for _ in range(NO_BYTECODE_RUNS)]
            out[target] = {"import_ms": round(median(times), 1), "runs": NO_BYTECODE_RUNS}
    return out


def _top_level(modules: Sequence[str]) -> list[str]:
    return sorted({m.split(".")[0] for m in modules})


def _max_counts(counts: Sequence[dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for calls in counts:
        for name, n in calls.items():
            out[name] = max(out.get(name, 0), n)
    return dict(sorted(out.items()))


def summarize(target: str, runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One function's figures from its runs: medians across runs; "warm" is, per run, the median
    of the requests after the first, then the median of those across runs; the ratio is the
    median first request over the median warm one."""
    first_ms = median([r["requests"][0]["ms"] for r in runs])
    warm_ms = median([median([q["ms"] for q in r["requests"][1:]]) for r in runs])
    ratio = first_ms / warm_ms if warm_ms > 0 else float("inf")
    hooks = runs[0]["hooks"]
    api = target in API_FUNCTIONS
    priming_calls = _max_counts([r["priming"]["calls"] for r in runs])
    first = runs[0]["requests"][0]
    warm = runs[0]["requests"][1] if len(runs[0]["requests"]) > 1 else first
    imported = runs[0].get("imported_by_first_request", [])
    return {
        "api": api,
        "import_ms": round(median([r["import_ms"] for r in runs]), 1),
        "import_samples_ms": [round(r["import_ms"], 1) for r in runs],
        "modules_loaded_at_import": runs[0]["modules"],
        "hooks": hooks,
        "primes": hooks["before_snapshot"] > 0,
        # No before-snapshot hook: nothing runs before the snapshot, priming time 0.
        "priming_ms": round(median([r["priming"]["ms"] for r in runs]), 1) if hooks["before_snapshot"] else 0.0,
        "priming_outcome": runs[0]["priming"]["outcome"],
        "priming_aws_calls": priming_calls,
        "priming_aws_call_count": sum(priming_calls.values()),
        "after_restore_ms": round(median([r["after_restore"]["ms"] for r in runs]), 3),
        "after_restore_aws_calls": _max_counts([r["after_restore"]["calls"] for r in runs]),
        "first_request_ms": round(first_ms, 1),
        "first_request_samples_ms": [round(r["requests"][0]["ms"], 1) for r in runs],
        "warm_request_ms": round(warm_ms, 1),
        # CPU time of the child's thread (no waiting for moto or for a CPU on a busy machine), for reading
        # the wall times; the budget is on wall time.
        "first_request_cpu_ms": round(median([r["requests"][0].get("cpu_ms", 0.0) for r in runs]), 1),
        "warm_request_cpu_ms": round(
            median([median([q.get("cpu_ms", 0.0) for q in r["requests"][1:]]) for r in runs]), 1
        ),
        "warm_requests_per_run": len(runs[0]["requests"]) - 1,
        "first_to_warm": round(ratio, 2),
        "budget": FIRST_TO_WARM_BUDGET if api else None,
        "met": (ratio <= FIRST_TO_WARM_BUDGET) if api else None,
        "first_request_outcome": first["outcome"],
        "warm_request_outcome": warm["outcome"],
        "first_request_aws_calls": first["calls"],
        "warm_request_aws_calls": warm["calls"],
        "first_request_imported_modules": len(imported),
        "first_request_imported_packages": _top_level(imported),
        "first_request_imported": imported,
        "watched_loaded_at_import": runs[0]["loaded_at_import"],
        "watched_loaded_after_priming": runs[0]["loaded_after_priming"],
        "watched_loaded_at_end": runs[0]["loaded_at_end"],
        "xray_sdk_modules": sorted({m for r in runs for m in r["xray_sdk_modules"]}),
    }


def measure(
    function_env: dict[str, dict[str, str]],
    event_factories: dict[str, Callable[[], dict[str, Any]]],
    runs: int = RUNS,
) -> dict[str, Any]:
    """``function_env``: each function's process environment (stack variables, local AWS endpoint);
    ``event_factories``: a fresh representative event per call, per function."""
    targets = ["boto3", *FUNCTION_HANDLERS]
    samples: dict[str, list[dict[str, Any]]] = {t: [] for t in targets}
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as pycache:
        for round_ in range(runs + 1):
            warmup = round_ == 0
            progress(f"cold start: {'bytecode warm-up' if warmup else f'round {round_}/{runs}'}")
            for target in targets:
                base = function_env.get(target, function_env.get("enroll", dict(os.environ)))
                env = _child_env(base, pycache, write_bytecode=warmup, target=target)
                factory = event_factories.get(target)
                events = None if factory is None else [factory() for _ in range(1 + WARM_REQUESTS)]
                sample = _run(target, env, events)
                if not warmup:
                    samples[target].append(sample)
    out: dict[str, Any] = {
        "runs": runs,
        "method": "median of fresh interpreters (bytecode pre-compiled by an untimed warm-up run): import, "
        "before-snapshot hooks, after-restore hooks, then the first request and "
        f"{WARM_REQUESTS} more in the same interpreter against the bench's moto",
        "budget_first_to_warm": FIRST_TO_WARM_BUDGET,
        "api_functions": list(API_FUNCTIONS),
        "boto3_import_ms": round(median([s["import_ms"] for s in samples["boto3"]]), 1),
        "boto3_samples_ms": [round(s["import_ms"], 1) for s in samples["boto3"]],
        "functions": {target: summarize(target, samples[target]) for target in FUNCTION_HANDLERS},
    }
    out["xray_sdk_imported_by"] = [k for k, f in out["functions"].items() if f["xray_sdk_modules"]]
    out["xray_sdk_installed"] = _installed(XRAY_SDK)
    out["priming_aws_calls_by"] = {
        k: f["priming_aws_calls"] for k, f in out["functions"].items() if f["priming_aws_call_count"]
    }
    out["without_hooks"] = [k for k, f in out["functions"].items() if not f["primes"]]
    out["without_layer_bytecode"] = _without_layer_bytecode(function_env)
    return out


def _installed(package: str) -> bool:
    """Whether this interpreter could import ``package`` at all (if not, "not imported" is trivially true)."""
    import importlib.util

    return importlib.util.find_spec(package) is not None

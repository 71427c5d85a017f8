"""Cold start: import time of each handler module in fresh interpreters, beside ``import boto3``.

Each run is a new ``python`` process with the function folder as its working directory and first
path entry (as ``/var/task`` on Lambda) and the layer's source (``layers/common``) on PYTHONPATH;
third-party packages come from the venv's site-packages. Timing starts after interpreter start-up,
around ``import handler`` (or ``import boto3``) only.

Bytecode: every module is compiled once into a private cache (PYTHONPYCACHEPREFIX) by an untimed
warm-up run, so boto3 and the handlers are compared with the same warm bytecode cache. (On Lambda
the runtime's boto3 has its .pyc; the layer ships none, see docs/BENCHMARKS.md.)

Environment: the variables Lambda's runtime sets in every execution environment are set in the
child too (``LAMBDA_TASK_ROOT``, ``AWS_LAMBDA_FUNCTION_NAME``, ``AWS_EXECUTION_ENV``, ...), because
libraries take their Lambda code path on them: the X-Ray SDK, for one, builds a sampler with its own
botocore client outside Lambda and a local sampler inside it. Measuring outside that path times
work the deployed function never does.

Rounds interleave the targets (boto3, enroll, authorizer, ...) so drift on a busy machine hits all
of them alike. After the timed import, the child also serves one representative request against
the bench's moto (``first_ms``): a deferred import is not free, it moves into the first request.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from bench.common import FUNCTION_HANDLERS, FUNCTIONS, LAYER_BUILD, LAYER_SOURCE, median, progress

RUNS = 5

# Not handlers: the floor every handler stands on, built up in steps, each timed whole in a fresh
# interpreter like the handlers. A handler's excess over the last step is its own code and what
# only it imports.
_PYDANTIC = "import boto3\nfrom pydantic import BaseModel\nclass Probe(BaseModel):\n    value: int\n"
_LOGGER_METRICS = (
    _PYDANTIC + "from aws_lambda_powertools import Logger, Metrics\nLogger()\nMetrics(namespace='Probe')\n"
)
FLOORS = {
    "boto3 + pydantic": (
        _PYDANTIC,
        "boto3, and pydantic with one model built (pydantic imports most of itself on the first model)",
    ),
    "+ Powertools Logger, Metrics": (_LOGGER_METRICS, "the above, and Powertools' Logger and Metrics created"),
    "+ Powertools Tracer": (
        _PYDANTIC + "import perisai.observability\n",
        "the above, and the Tracer: `perisai.observability` as every handler imports it",
    ),
}

# Packages worth naming when they are (or are not) imported at cold start.
WATCHED = (
    "boto3",
    "botocore",
    "aws_xray_sdk",
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

CHILD = r"""
import importlib, json, os, sys, time
code = os.environ.get("BENCH_CODE")
started = time.perf_counter()
if code:
    exec(compile(code, "<floor>", "exec"), {})
else:
    module = importlib.import_module(sys.argv[1])
import_ms = (time.perf_counter() - started) * 1000
watched = json.loads(os.environ["BENCH_WATCHED"])
out = {"import_ms": import_ms, "modules": len(sys.modules), "loaded": [w for w in watched if w in sys.modules]}
if len(sys.argv) > 3:
    class Context:
        function_name = "bench-" + sys.argv[2]
        memory_limit_in_mb = 512
        invoked_function_arn = "arn:aws:lambda:ap-southeast-3:123456789012:function:bench"
        aws_request_id = "00000000-0000-4000-8000-000000000000"
        function_version = "$LATEST"
        log_group_name = "/aws/lambda/bench"
        log_stream_name = "bench"
        def get_remaining_time_in_millis(self):
            return 10000
    with open(sys.argv[3]) as fh:
        event = json.load(fh)
    started = time.perf_counter()
    try:
        result = getattr(module, sys.argv[2])(event, Context())
        out["first_status"] = result.get("statusCode") if isinstance(result, dict) else None
    except Exception as exc:
        out["first_error"] = type(exc).__name__ + ": " + str(exc)[:120]
    out["first_ms"] = (time.perf_counter() - started) * 1000
    out["loaded_after_first"] = [w for w in watched if w in sys.modules]
with open(os.environ["BENCH_RESULT"], "w") as fh:
    json.dump(out, fh)
"""


def lambda_environment(target: str) -> dict[str, str]:
    """What Lambda's python3.14 runtime sets before it imports a handler (its documented reserved
    variables), with this machine's paths. The X-Ray daemon address points at a closed local port:
    the first request's trace segments go out as UDP datagrams nobody reads, as they would to the
    daemon."""
    folder = FUNCTIONS / target if target in FUNCTION_HANDLERS else FUNCTIONS / "enroll"
    return {
        "LAMBDA_TASK_ROOT": str(folder),
        "LAMBDA_RUNTIME_DIR": str(folder),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.14",
        "AWS_LAMBDA_FUNCTION_NAME": f"bench-{target}",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/bench-{target}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "_HANDLER": f"handler.{FUNCTION_HANDLERS.get(target, 'handler')}",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
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
    env["BENCH_WATCHED"] = json.dumps(WATCHED)
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run(target: str, env: dict[str, str], event_factory: Any | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        result_path = Path(tmp) / "result.json"
        args = [sys.executable, "-c", CHILD]
        if target == "boto3":
            args += [target]
            cwd = tmp
        elif target in FLOORS:
            args += ["-"]
            cwd = tmp
            env = {**env, "BENCH_CODE": FLOORS[target][0]}
        else:
            args += ["handler", FUNCTION_HANDLERS[target]]
            cwd = str(FUNCTIONS / target)
            if event_factory is not None:
                event_path = Path(tmp) / "event.json"
                event_path.write_text(json.dumps(event_factory()))
                args.append(str(event_path))
        completed = subprocess.run(
            args,
            cwd=cwd,
            env={**env, "BENCH_RESULT": str(result_path)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
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
    """Cold import as Lambda does it today: the runtime's modules (stdlib, boto3) have their .pyc,
    the layer has none (make build removes the 3.11 bytecode pip writes, and nothing writes 3.14's),
    so the layer is compiled from source on every cold start."""
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


def measure(
    function_env: dict[str, dict[str, str]], event_factories: dict[str, Any], runs: int = RUNS
) -> dict[str, Any]:
    """``function_env``: each function's process environment (stack variables, local AWS endpoint);
    ``event_factories``: a fresh representative event per function (None: import only)."""
    targets = ["boto3", *FUNCTION_HANDLERS, *FLOORS]
    samples: dict[str, list[dict[str, Any]]] = {t: [] for t in targets}
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as pycache:
        for round_ in range(runs + 1):
            warmup = round_ == 0
            progress(f"cold start: {'bytecode warm-up' if warmup else f'round {round_}/{runs}'}")
            for target in targets:
                base = function_env.get(target, function_env.get("enroll", dict(os.environ)))
                env = _child_env(base, pycache, write_bytecode=warmup, target=target)
                sample = _run(target, env, event_factories.get(target))
                if not warmup:
                    samples[target].append(sample)
    boto3_ms = median([s["import_ms"] for s in samples["boto3"]])
    out: dict[str, Any] = {
        "runs": runs,
        "method": "median of fresh interpreters; bytecode pre-compiled by an untimed warm-up run",
        "boto3_import_ms": round(boto3_ms, 1),
        "boto3_samples_ms": [round(s["import_ms"], 1) for s in samples["boto3"]],
        "functions": {},
    }
    for target in FUNCTION_HANDLERS:
        runs_ = samples[target]
        import_ms = median([s["import_ms"] for s in runs_])
        first = [s["first_ms"] for s in runs_ if "first_ms" in s]
        out["functions"][target] = {
            "import_ms": round(import_ms, 1),
            "samples_ms": [round(s["import_ms"], 1) for s in runs_],
            "ratio_to_boto3": round(import_ms / boto3_ms, 2),
            "modules_loaded": runs_[0]["modules"],
            "watched_loaded_at_import": runs_[0]["loaded"],
            "first_request_ms": round(median(first), 1) if first else None,
            "first_request_outcome": runs_[0].get("first_error") or runs_[0].get("first_status"),
            "watched_loaded_after_first_request": runs_[0].get("loaded_after_first"),
        }
    out["without_layer_bytecode"] = _without_layer_bytecode(function_env)
    out["floors"] = {
        target: {
            "what": what,
            "import_ms": round(median([s["import_ms"] for s in samples[target]]), 1),
            "ratio_to_boto3": round(median([s["import_ms"] for s in samples[target]]) / boto3_ms, 2),
        }
        for target, (_, what) in FLOORS.items()
    }
    floor_ms = out["floors"][list(FLOORS)[-1]]["import_ms"]
    for figures in out["functions"].values():
        figures["above_floor_ms"] = round(figures["import_ms"] - floor_ms, 1)
    return out

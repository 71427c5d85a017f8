"""The synthesized stack on the local runtime (moto in this process), with the AWS meter around
every handler invocation, and the requests the bench sends."""

from __future__ import annotations

import copy
import itertools
import json
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.awsmeter import AwsMeter, table_shapes
from bench.common import progress
from bench.fakeaws import FakeAws

PARTNER_KEY = "demo-partner-key"  # seeded by the local runtime: agent_network, scopes enroll pay claims
AUTH = {"Authorization": f"Bearer {PARTNER_KEY}"}
REGION_CODE = "317101"  # Jakarta Selatan: a region python-stdnum knows
AGENT_CODE = "AGEN-017"  # the agent network is the main channel: its enrollments also fill the by_agent index


class Niks:
    """Fresh valid NIKs (region + DDMMYY of the birth date + 4-digit serial), one birth date per 9,999."""

    def __init__(self, first_birth: date) -> None:
        self._first = first_birth
        self._counter = itertools.count()

    def take(self) -> tuple[str, date]:
        return self.nik_at(next(self._counter))

    def nik_at(self, index: int) -> tuple[str, date]:
        birth = self._first + timedelta(days=index // 9999)
        serial = index % 9999 + 1
        return f"{REGION_CODE}{birth.day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}", birth


def enrollment_body(nik: str, birth: date) -> dict[str, Any]:
    return {
        "nik": nik,
        "full_name": "Budi Santoso",
        "birth_date": birth.isoformat(),
        "gender": "M",
        "phone": "0812-3456-7890",
        "occupation": "ojek driver",
        "sector": "transport",
        "monthly_income": 2_500_000,
        "programs": ["JKK", "JKM"],
        "agent_code": AGENT_CODE,
    }


@dataclass
class Stack:
    template: dict[str, Any]
    runtime: Any
    meter: AwsMeter
    fake: FakeAws
    key_of: dict[str, str]  # function logical id -> its name in the bench (function_key)
    events: dict[str, Any] = field(default_factory=dict)  # last event each function received
    route_events: dict[tuple[str, str], Any] = field(default_factory=dict)  # (method, resource) -> last event
    wall: dict[str, float] = field(default_factory=dict)  # seconds of each function's last invocation
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds of the calling thread, same invocation
    invocations: Counter[str] = field(default_factory=Counter)
    enroll_niks: Niks = field(default_factory=lambda: Niks(date(1985, 1, 1)))

    # -- names ------------------------------------------------------------------

    def logical_id(self, key: str) -> str:
        return next(k for k, v in self.key_of.items() if v == key)

    def spec(self, key: str) -> Any:
        return self.runtime.model.functions[self.logical_id(key)]

    def memory(self, key: str) -> int:
        return int(self.spec(key).memory)

    def handler(self, key: str) -> Any:
        spec = self.spec(key)
        module_name, attribute = spec.handler.rsplit(".", 1)
        return getattr(self.runtime.functions._module(spec.source, module_name), attribute)

    def context(self, key: str) -> Any:
        from local_runtime.functions import LambdaContext

        spec = self.spec(key)
        return LambdaContext(
            function_name=f"local-{spec.logical_id}", memory_limit_in_mb=spec.memory, timeout_seconds=30
        )

    # -- requests through the emulated API Gateway -------------------------------

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """``body`` is sent as JSON, or as is when it is bytes (a signed raw body)."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
        all_headers = {**(headers or {}), **({"Content-Type": "application/json"} if body is not None else {})}
        response = self.runtime.gateway.handle(method, path, all_headers, raw, "127.0.0.1")
        try:
            payload = json.loads(response.body or b"null")
        except ValueError:
            payload = response.body
        return response.status, payload

    def enroll(self, key: str | None = None) -> tuple[int, Any, str]:
        nik, birth = self.enroll_niks.take()
        status, payload = self.call(
            "POST",
            "/v1/participants",
            enrollment_body(nik, birth),
            {**AUTH, "Idempotency-Key": key or str(uuid.uuid4())},
        )
        return status, payload, nik

    def flush_authorizer_cache(self) -> None:
        self.runtime.gateway.flush_authorizer_cache()

    def enroll_event(self, nik: str, birth: date) -> dict[str, Any]:
        """The enroll function's API Gateway event for a new NIK, from the one the gateway last built."""
        event = copy.deepcopy(self.route_events[("POST", "/v1/participants")])
        key = str(uuid.uuid4())
        event["body"] = json.dumps(enrollment_body(nik, birth))
        for name in list(event["headers"]):
            if name.lower() == "idempotency-key":
                event["headers"][name] = key
                event["multiValueHeaders"][name] = [key]
        event["requestContext"]["requestId"] = str(uuid.uuid4())
        return event


def function_key(source: str, handler: str) -> str:
    """``enroll`` for functions/enroll handler.handler; ``reminders.run_job`` when the entry point is not
    ``handler`` (one folder may hold several functions)."""
    folder = source.removeprefix("functions/")
    attribute = handler.rsplit(".", 1)[1]
    return folder if attribute == "handler" else f"{folder}.{attribute}"


def _cheap_moto_transactions() -> None:
    """moto snapshots every table a transaction touches with a full deepcopy (for its rollback), so
    each TransactWriteItems costs time in proportion to the table's size, which DynamoDB does not.
    Inside the bench, as in the local runtime, only the items a transaction touches are journaled
    and restored instead; the outcome of every transaction (applied, or cancelled with its reasons)
    is unchanged."""
    from local_runtime.transactions import install_for_process

    install_for_process()


def start() -> Stack:
    from perisai_infra.synth import synthesize

    progress("synthesizing the stack (cdk-nag included)")
    outdir = Path(tempfile.mkdtemp(prefix="bench-cdk-"))
    _, template = synthesize(outdir)
    progress("starting the local runtime (moto in this process)")
    from moto.dynamodb.models import dynamodb_backends

    from local_runtime.runtime import LocalRuntime

    _cheap_moto_transactions()
    runtime = LocalRuntime(port=0, template=template, state_file=None)
    runtime.start(seed=True, background_delivery=False)
    _register_agent(runtime)
    from local_runtime.cloud import ACCOUNT, REGION

    shapes = table_shapes(template, {k: runtime.cloud.physical[k]["Ref"] for k in _tables(template)})
    import os

    from bench import awsmeter

    awsmeter.TABLE_LABELS.update(
        {value: name.removesuffix("_TABLE").lower() for name, value in os.environ.items() if name.endswith("_TABLE")}
    )
    meter = AwsMeter(shapes, dynamodb_backends[ACCOUNT][REGION])
    meter.install()
    fake = FakeAws()
    fake.install()
    key_of = {k: function_key(spec.source, spec.handler) for k, spec in runtime.model.functions.items()}
    stack = Stack(template, runtime, meter, fake, key_of)
    _wrap_invoke(stack)
    return stack


def _register_agent(runtime: Any) -> None:
    """The bench's enrollments name AGENT_CODE: an enrollment may name only a registered, active
    agent of its partner (before the meter is installed: not part of any measured operation)."""
    body = {"agent_code": AGENT_CODE, "name": "Agen Bench", "phone": "0813-1000-2000", "home_regency": "3273"}
    headers = {**AUTH, "Content-Type": "application/json"}
    response = runtime.gateway.handle("POST", "/v1/agents", headers, json.dumps(body).encode(), "127.0.0.1")
    if response.status not in (200, 201):
        raise RuntimeError(f"registering the bench's agent failed: {response.status} {response.body!r}")


def _tables(template: dict[str, Any]) -> set[str]:
    return {k for k, v in template["Resources"].items() if v["Type"] == "AWS::DynamoDB::Table"}


def _wrap_invoke(stack: Stack) -> None:
    functions = stack.runtime.functions
    original = functions.invoke

    def invoke(logical_id: str, event: Any, trigger: str) -> Any:
        key = stack.key_of[logical_id]
        stack.events[key] = copy.deepcopy(event)
        if isinstance(event, dict) and "httpMethod" in event:
            stack.route_events[(event["httpMethod"], event["resource"])] = stack.events[key]
        stack.invocations[key] += 1
        started, started_cpu = time.perf_counter(), time.thread_time()
        try:
            with stack.meter.function(key):
                return original(logical_id, event, trigger)
        finally:
            stack.wall[key] = time.perf_counter() - started
            stack.cpu[key] = time.thread_time() - started_cpu

    functions.invoke = invoke


def cold_reset() -> None:
    """What a new execution environment starts without: every cached client, secret, service,
    environment and document. (Imports stay: their cost is the cold start measured separately.)"""
    from perisai import aws
    from perisai.settings import Environment

    aws.reset()
    Environment.forget()
    for name, module in list(sys.modules.items()):
        if not (name.startswith("perisai") or name.startswith("lambda_functions_")) or module is None:
            continue
        for value in list(vars(module).values()):
            if getattr(value, "__module__", None) == name and callable(getattr(value, "cache_clear", None)):
                value.cache_clear()


def stop(stack: Stack) -> None:
    stack.fake.uninstall()
    stack.meter.uninstall()
    stack.runtime.stop()

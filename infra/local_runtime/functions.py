"""Runs the stack's Lambda handlers in this process, with the environment the stack gives them."""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from local_runtime.cloud import ACCOUNT, REGION, LocalCloud
from local_runtime.environments import EnvironmentPool, Interleaver
from local_runtime.iam import RoleGuard, Statement
from local_runtime.template import StackModel

# Per-function values that would collide in one process; every other variable must agree.
PER_FUNCTION = {"POWERTOOLS_SERVICE_NAME"}


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"
    alias: str | None = None  # triggers invoke the alias: its version runs
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"
        if self.alias:
            self.invoked_function_arn += f":{self.alias}"
            self.function_version = "1"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class Invocation:
    function: str
    trigger: str
    ok: bool
    error: str | None
    milliseconds: float


class Functions:
    def __init__(self, model: StackModel, cloud: LocalCloud, root: Path) -> None:
        self._model = model
        self._cloud = cloud
        self._root = root
        self._lock = threading.Lock()
        self.environments = EnvironmentPool(root)
        self.interleaver = Interleaver()
        self.interleaver.install()
        self.invocations: list[Invocation] = []
        self.roles = RoleGuard(REGION, ACCOUNT, cloud.partition_keys())
        self.roles.install()
        self._role_statements: dict[str, tuple[Statement, ...]] = {}
        for layer in model.layers:
            path = str(root / layer)
            if path not in sys.path:
                sys.path.insert(0, path)

    def configure_environment(self) -> None:
        merged: dict[str, str] = {}
        for spec in self._model.functions.values():
            for name, raw in spec.environment.items():
                value = str(self._cloud.resolve(raw))
                if name in PER_FUNCTION:
                    continue
                if merged.get(name, value) != value:
                    raise RuntimeError(f"functions disagree on {name}; the local runtime shares one process")
                merged[name] = value
        os.environ.update(merged)
        from perisai.settings import Environment

        Environment.forget()

    def name_of(self, logical_id: str) -> str:
        spec = self._model.functions[logical_id]
        return f"{spec.source.removeprefix('functions/')}.{spec.handler.split('.', 1)[1]}"

    def invoke(self, logical_id: str, event: Any, trigger: str) -> Any:
        spec = self._model.functions[logical_id]
        module_name, function_name = spec.handler.rsplit(".", 1)
        context = LambdaContext(
            function_name=f"local-{logical_id}",
            memory_limit_in_mb=spec.memory,
            timeout_seconds=spec.timeout,
            alias=spec.alias,
        )
        started = time.perf_counter()
        try:
            with (
                self.interleaver.invocation(),
                self.environments.environment(spec.source, module_name, snap_start=spec.snap_start) as module,
                self.roles.acting_as(self.name_of(logical_id), lambda: self.statements(logical_id)),
            ):
                result = getattr(module, function_name)(event, context)
        except Exception as exc:
            self._record(logical_id, trigger, False, f"{type(exc).__name__}: {exc}", started)
            raise
        self._record(logical_id, trigger, True, None, started)
        return result

    def statements(self, logical_id: str) -> tuple[Statement, ...]:
        """The function's role statements with their resources resolved to local ARNs."""
        if logical_id not in self._role_statements:
            self._role_statements[logical_id] = tuple(
                Statement(p.allow, p.actions, self._resources(p.resources), p.conditions)
                for p in self._model.functions[logical_id].permissions
            )
        return self._role_statements[logical_id]

    def _resources(self, raw: Any) -> tuple[str, ...]:
        out = []
        for value in raw if isinstance(raw, list) else [raw]:
            try:
                out.append(str(self._cloud.resolve(value)))
            except KeyError:  # not provisioned locally (log groups): matches no call
                out.append(f"unresolved:{value}")
        return tuple(out)

    def _record(self, logical_id: str, trigger: str, ok: bool, error: str | None, started: float) -> None:
        with self._lock:
            self.invocations.append(
                Invocation(
                    self.name_of(logical_id), trigger, ok, error, round((time.perf_counter() - started) * 1000, 1)
                )
            )

    def _module(self, source: str, module_name: str) -> ModuleType:
        """A warm environment's handler module (for callers that invoke it directly, one at a time)."""
        snap_start = any(s.snap_start for s in self._model.functions.values() if s.source == source)
        with self.environments.environment(source, module_name, snap_start=snap_start) as module:
            return module

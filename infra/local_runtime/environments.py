"""Lambda's execution model inside one process.

On Lambda an execution environment serves one invocation at a time, so handlers and the libraries
they use keep per-invocation state in globals: Powertools' resolvers keep the current event on
their base class (shared by every resolver in the process), each resolver keeps its context (the
partner the authorizer named) on itself. Locally all functions share one process and concurrent
requests run on concurrent threads, which would hand one request's headers and body to another.

Two things restore Lambda's model while still letting concurrent invocations meet where they meet
on AWS (DynamoDB conditions and transactions, the idempotency records):

- ``EnvironmentPool``: each function has environments, each a fresh copy of its handler module;
  an invocation takes an idle one (warm) or starts a new one (a cold start).
  With SnapStart, a new environment runs the handler's runtime hooks right after the import
  (before-snapshot, then after-restore), as Lambda does when it publishes the version and then
  restores the snapshot into a new environment.
- ``Interleaver``: handler code runs one invocation at a time, and an invocation gives its turn
  away while its AWS request is in flight, its process-wide state saved and put back after. So
  invocations interleave at every AWS call, the only points where they can observe each other.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import botocore.endpoint

from local_runtime.patching import MethodPatch

_MISSING = object()


@dataclass(frozen=True)
class Shared:
    """Process-wide state an invocation keeps while another one runs.

    ``value``: the attribute is saved and put back. ``copy``: a copy of the dict is saved and put
    back (for a dict others replace or update). ``drain``: the dict's contents are saved and the
    dict emptied while others run, then refilled (for buffers flushed at the end of each
    invocation, which others must neither flush nor see)."""

    owner: Any
    name: str
    mode: Literal["value", "copy", "drain"] = "value"

    def save(self) -> Any:
        value = vars(self.owner).get(self.name, _MISSING)
        if value is _MISSING or self.mode == "value":
            return value
        saved = dict(value)
        if self.mode == "drain":
            value.clear()
        return saved

    def restore(self, saved: Any) -> None:
        if saved is _MISSING:
            if self.name in vars(self.owner):
                delattr(self.owner, self.name)
        elif self.mode == "drain":
            buffer = getattr(self.owner, self.name)
            buffer.clear()
            buffer.update(saved)
        else:
            setattr(self.owner, self.name, saved)


def powertools_state() -> list[Shared]:
    """What Powertools keeps per process that is per invocation on Lambda."""
    from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
    from aws_lambda_powertools.metrics import Metrics

    from perisai import idempotency
    from perisai.observability import logger

    return [
        Shared(BaseRouter, "current_event"),  # every resolver's current event (a class attribute)
        Shared(BaseRouter, "lambda_context"),
        Shared(Metrics, "_metrics", "drain"),  # one buffer for every Metrics instance
        Shared(Metrics, "_metadata", "drain"),
        Shared(Metrics, "_dimensions", "drain"),
        Shared(logger.registered_formatter, "log_format", "copy"),  # append_keys / clear_state
        Shared(idempotency.config(), "lambda_context"),  # the in-progress record's expiry
    ]


class Interleaver:
    """One invocation's handler code runs at a time; the turn passes on at each AWS request."""

    def __init__(self, state: Callable[[], list[Shared]] = powertools_state) -> None:
        self._turn = threading.Lock()
        self._local = threading.local()
        self._state = state
        self._shared: list[Shared] | None = None
        self._patch = MethodPatch(botocore.endpoint.Endpoint, "make_request", self._waiting)

    @contextmanager
    def invocation(self) -> Iterator[None]:
        """The block runs on this thread's turn (nested invocations on the same thread share it)."""
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            self._turn.acquire()
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth
            if depth == 0:
                self._turn.release()

    @contextmanager
    def waiting_on_aws(self) -> Iterator[None]:
        """Give the turn away for the block if this thread holds it, and take it back with the
        process-wide state the invocation had."""
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            yield
            return
        if self._shared is None:
            self._shared = self._state()
        saved = [(shared, shared.save()) for shared in self._shared]
        self._local.depth = 0
        self._turn.release()
        try:
            yield
        finally:
            self._turn.acquire()
            self._local.depth = depth
            for shared, value in saved:
                shared.restore(value)

    def _waiting(self, original: Any) -> Any:
        def make_request(endpoint: Any, operation_model: Any, request_dict: Any) -> Any:
            with self.waiting_on_aws():
                return original(endpoint, operation_model, request_dict)

        return make_request

    def install(self) -> None:
        """Every botocore request (any client: ours, Powertools', the Encryption SDK's) waits
        for its answer off the turn."""
        self._patch.install()

    def uninstall(self) -> None:
        self._patch.uninstall()


class EnvironmentPool:
    """Execution environments of the functions: copies of their handler modules."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._idle: dict[str, list[ModuleType]] = {}
        self._started: dict[str, int] = {}
        self._lock = threading.Lock()

    @contextmanager
    def environment(self, source: str, module_name: str, *, snap_start: bool = False) -> Iterator[ModuleType]:
        """An environment for one invocation: an idle one if there is one, else a new one."""
        key = f"{source}/{module_name}"
        with self._lock:
            idle = self._idle.setdefault(key, [])
            module = idle.pop() if idle else None
        if module is None:
            module = self._start(source, module_name, snap_start)
        try:
            yield module
        finally:
            with self._lock:
                self._idle[key].append(module)

    def started(self, source: str, module_name: str) -> int:
        """How many environments the function has started (its cold starts)."""
        with self._lock:
            return self._started.get(f"{source}/{module_name}", 0)

    def _start(self, source: str, module_name: str, snap_start: bool) -> ModuleType:
        # No lock is held while the module runs: its imports take Python's import locks, and an
        # invocation's turn may pass on meanwhile (handler modules make no AWS call at import).
        key = f"{source}/{module_name}"
        with self._lock:
            number = self._started[key] = self._started.get(key, 0) + 1
        suffix = "" if number == 1 else f"_{number}"
        unique = "lambda_" + source.replace("/", "_") + "_" + module_name + suffix
        spec = importlib.util.spec_from_file_location(unique, self._root / source / f"{module_name}.py")
        if spec is None or spec.loader is None:
            raise RuntimeError(f"cannot load {source}/{module_name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[unique] = module
        # As on Lambda, the function's folder is on the path: a handler imports its folder's other
        # modules (e.g. payment_callback's `payers` routes). Appended, so it shadows nothing.
        folder = str(self._root / source)
        if folder not in sys.path:
            sys.path.append(folder)
        from perisai import snapstart

        try:
            spec.loader.exec_module(module)
        finally:
            # The hooks this import registered (handler code runs on one invocation's turn at a
            # time and makes no AWS call at import, so no other environment registers any meanwhile).
            hooks = snapstart.take_hooks()
        if snap_start:
            for phase, run in (
                ("before-snapshot", hooks.run_before_snapshot),
                ("after-restore", hooks.run_after_restore),
            ):
                try:
                    run()
                except Exception as exc:
                    # Lambda fails the version's publication (before-snapshot) or the restore
                    # (after-restore): this environment never serves, and the log says why.
                    print(
                        f"[local] {source}/{module_name}: SnapStart {phase} hook failed, environment "
                        f"discarded:\n{traceback.format_exc()}",
                        file=sys.stderr,
                        flush=True,
                    )
                    raise SnapStartHookError(f"{source}/{module_name}: {phase} hook failed: {exc!r}") from exc
        return module


class SnapStartHookError(RuntimeError):
    """A SnapStart runtime hook raised: the environment is discarded, the invocation fails."""

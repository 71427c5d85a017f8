"""AWS fault injection for every botocore client in this process.

``inject(Fault.THROTTLING, at=3, match=("dynamodb", "TransactWriteItems"))`` makes the third
matching AWS call fail; ``record()`` injects nothing and only lists the calls, which is how a
test discovers the call sequence of a successful request before failing each position in turn.

How it works: ``botocore.client.BaseClient._make_api_call`` is replaced while an injector is
active, so every client is covered: ``perisai.aws``'s, the ones Powertools creates (parameters,
idempotency), the AWS Encryption SDK's KMS client, and the local runtime's own.

**The SDK does not retry an injected fault.** botocore's retry handler (standard mode,
``max_attempts``) runs *inside* ``_make_api_call``: it wraps the HTTP send, not this method.
A fault raised here therefore reaches the application exactly as if the SDK had already
spent all its attempts. To exercise the application's *own* retry loops (e.g. the participants
repository retries a throttled transaction), fail K consecutive calls with ``times=K``.

Which calls count (the *scope*): only the application's, never the test's own inspection
clients nor the local runtime's plumbing (stream polling, queue receives):

- calls made while a Lambda handler runs in the local runtime (``functions=("enroll",)``
  restricts this to those functions; names are the ``functions/<name>`` folders), on
  whichever thread the runtime uses (HTTP server threads, the delivery thread, the test
  thread during ``runtime.delivery.drain()``);
- calls made on a thread inside ``with injector.armed():`` (for application code the test
  calls directly, e.g. ``perisai.partners.service.issue_key``). ``armed_only=True`` counts
  nothing else.

Fault kinds:

- ``THROTTLING``: ``ClientError`` with the service's throttling code (DynamoDB:
  ``ProvisionedThroughputExceededException``; others ``ThrottlingException``), HTTP 400.
- ``SERVER_ERROR``: ``ClientError`` with the service's HTTP 500 code (DynamoDB:
  ``InternalServerError``, KMS: ``KMSInternalException``, ...).
- ``READ_TIMEOUT`` / ``CONNECT_TIMEOUT``: botocore ``ReadTimeoutError`` /
  ``ConnectTimeoutError`` (not ``ClientError``!), raised *before* the request is sent.
- ``LOST_RESPONSE``: the request really runs, then ``ReadTimeoutError`` is raised: the
  caller cannot tell that its write happened (the ambiguous case of every timeout).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import botocore.client
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError


class Fault(StrEnum):
    THROTTLING = "throttling"
    SERVER_ERROR = "server_error"
    READ_TIMEOUT = "read_timeout"
    CONNECT_TIMEOUT = "connect_timeout"
    LOST_RESPONSE = "lost_response"


# The fault classes every write path must survive (LOST_RESPONSE is opt-in: it is not a
# "clean" failure, the write happened).
KINDS: tuple[Fault, ...] = (Fault.THROTTLING, Fault.SERVER_ERROR, Fault.READ_TIMEOUT, Fault.CONNECT_TIMEOUT)

_THROTTLING_CODES = {"dynamodb": "ProvisionedThroughputExceededException", "sns": "Throttled"}
_SERVER_ERROR_CODES = {
    "dynamodb": "InternalServerError",
    "kms": "KMSInternalException",
    "secretsmanager": "InternalServiceError",
    "events": "InternalException",
    "sqs": "InternalError",
    "sns": "InternalError",
}


@dataclass(frozen=True)
class Call:
    """One AWS call an injector counted."""

    index: int  # 1-based position among the calls in the injector's scope
    service: str  # botocore service name: "dynamodb", "kms", "events", ...
    operation: str  # "TransactWriteItems", "GenerateDataKey", ...
    function: str | None  # local-runtime function making the call ("enroll"), None if armed code
    fault: Fault | None  # what was injected into this call, if anything

    @property
    def key(self) -> tuple[str, str]:
        return (self.service, self.operation)


def error_for(fault: Fault, service: str, operation: str, endpoint_url: str = "", code: str | None = None) -> Exception:
    """The exception botocore would raise to the caller for ``fault``."""
    where = endpoint_url or f"https://{service}.amazonaws.com"
    if fault is Fault.THROTTLING:
        code = code or _THROTTLING_CODES.get(service, "ThrottlingException")
        status = 400
    elif fault is Fault.SERVER_ERROR:
        code = code or _SERVER_ERROR_CODES.get(service, "InternalFailure")
        status = 500
    elif fault is Fault.CONNECT_TIMEOUT:
        return ConnectTimeoutError(endpoint_url=where)
    else:  # READ_TIMEOUT, LOST_RESPONSE
        return ReadTimeoutError(endpoint_url=where)
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} (injected by tests.helpers.faults)"},
            "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "fault-injected", "RetryAttempts": 0},
        },
        operation,
    )


# -- process-wide patching ------------------------------------------------------------

_state = threading.local()  # .functions: list[str] (running Lambda handlers), .armed: set[int]
_install_lock = threading.Lock()
_active: list[FaultInjector] = []
_originals: dict[str, Any] = {}


def _running_function() -> str | None:
    stack = getattr(_state, "functions", None)
    return stack[-1] if stack else None


def _armed_ids() -> set[int]:
    armed = getattr(_state, "armed", None)
    if armed is None:
        armed = _state.armed = set()
    return armed


def _patched_make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
    original = _originals["make_api_call"]
    service = self.meta.service_model.service_name
    function = _running_function()
    armed = _armed_ids()
    fault: tuple[Fault, str | None] | None = None
    for injector in list(_active):
        chosen = injector._observe(service, operation_name, function, armed)
        if chosen is not None and fault is None:
            fault = chosen
    if fault is None:
        return original(self, operation_name, api_params)
    kind, code = fault
    if kind is Fault.LOST_RESPONSE:
        original(self, operation_name, api_params)
    raise error_for(kind, service, operation_name, self.meta.endpoint_url, code)


def _wrap_invoke(original: Callable[..., Any]) -> Callable[..., Any]:
    def invoke(self: Any, logical_id: str, event: Any, trigger: str) -> Any:
        try:
            name = self.name_of(logical_id).split(".", 1)[0]
        except Exception:
            name = logical_id
        stack = getattr(_state, "functions", None)
        if stack is None:
            stack = _state.functions = []
        stack.append(name)
        try:
            return original(self, logical_id, event, trigger)
        finally:
            stack.pop()

    return invoke


def _install(injector: FaultInjector) -> None:
    with _install_lock:
        if not _active:
            _originals["make_api_call"] = botocore.client.BaseClient._make_api_call
            botocore.client.BaseClient._make_api_call = _patched_make_api_call  # type: ignore[attr-defined]  # private botocore method, not in the stubs; undone by _uninstall
            try:
                from local_runtime.functions import Functions
            except ImportError:  # used without the local runtime: armed() scope only
                pass
            else:
                _originals["invoke"] = Functions.invoke
                Functions.invoke = _wrap_invoke(Functions.invoke)  # type: ignore[method-assign]  # monkeypatch, undone by _uninstall
        _active.append(injector)


def _uninstall(injector: FaultInjector) -> None:
    with _install_lock:
        _active.remove(injector)
        if not _active:
            # Kept in _originals: a call that entered the patch on another thread just now still needs it.
            botocore.client.BaseClient._make_api_call = _originals["make_api_call"]  # type: ignore[attr-defined]  # private botocore method, not in the stubs
            if "invoke" in _originals:
                from local_runtime.functions import Functions

                Functions.invoke = _originals.pop("invoke")  # type: ignore[method-assign]  # restores the original


# -- the injector ---------------------------------------------------------------------


class FaultInjector:
    """Counts the AWS calls in its scope and fails the ``at``-th matching one (and the
    ``times - 1`` matching calls after it) with ``fault``. With ``fault=None`` it only records.

    ``match``: ``None`` (every call), ``"kms"`` (a service) or ``("dynamodb", "PutItem")``.
    ``functions``: local-runtime function names whose calls count (``None``: any function).
    Use as a context manager; ``calls`` lists every call in scope, ``injected`` the failed ones.
    """

    def __init__(
        self,
        fault: Fault | None = None,
        *,
        at: int = 1,
        times: int = 1,
        match: str | tuple[str, str] | None = None,
        functions: str | Iterable[str] | None = None,
        armed_only: bool = False,
        code: str | None = None,
    ) -> None:
        if at < 1 or times < 1:
            raise ValueError("at and times count from 1")
        self.fault = fault
        self.at = at
        self.times = times
        self.match = match
        self.functions = {functions} if isinstance(functions, str) else set(functions) if functions else None
        self.armed_only = armed_only
        self.code = code
        self.calls: list[Call] = []
        self._matched = 0
        self._lock = threading.Lock()

    # context management

    def __enter__(self) -> FaultInjector:
        _install(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _uninstall(self)

    @contextmanager
    def armed(self) -> Iterator[FaultInjector]:
        """Count the calls this thread makes in the block (application code called directly)."""
        ids = _armed_ids()
        ids.add(id(self))
        try:
            yield self
        finally:
            ids.discard(id(self))

    # results

    @property
    def injected(self) -> list[Call]:
        return [c for c in self.calls if c.fault is not None]

    @property
    def sequence(self) -> list[tuple[str, str]]:
        return [c.key for c in self.calls]

    # the decision, under the injector's lock

    def _in_scope(self, function: str | None, armed: set[int]) -> bool:
        if id(self) in armed:
            return True
        if self.armed_only or function is None:
            return False
        return self.functions is None or function in self.functions

    def _matches(self, service: str, operation: str) -> bool:
        if self.match is None:
            return True
        if isinstance(self.match, str):
            return service == self.match
        return (service, operation) == tuple(self.match)

    def _observe(
        self, service: str, operation: str, function: str | None, armed: set[int]
    ) -> tuple[Fault, str | None] | None:
        if not self._in_scope(function, armed):
            return None
        with self._lock:
            fault = None
            if self._matches(service, operation):
                self._matched += 1
                if self.fault is not None and self.at <= self._matched < self.at + self.times:
                    fault = self.fault
            self.calls.append(Call(len(self.calls) + 1, service, operation, function, fault))
        return (fault, self.code) if fault is not None else None


def inject(
    fault: Fault,
    *,
    at: int = 1,
    times: int = 1,
    match: str | tuple[str, str] | None = None,
    functions: str | Iterable[str] | None = None,
    armed_only: bool = False,
    code: str | None = None,
) -> FaultInjector:
    """``with inject(Fault.SERVER_ERROR, at=2, functions="enroll") as faults: ...``"""
    return FaultInjector(fault, at=at, times=times, match=match, functions=functions, armed_only=armed_only, code=code)


def record(*, functions: str | Iterable[str] | None = None, armed_only: bool = False) -> FaultInjector:
    """``with record(functions="enroll") as calls: ...``; then ``calls.sequence``."""
    return FaultInjector(None, functions=functions, armed_only=armed_only)

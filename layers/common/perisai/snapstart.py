"""SnapStart runtime hooks: Lambda's ``snapshot_restore_py`` where it exists, a stand-in elsewhere.

Lambda runs the before-snapshot hooks once, after the handler module is imported, in the
reverse order of registration, and the after-restore hooks in registration order each time
an environment is restored from the snapshot. The stand-in keeps the hooks so the local
runtime and the bench run them the same way (``take_hooks``, ``run_before_snapshot``,
``run_after_restore``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = [
    "ON_LAMBDA",
    "PRIMING_CONTEXT",
    "Hooks",
    "api_event",
    "register_after_restore",
    "register_before_snapshot",
    "prime_handler",
    "renew_after_restore",
    "take_hooks",
]

Hook = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


@dataclass
class Hooks:
    before_snapshot: list[Hook] = field(default_factory=list)
    after_restore: list[Hook] = field(default_factory=list)

    def run_before_snapshot(self) -> None:
        for fn, args, kwargs in reversed(self.before_snapshot):
            fn(*args, **kwargs)

    def run_after_restore(self) -> None:
        for fn, args, kwargs in self.after_restore:
            fn(*args, **kwargs)


_pending = Hooks()
_lock = threading.Lock()


F = TypeVar("F", bound=Callable[..., Any])

try:  # Lambda's managed Python runtimes ship it
    import snapshot_restore_py as _lambda_hooks

    ON_LAMBDA = True
except ImportError:
    _lambda_hooks = None
    ON_LAMBDA = False


def register_before_snapshot(func: F, *args: Any, **kwargs: Any) -> F:
    """Run ``func`` once before the snapshot (usable as a decorator)."""
    if _lambda_hooks is not None:
        _lambda_hooks.register_before_snapshot(func, *args, **kwargs)
    else:
        with _lock:
            _pending.before_snapshot.append((func, args, kwargs))
    return func


def register_after_restore(func: F, *args: Any, **kwargs: Any) -> F:
    """Run ``func`` after every restore from the snapshot (usable as a decorator)."""
    if _lambda_hooks is not None:
        _lambda_hooks.register_after_restore(func, *args, **kwargs)
    else:
        with _lock:
            _pending.after_restore.append((func, args, kwargs))
    return func


def take_hooks() -> Hooks:
    """The hooks registered since the last call (the local runtime calls this right after it
    imports one copy of a handler module, so each execution environment runs its own)."""
    global _pending
    with _lock:
        taken, _pending = _pending, Hooks()
    return taken


class PrimingContext:
    """The Lambda context of priming calls (before the snapshot there is no invocation)."""

    function_name = "priming"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:ap-southeast-3:000000000000:function:priming"
    memory_limit_in_mb = 512
    aws_request_id = "priming"
    log_group_name = "priming"
    log_stream_name = "priming"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


PRIMING_CONTEXT = cast(LambdaContext, PrimingContext())


def api_event(method: str, path: str, query: dict[str, str], body: str | None) -> dict[str, Any]:
    """An API Gateway proxy event for priming a resolver, from a partner with every scope, so
    the request path runs (routing, scope check, validation, error mapping) up to the point
    where it would call AWS; priming requests are chosen to stop before that point."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"} if body is not None else {},
        "multiValueHeaders": {},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} or None,
        "pathParameters": None,
        "requestContext": {
            "requestId": "priming",
            "httpMethod": method,
            "path": path,
            "stage": "live",
            "authorizer": {"partner_id": "priming", "channel": "back_office", "scopes": "backoffice", "key_id": ""},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def renew_after_restore() -> None:
    """What must differ between environments restored from one snapshot: ``random``'s state
    (ids and codes use ``secrets``/``uuid4``, which read the OS at each call, but libraries may
    use ``random``)."""
    import random

    random.seed()


def prime_handler(handler: Callable[[dict[str, Any], LambdaContext], Any], events: list[dict[str, Any]]) -> None:
    """Run the whole decorated handler (logger, metrics, resolver) on requests that stop before
    any AWS call and add no metric, so nothing of the first real request is a first use. Also
    loads the IDNA codec, which botocore's first connection would otherwise import."""
    "perisai.example".encode("idna")
    for event in events:
        handler(event, PRIMING_CONTEXT)

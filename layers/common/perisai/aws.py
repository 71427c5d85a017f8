"""Lazily built boto3 clients, one per service per process.

Nothing is created at import time, so tests and the local runtime can point the
process at an embedded AWS (``AWS_ENDPOINT_URL``) before the first call.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as AwsConnectionError

_lock = threading.Lock()

_CONNECT_TIMEOUT_SECONDS = 2

# What an AWS call raises when the service or the network fails (after the SDK's own retries):
# an error answer (throttling, 5xx, conditional failures: ClientError) or no answer at all
# (connect/read timeouts, dropped connections: not ClientError). Data-access code catches these
# and raises DependencyUnavailable; anything else (e.g. ParamValidationError) is our bug.
CALL_ERRORS: tuple[type[Exception], ...] = (ClientError, AwsConnectionError, HTTPClientError)


@cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


@cache
def config() -> Config:
    from perisai.settings import AwsCallEnv

    return Config(
        # The one retry layer: standard mode backs off on throttling and transient errors; the
        # data-access code does not retry again on top.
        retries={"max_attempts": 4, "mode": "standard"},
        connect_timeout=_CONNECT_TIMEOUT_SECONDS,
        read_timeout=AwsCallEnv.load().read_timeout_seconds,
    )


@cache
def client(service: str) -> Any:
    with _lock:  # boto3 sessions are not thread-safe while creating clients
        # Any: callers name the service at run time; boto3-stubs types only literal names.
        session: Any = _session()
        return session.client(service, config=config())


def reset() -> None:
    """Forget cached clients (tests that move AWS_ENDPOINT_URL call this)."""
    client.cache_clear()
    config.cache_clear()
    _session.cache_clear()

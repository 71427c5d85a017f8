"""Methods the API does not define (issue 9, defect 2): every method on every path answers as the
deployed API Gateway would, with the JSON error body, never the HTTP server's HTML, never a 5xx.

The stack gives each resource with methods an ANY method (MOCK integration) answering 405 with
``Allow``; API Gateway prefers the resource's own methods. The local gateway serves that mock from
the synthesized template, and answers method names API Gateway never accepts the same way.
"""

from __future__ import annotations

import http.client
import json
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from tests.api.conftest import PARTNER, Api

if TYPE_CHECKING:
    from local_runtime.runtime import LocalRuntime

ALLOWED = {
    "/health": "GET",
    "/v1/openapi.json": "GET",
    "/v1/participants": "GET, POST",
    "/v1/participants/PST-ABCDEFGHJKMN": "GET",
    "/v1/participants/PST-ABCDEFGHJKMN/sms-opt-out": "POST",
    "/v1/participants/PST-ABCDEFGHJKMN/sms-opt-in": "POST",
    "/v1/dues/quote": "GET",
    "/v1/participants/PST-ABCDEFGHJKMN/payment-orders": "POST",
    "/v1/participants/PST-ABCDEFGHJKMN/contributions": "GET",
    "/v1/payment-orders/ORD-ABCDEFGHJKMNPQ": "GET",
    "/v1/reconciliation": "GET",
    "/v1/reconciliation/RCN-20260101000000-0123456789ab/resolve": "POST",
    "/v1/payments/midtrans": "POST",
    "/v1/payments/xendit": "POST",
    "/v1/payments/channel": "POST",
    "/v1/claims": "POST",
    "/v1/claims/CLM-1": "GET",
}
UNDEFINED = ["QUERY", "HEAD", "OPTIONS", "TRACE", "PATCH", "PUT", "DELETE", "PROPFIND", "M-SEARCH", "get"]


def _raw(
    api: Api, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    """A request with any method name (requests and curl send them as given; so does http.client)."""
    where = urlsplit(api.base)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def _json_error(status: int, headers: dict[str, str], body: bytes) -> dict:
    assert headers["Content-Type"].startswith("application/json"), (status, headers, body[:200])
    payload = json.loads(body)
    assert set(payload) == {"error", "message", "fields"} and payload["fields"] == [], payload
    return payload


@pytest.mark.parametrize("method", UNDEFINED)
@pytest.mark.parametrize("path", sorted(ALLOWED))
def test_a_method_the_path_does_not_define_is_a_json_405_with_allow(api: Api, path: str, method: str) -> None:
    if method in ALLOWED[path].split(", "):
        pytest.skip("defined on this path")
    status, headers, body = _raw(api, method, path, headers=PARTNER)
    assert status == 405
    assert headers["Allow"] == ALLOWED[path]
    if method == "HEAD":
        assert body == b""  # the same answer without its body
        return
    payload = _json_error(status, headers, body)
    assert payload["error"] == "method_not_allowed"
    assert payload["message"].startswith(f"method {method} is not allowed on /")


def test_curl_query_on_health_is_no_longer_the_servers_html_501(api: Api) -> None:
    status, headers, body = _raw(api, "QUERY", "/health")
    assert status == 405 and _json_error(status, headers, body)["error"] == "method_not_allowed"
    assert b"<html" not in body.lower()


def test_an_undefined_method_needs_no_key_and_reaches_no_function(api: Api, runtime: LocalRuntime) -> None:
    before = len(runtime.functions.invocations)
    status, headers, _ = _raw(
        api, "DELETE", "/v1/participants", body=b'{"x": 1}', headers={"Content-Type": "application/json"}
    )
    assert status == 405 and headers["Allow"] == "GET, POST"
    assert len(runtime.functions.invocations) == before  # neither the authorizer nor a handler ran


def test_an_undefined_method_with_another_media_type_is_a_json_415(api: Api) -> None:
    """The mock answers from its application/json request template; API Gateway refuses other
    media types (passthrough NEVER) with its UNSUPPORTED_MEDIA_TYPE response, in JSON."""
    status, headers, body = _raw(api, "PUT", "/health", body=b"hello", headers={"Content-Type": "text/plain"})
    assert status == 415
    assert _json_error(status, headers, body)["error"] == "unsupported_media_type"


@pytest.mark.parametrize("method", ["GET", "QUERY", "OPTIONS", "HEAD"])
def test_an_unknown_path_stays_a_json_404_for_any_method(api: Api, method: str) -> None:
    status, headers, body = _raw(api, method, "/v1/no-such-thing", headers=PARTNER)
    assert status == 404
    if method != "HEAD":
        assert _json_error(status, headers, body)["error"] == "not_found"


def test_a_resource_without_methods_is_an_unknown_path(api: Api) -> None:
    status, headers, body = _raw(api, "POST", "/v1/payments", body=b"{}", headers={"Content-Type": "application/json"})
    assert status == 404 and _json_error(status, headers, body)["error"] == "not_found"


def test_a_malformed_request_line_is_answered_in_json(api: Api) -> None:
    where = urlsplit(api.base)
    import socket

    with socket.create_connection((where.hostname, where.port), timeout=30) as sock:
        sock.sendall(b"GET /health HTTP/1.1 extra\r\nHost: x\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"Content-Type: application/json" in head
    assert json.loads(body)["error"] == "bad_request"

"""API Gateway (REST) as the stack defines it: Lambda proxy routes, MOCK methods (ANY -> 405),
TOKEN authorizer with its result cache, required-header validation and JSON gateway responses.

A method is routed as API Gateway routes it: the resource's own method first, then its ANY
method; a path with no resource (or a resource without methods) is MISSING_AUTHENTICATION_TOKEN.
API Gateway accepts only DELETE, GET, HEAD, OPTIONS, PATCH, POST and PUT; any other method name
(QUERY, PROPFIND, ...) is served locally like a method the path does not define (its ANY mock:
the JSON 405), a choice, so that no client ever gets the HTTP server's HTML or a 5xx.
"""

from __future__ import annotations

import fnmatch
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local_runtime.functions import Functions
from local_runtime.template import Authorizer, MockMethod, Route, StackModel, UsagePlan

REGION = "ap-southeast-3"
ACCOUNT = "123456789012"
API_ID = "localapi"
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
API_GATEWAY_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes


class ApiGateway:
    def __init__(self, model: StackModel, functions: Functions) -> None:
        self._model = model
        self._functions = functions
        self._routes: list[tuple[Route | MockMethod, re.Pattern[str]]] = [
            (route, _compile(route.path)) for route in [*model.routes, *model.mocks]
        ]
        self._cache: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        self._cache_lock = threading.Lock()
        self._meters: dict[str, _Meter] = {}

    def flush_authorizer_cache(self) -> None:
        """Like FlushStageAuthorizersCache: the next request re-runs the authorizer."""
        with self._cache_lock:
            self._cache.clear()

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes, source_ip: str) -> HttpResponse:
        split = urlsplit(raw_path)
        path = split.path.rstrip("/") or "/"
        if len(body) > MAX_BODY_BYTES:
            return self._gateway_error("REQUEST_TOO_LARGE", 413, "Request Too Long")
        route, path_params = self._match(method, path)
        if route is None:
            return self._gateway_error("MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token")
        request_id = str(uuid.uuid4())
        if isinstance(route, MockMethod):
            return self._mock(route, method, headers, body, request_id)

        authorizer_context: dict[str, Any] | None = None
        if route.authorizer:
            outcome = self._authorize(self._model.authorizers[route.authorizer], method, route, headers)
            if isinstance(outcome, HttpResponse):
                return outcome
            authorizer_context = outcome
            usage_key = authorizer_context.pop("__usage_key", None)
            if route.api_key_required:
                refused = self._meter(usage_key, authorizer_context)
                if refused:
                    return refused

        missing = [h for h in route.required_headers if not _header(headers, h)]
        query = parse_qs(split.query, keep_blank_values=True)
        missing += [q for q in route.required_query if q not in query]
        if missing:
            return self._gateway_error(
                "BAD_REQUEST_PARAMETERS",
                400,
                "",
                validation=f"Missing required request parameters: [{', '.join(missing)}]",
            )

        event = {
            "resource": route.path,
            "path": path,
            "httpMethod": method,
            "headers": dict(headers),
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
            "multiValueQueryStringParameters": query or None,
            "pathParameters": path_params or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": route.path,
                "httpMethod": method,
                "path": f"/{self._model.stage}{path}",
                "stage": self._model.stage,
                "requestId": request_id,
                "requestTimeEpoch": int(time.time() * 1000),
                "accountId": ACCOUNT,
                "apiId": API_ID,
                "protocol": "HTTP/1.1",
                "identity": {"sourceIp": source_ip, "userAgent": _header(headers, "User-Agent")},
                "authorizer": authorizer_context,
            },
            "body": body.decode("utf-8", errors="replace") if body else None,
            "isBase64Encoded": False,
        }
        try:
            result = self._functions.invoke(route.function, event, trigger=f"{method} {route.path}")
        except Exception:
            return self._gateway_error("DEFAULT_5XX", 502, "Internal server error")
        return _proxy_response(result)

    # -- authorizer -------------------------------------------------------------

    def _authorize(
        self, authorizer: Authorizer, method: str, route: Route, headers: dict[str, str]
    ) -> dict[str, Any] | HttpResponse:
        token = _header(headers, authorizer.identity_header)
        if not token:
            return self._gateway_error("UNAUTHORIZED", 401, "Unauthorized")
        method_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{self._model.stage}/{method}{route.path}"
        cache_key = (authorizer.logical_id, token)
        with self._cache_lock:
            cached = self._cache.get(cache_key)
        policy: dict[str, Any] | None = None
        if cached and cached[0] > time.monotonic():
            policy = cached[1]
        else:
            try:
                policy = self._functions.invoke(
                    authorizer.function,
                    {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn},
                    trigger="authorizer",
                )
            except Exception as exc:
                if str(exc) == "Unauthorized":
                    return self._gateway_error("UNAUTHORIZED", 401, "Unauthorized")
                # Any other error of the authorizer function: API Gateway's "Authorizer
                # Configuration Error" (AuthorizerConfigurationException), 500 unless the stack says.
                return self._gateway_error("AUTHORIZER_CONFIGURATION_ERROR", 500, "Authorizer error")
            if not isinstance(policy, dict) or not isinstance(policy.get("policyDocument"), dict):
                return self._gateway_error("AUTHORIZER_CONFIGURATION_ERROR", 500, "Authorizer error")
            if authorizer.ttl_seconds > 0:
                with self._cache_lock:
                    self._cache[cache_key] = (time.monotonic() + authorizer.ttl_seconds, policy)
        if not _allows(policy, method_arn):
            return self._gateway_error("ACCESS_DENIED", 403, "User is not authorized to access this resource")
        context = {k: str(v) for k, v in (policy.get("context") or {}).items()}
        context["principalId"] = str(policy.get("principalId", ""))
        if policy.get("usageIdentifierKey"):
            context["__usage_key"] = str(policy["usageIdentifierKey"])
        return context

    # -- usage plans --------------------------------------------------------------

    def _meter(self, usage_key: str | None, context: dict[str, Any]) -> HttpResponse | None:
        """Usage plans with API key source AUTHORIZER. AWS finds the plan through the API key's
        plan membership; locally the authorizer's context names it (``usage_plan``)."""
        plan = self._model.usage_plans.get(f"perisai-{context.get('usage_plan', '')}")
        if not usage_key or plan is None:
            return self._gateway_error("INVALID_API_KEY", 403, "Forbidden")
        with self._cache_lock:
            meter = self._meters.setdefault(usage_key, _Meter(plan))
            verdict = meter.take()
        if verdict == "throttled":
            return self._gateway_error("THROTTLED", 429, "Too Many Requests")
        if verdict == "quota":
            return self._gateway_error("QUOTA_EXCEEDED", 429, "Limit Exceeded")
        return None

    # -- matching and responses -------------------------------------------------

    def _match(self, method: str, path: str) -> tuple[Route | MockMethod | None, dict[str, str]]:
        """The resource's own method, else its ANY method (as API Gateway prefers them)."""
        candidates = [(route, found) for route, pattern in self._routes if (found := pattern.fullmatch(path))]
        for wanted in (method, "ANY"):
            for route, found in candidates:
                if route.method == wanted:
                    return route, found.groupdict()
        return None, {}

    def _mock(
        self, mock: MockMethod, method: str, headers: dict[str, str], body: bytes, request_id: str
    ) -> HttpResponse:
        """A MOCK integration: the request template's statusCode picks the integration response."""
        media_type = (_header(headers, "Content-Type") or "application/json").split(";")[0].strip().lower()
        template = next((t for k, t in mock.request_templates.items() if k.lower() == media_type), None)
        if template is None:
            if mock.passthrough == "NEVER" or (mock.passthrough == "WHEN_NO_TEMPLATES" and mock.request_templates):
                return self._gateway_error("UNSUPPORTED_MEDIA_TYPE", 415, "Unsupported Media Type")
            template = body.decode("utf-8", errors="replace")
        try:
            status = str(int(json.loads(template)["statusCode"]))
        except (ValueError, KeyError, TypeError):
            # API Gateway: "Unable to parse statusCode", a configuration error of the integration.
            return self._gateway_error("API_CONFIGURATION_ERROR", 500, "Internal server error")
        chosen = next(
            (r for r in mock.responses if r.selection_pattern and re.fullmatch(r.selection_pattern, status)), None
        ) or next((r for r in mock.responses if not r.selection_pattern), None)
        if chosen is None:
            return self._gateway_error("API_CONFIGURATION_ERROR", 500, "Internal server error")
        media_out, body_template = next(iter(chosen.templates.items()), ("application/json", ""))
        context = {"httpMethod": method, "resourcePath": mock.path, "requestId": request_id, "stage": self._model.stage}
        rendered = re.sub(
            r"\$\{context\.(\w+)\}|\$context\.(\w+)",
            lambda m: json.dumps(context.get(m.group(1) or m.group(2), ""))[1:-1],  # tokens need no escaping
            body_template,
        )
        return HttpResponse(chosen.status, {"Content-Type": media_out, **chosen.headers}, rendered.encode())

    def _gateway_error(self, kind: str, default_status: int, message: str, validation: str = "") -> HttpResponse:
        configured = self._model.gateway_responses.get(kind)
        family = "DEFAULT_5XX" if default_status >= 500 else "DEFAULT_4XX"
        fallback = self._model.gateway_responses.get(family)
        chosen = configured or fallback
        status = (configured.status if configured and configured.status else None) or default_status
        if chosen is None:
            return HttpResponse(status, {"Content-Type": "application/json"}, json.dumps({"message": message}).encode())
        # messageString is substituted with its quotes, as API Gateway does.
        body = chosen.template.replace("$context.error.messageString", json.dumps(message))
        body = body.replace("$context.error.validationErrorString", json.dumps(validation or message)[1:-1])
        return HttpResponse(status, {"Content-Type": "application/json", **chosen.headers}, body.encode())


class _Meter:
    """Token bucket (rate, burst) plus a daily request quota, per usage key."""

    def __init__(self, plan: UsagePlan) -> None:
        self.plan = plan
        self.tokens = float(plan.burst)
        self.updated = time.monotonic()
        self.day = time.gmtime().tm_yday
        self.used_today = 0

    def take(self) -> str | None:
        now = time.monotonic()
        self.tokens = min(self.plan.burst, self.tokens + (now - self.updated) * self.plan.rate)
        self.updated = now
        if time.gmtime().tm_yday != self.day:
            self.day, self.used_today = time.gmtime().tm_yday, 0
        if self.plan.quota is not None and self.used_today >= self.plan.quota:
            return "quota"
        if self.tokens < 1:
            return "throttled"
        self.tokens -= 1
        self.used_today += 1
        return None


def _compile(path: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(path))
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern)
    return re.compile(pattern)


def _header(headers: dict[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _allows(policy: dict[str, Any], method_arn: str) -> bool:
    statements = (policy.get("policyDocument") or {}).get("Statement", [])
    allowed = False
    for statement in statements:
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        if any(fnmatch.fnmatchcase(method_arn, r) for r in resources):
            if statement.get("Effect") == "Deny":
                return False
            allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def _proxy_response(result: Any) -> HttpResponse:
    if not isinstance(result, dict) or "statusCode" not in result:
        return HttpResponse(502, {"Content-Type": "application/json"}, b'{"message": "Internal server error"}')
    headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
    for key, values in (result.get("multiValueHeaders") or {}).items():
        headers[key] = ", ".join(str(v) for v in values)
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        import base64

        raw = base64.b64decode(body)
    else:
        raw = body.encode()
    return HttpResponse(int(result["statusCode"]), headers, raw)

"""HTTP edge shared by every function: the resolver, partner identity, scopes and
the one place where errors become status codes and JSON bodies."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType, RequestValidationError
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, Field

from perisai import errors
from perisai.domain.partners import Partner
from perisai.domain.rates import max_amount_rupiah
from perisai.models import Model
from perisai.observability import logger
from perisai.partners.models import SECURITY_SCHEME

# API Gateway allows 10 MB; no Perisai request needs more than a few KB.
MAX_BODY_BYTES = 64 * 1024
# A payer's bulk order names up to 20,000 workers (about 20 bytes each).
LARGE_BODY_BYTES = {"/v1/payers/{payer_id}/payment-orders": 512 * 1024}

SCOPES = ("enroll", "pay", "claims", "backoffice")
# Route extension for routes outside the partner authorizer (see infra openapi_doc).
PUBLIC = {"x-perisai-public": True}


class FieldErrorBody(Model):
    field: str = Field(description="The request field at fault, dotted for nested fields")
    message: str


class ErrorBody(Model):
    """Every 4xx and 5xx answer has this body."""

    error: str = Field(description="Machine-readable code, e.g. validation_error, already_enrolled")
    message: str
    fields: list[FieldErrorBody] = Field(default_factory=list)


def error_response(
    status: int, code: str, message: str, fields: Iterable[FieldErrorBody] = (), headers: dict[str, str] | None = None
) -> Response[Any]:
    body = ErrorBody(error=code, message=message, fields=list(fields))
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body.model_dump_json(),
        headers=headers,
    )


_ERROR_DESCRIPTIONS = {
    400: "Malformed request",
    401: "Missing, unknown or revoked partner key, or a provider's bad signature or token",
    403: "The partner key lacks the scope this route needs",
    404: "Not found, or not visible to this partner",
    409: "Conflict with the current state",
    413: "Request body too large",
    415: "Request body is not application/json",
    422: "Invalid request: each bad field is named",
    429: "Too many requests for this partner",
    501: "Capability planned but not built yet",
    503: "A dependency is unavailable; retry later",
}


def documented(
    ok_status: int | None, ok_model: type[BaseModel] | None, *error_statuses: int
) -> dict[int, OpenAPIResponse]:
    """OpenAPI responses for a route: its success model and the ErrorBody for each error status."""
    responses: dict[int, OpenAPIResponse] = {}
    if ok_status is not None and ok_model is not None:
        responses[ok_status] = {
            "description": HTTPStatus(ok_status).phrase,
            "content": {"application/json": {"model": ok_model}},
        }
    for status in sorted({*error_statuses, 500, 503}):
        responses[status] = {
            "description": _ERROR_DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
            "content": {"application/json": {"model": ErrorBody}},
        }
    return responses


def partner_of(app: APIGatewayRestResolver) -> Partner:
    context = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}
    partner_id = context.get("partner_id")
    if not partner_id:
        # Only reachable if a route was deployed without the authorizer: fail closed.
        raise errors.Forbidden("no partner identity on this request")
    return Partner(
        partner_id=partner_id,
        channel=context.get("channel", ""),
        scopes=frozenset(str(context.get("scopes", "")).split()),
        key_id=str(context.get("key_id", "")),
    )


def scoped(*any_of: str) -> dict[str, Any]:
    """Route options for a partner route: the scope check, and the same scopes in the OpenAPI
    document, from which the authorizer builds each key's policy (so API Gateway refuses a
    wrong scope with 403 before the function runs, and the function checks again)."""
    return {"middlewares": [require_scope(*any_of)], "security": [{SECURITY_SCHEME: [scope]} for scope in any_of]}


def require_scope(*any_of: str) -> Callable[[APIGatewayRestResolver, NextMiddleware], Response[Any]]:
    """Route middleware: the partner needs one of ``any_of`` (backoffice passes every check)."""

    def middleware(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
        partner = partner_of(app)
        if not any(partner.can(scope) for scope in any_of):
            return error_response(403, "forbidden", f"this route needs scope {' or '.join(any_of)}")
        app.append_context(partner=partner)  # type: ignore[no-untyped-call]  # Powertools leaves it unannotated
        return next_middleware(app)

    return middleware


def _field_name(location: Iterable[Any]) -> str:
    # Drop list indices: "programs", not "programs.1", is the field a client fixes.
    parts = [str(p) for p in location if not isinstance(p, int)]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


class PartnerApiResolver(APIGatewayRestResolver):
    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        # Before routing and validation: an oversized body is refused without being parsed.
        body = event.get("body") or ""
        limit = LARGE_BODY_BYTES.get(str(event.get("resource")), MAX_BODY_BYTES)
        if len(body.encode() if isinstance(body, str) else body) > limit:
            return _refused(413, "payload_too_large", f"request body exceeds {limit} bytes")
        if not _json_or_absent(event):
            return _refused(415, "unsupported_media_type", "request body must be application/json")
        refusal = _unreadable_body(event)
        return refusal or super().resolve(event, context)

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        # Only `make build` generates the document. Declaring the scheme here, not at start-up, keeps
        # Powertools' OpenAPI models (tens of ms of pydantic model building) out of every cold start.
        from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

        kwargs.setdefault("security_schemes", {SECURITY_SCHEME: HTTPBearer(bearerFormat="opaque partner key")})
        return super().get_openapi_schema(**kwargs)


def _refused(status: int, error: str, message: str, fields: Iterable[FieldErrorBody] = ()) -> dict[str, Any]:
    """A proxy response refusing the request before the resolver parses it."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "multiValueHeaders": {},
        "body": ErrorBody(error=error, message=message, fields=list(fields)).model_dump_json(),
        "isBase64Encoded": False,
    }


def _unreadable_body(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """A body that is not JSON (400), or holds an integer past the policy bound (422, naming it).

    ``json.loads`` raises plain ValueError, not JSONDecodeError, for a number of more than 4,300
    digits, and RecursionError for deep nesting; an integer of 10^38 parses but cannot be stored.
    Checked here, before any route runs, so every integer on every route meets the same bound.
    """
    body = event.get("body")
    if not body:
        return None
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return _refused(400, "malformed_json", "request body is not valid JSON")
    callback = str(event.get("path") or "").startswith("/v1/payments/")  # providers: 400 malformed_body
    if document is not None and not isinstance(document, dict) and not callback:
        # Every body this API takes is an object; Powertools would validate only the first item
        # of an array against the route's model and let the request through.
        message = "request body must be a JSON object"
        return _refused(422, "validation_error", message, [FieldErrorBody(field="body", message=message)])
    bound = max_amount_rupiah()
    fields = [FieldErrorBody(field=path, message=f"must be at most {bound}") for path in _oversized(document, bound)]
    if fields:
        names = ", ".join(dict.fromkeys(f.field for f in fields))
        return _refused(422, "validation_error", f"invalid fields: {names}", fields)
    return None


def _oversized(value: Any, bound: int, path: str = "") -> Iterable[str]:
    """Dotted paths (list indices dropped, as for other field errors) of integers past +-bound."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _oversized(item, bound, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for item in value:
            yield from _oversized(item, bound, path)
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > bound:
        yield path or "body"


def _json_or_absent(event: Mapping[str, Any]) -> bool:
    """A request body is JSON (or untyped, read as JSON). Powertools would otherwise parse form and
    multipart bodies, and raise (a 500) on other media types or a multipart type without boundary."""
    if str(event.get("httpMethod", "")).upper() not in ("POST", "PUT", "PATCH", "DELETE"):  # DELETE: .../payer
        return True
    headers = event.get("headers") or {}
    content_type = next((str(v) for k, v in headers.items() if k.lower() == "content-type"), "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type in ("", content_types.APPLICATION_JSON)


def build_resolver() -> APIGatewayRestResolver:
    # A response that breaks its own model is our bug: 500, never a 4xx blaming the caller.
    app = PartnerApiResolver(
        enable_validation=True, response_validation_error_http_code=HTTPStatus.INTERNAL_SERVER_ERROR
    )
    handlers: dict[type[Exception], Callable[[Any], Response[Any]]] = {
        RequestValidationError: _invalid_request,
        RequestUnsupportedContentType: _unsupported_media_type,
        errors.DomainValidationError: _invalid_domain,
        errors.NotFound: _simple_handler(404, "not_found"),
        errors.AlreadyEnrolled: _simple_handler(409, "already_enrolled"),
        errors.AgentExists: _simple_handler(409, "agent_exists"),
        errors.ClaimAlreadyFiled: _simple_handler(409, "claim_exists"),
        errors.ClaimStateConflict: _simple_handler(409, "invalid_transition"),
        errors.WorkersInOpenOrder: _simple_handler(409, "participant_in_open_order"),
        errors.Forbidden: _simple_handler(403, "forbidden"),
        errors.IdempotencyKeyReused: _simple_handler(422, "idempotency_key_reused"),
        errors.RequestInProgress: _simple_handler(409, "request_in_progress"),
        errors.RulesNotInForce: _simple_handler(422, "rules_not_in_force"),
        errors.NotBuilt: _simple_handler(501, "not_implemented"),
        errors.Unauthenticated: _simple_handler(401, "unauthorized"),
        errors.InvalidPaymentCode: _simple_handler(422, "invalid_payment_code"),
        errors.MalformedCallback: _simple_handler(400, "malformed_body"),
        errors.DependencyUnavailable: _unavailable,
        Exception: _unexpected,
    }
    for exc_class, handle in handlers.items():
        app.exception_handler(exc_class)(handle)
    app.not_found(_no_such_route)
    return app


def _invalid_request(exc: RequestValidationError) -> Response[Any]:
    fields = []
    for err in exc.errors():
        loc = err.get("loc", ())
        message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        if err.get("type") == "json_invalid":
            return error_response(400, "malformed_json", "request body is not valid JSON")
        fields.append(FieldErrorBody(field=_field_name(loc), message=message))
    names = ", ".join(dict.fromkeys(f.field for f in fields))
    return error_response(422, "validation_error", f"invalid fields: {names}", fields)


def _unsupported_media_type(_exc: RequestUnsupportedContentType) -> Response[Any]:
    # e.g. Content-Type: text/plain: the client's mistake, not a 500.
    return error_response(415, "unsupported_media_type", "request body must be application/json")


def _invalid_domain(exc: errors.DomainValidationError) -> Response[Any]:
    fields = [FieldErrorBody(field=f.field, message=f.message) for f in exc.fields]
    names = ", ".join(dict.fromkeys(f.field for f in fields))
    return error_response(422, "validation_error", f"invalid fields: {names}", fields)


def _unavailable(exc: errors.DependencyUnavailable) -> Response[Any]:
    logger.warning("dependency unavailable", extra={"reason": str(exc)})
    return error_response(
        503, "service_unavailable", "a dependency is unavailable; retry later", headers={"Retry-After": "1"}
    )


def _no_such_route(_exc: NotFoundError) -> Response[Any]:
    return error_response(404, "not_found", "no such route")


def _unexpected(_exc: Exception) -> Response[Any]:
    logger.exception("unhandled error")
    return error_response(500, "internal_error", "internal error")


def _simple_handler(status: int, code: str) -> Callable[[Exception], Response[Any]]:
    def handle(exc: Exception) -> Response[Any]:
        return error_response(status, code, str(exc))

    return handle


def json_body(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> Response[Any]:
    """A model with a status other than 200 (the resolver validates and serializes it)."""
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=model, headers=headers)


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))

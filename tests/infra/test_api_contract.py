"""The API contract: every route is documented with its models, and the deployed routes are
exactly the routes the handlers serve (both directions), with the same authorization."""

from __future__ import annotations

import re
from typing import Any

import pytest

from perisai_infra.openapi_doc import build_document

WRITE_METHODS = {"post", "put", "patch"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_document()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, ops in document["paths"].items() for m, op in ops.items()]


def test_every_route_documents_its_request_and_response_models(document: dict[str, Any]) -> None:
    problems = []
    for method, path, operation in _operations(document):
        responses = operation.get("responses", {})
        successes = {s: r for s, r in responses.items() if s.startswith("2")}
        errors = {s: r for s, r in responses.items() if s[0] in "45"}
        documented_success = [
            r for r in successes.values() if r.get("content", {}).get("application/json", {}).get("schema")
        ]
        if not documented_success and "501" not in responses:
            problems.append(f"{method.upper()} {path}: no documented success model")
        for status, response in errors.items():
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("$ref") != "#/components/schemas/ErrorBody":
                problems.append(f"{method.upper()} {path}: error {status} lacks the ErrorBody model")
        if method in WRITE_METHODS:
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if not body:
                problems.append(f"{method.upper()} {path}: no documented request model")
    assert not problems, "\n".join(problems)


def test_the_stack_routes_exactly_what_the_handlers_serve(
    document: dict[str, Any], template_json: dict[str, Any]
) -> None:
    from local_runtime.template import load

    deployed = {(r.method, r.path) for r in load(template_json).routes}
    served = {(m.upper(), p) for m, p, _ in _operations(document)}
    assert deployed == served


def test_public_routes_are_exactly_those_outside_the_authorizer(
    document: dict[str, Any], template_json: dict[str, Any]
) -> None:
    from local_runtime.template import load

    unauthorized_in_stack = {(r.method, r.path) for r in load(template_json).routes if r.authorizer is None}
    public_in_document = {(m.upper(), p) for m, p, op in _operations(document) if op.get("security") == []}
    assert unauthorized_in_stack == public_in_document
    assert all(
        p == "/health" or p == "/v1/openapi.json" or p.startswith("/v1/payments/") for _, p in public_in_document
    )


def test_every_partner_route_declares_its_scopes(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        if operation.get("security") == []:
            continue
        scopes = {s for req in operation.get("security", []) for s in req.get("PartnerKey", [])}
        assert scopes, f"{method.upper()} {path} declares no scope"
        assert scopes <= {"enroll", "pay", "claims", "backoffice"}
        assert re.match(r"^/v1/", path)


def test_the_served_document_is_the_built_one(document: dict[str, Any]) -> None:
    """The layer ships the document `make build` generated; it must match the code."""
    from perisai.partners.policy import api_document

    assert api_document() == document

"""Which routes a partner key may call, from the scopes each operation declares in the
OpenAPI document (the same document the API serves). The authorizer turns this into the
IAM policy API Gateway caches per key, so a wrong scope is refused at the gateway."""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

# Not perisai.api: the authorizer never needs the HTTP resolver (a heavy import).
from perisai.domain.partners import BACKOFFICE
from perisai.partners.models import SECURITY_SCHEME

_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


@cache
def api_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(resources.files("perisai").joinpath("openapi.json").read_text())
    return document


def allowed_routes(document: dict[str, Any], scopes: frozenset[str]) -> list[tuple[str, str]]:
    """(METHOD, path) pairs a key with ``scopes`` may call; path parameters become ``*``."""
    default = document.get("security", [])
    allowed = []
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in _METHODS:
                continue
            requirements = operation.get("security", default)
            if not requirements:
                continue  # public: outside the authorizer
            if BACKOFFICE in scopes or any(
                set(req.get(SECURITY_SCHEME, [])) <= scopes for req in requirements if SECURITY_SCHEME in req
            ):
                allowed.append((method.upper(), re.sub(r"\{[^}]+\}", "*", path)))
    return allowed

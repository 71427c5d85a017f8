"""Shared shape of routes whose capability is planned but not built: an honest 501."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class NotBuiltRequest(BaseModel):
    """Any JSON object; the real request model arrives with the capability."""

    model_config = ConfigDict(extra="allow")


def not_built_response(capability: str) -> Any:
    from perisai.api import error_response

    return error_response(501, "not_implemented", f"{capability} is planned but not built yet")

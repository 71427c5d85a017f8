"""Shared shape of routes whose capability is planned but not built: an honest 501."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from perisai.errors import NotBuilt


class NotBuiltRequest(BaseModel):
    """Any JSON object; the real request model arrives with the capability."""

    model_config = ConfigDict(extra="allow")


def not_built(capability: str) -> NotBuilt:
    return NotBuilt(f"{capability} is planned but not built yet")

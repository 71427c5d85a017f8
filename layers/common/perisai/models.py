"""Model bases for every edge: requests, answers, stored items and event details.

Validation messages never carry the value that failed: a phone number or NIK in a pydantic
error (``input_value='+62...'``) would reach a log line or a trace through the exception text.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """Requests, answers and event details."""

    model_config = ConfigDict(hide_input_in_errors=True)


class StoredModel(BaseModel):
    """An item as stored: checked for types only, never against request rules (phone formats,
    NIK checks), so a stored item stays readable when a rule or its metadata changes. Unknown
    attributes (index keys, later additions) are ignored."""

    model_config = ConfigDict(hide_input_in_errors=True, extra="ignore")

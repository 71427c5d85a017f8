"""Outbox items (written in the same transaction as the change they announce) -> EventBridge."""

from __future__ import annotations

import json
from typing import Any

from perisai import aws
from perisai.dynamo import error_code, from_item
from perisai.errors import DependencyUnavailable
from perisai.models import Model


class OutboxEvent(Model):
    event_id: str
    detail_type: str
    detail: dict[str, Any]


def from_stream_image(new_image: dict[str, Any]) -> OutboxEvent:
    plain = from_item(new_image)
    return OutboxEvent(
        event_id=str(plain["pk"]).removeprefix("OUTBOX#"),
        detail_type=str(plain["detail_type"]),
        detail=json.loads(plain["detail"]),
    )


class EventPublisher:
    def __init__(self, bus_name: str, source: str, events_client: Any | None = None) -> None:
        self._bus = bus_name
        self._source = source
        self._events = events_client

    def publish(self, event: OutboxEvent) -> None:
        client = self._events or aws.client("events")
        try:
            result = client.put_events(
                Entries=[
                    {
                        "EventBusName": self._bus,
                        "Source": self._source,
                        "DetailType": event.detail_type,
                        "Detail": json.dumps(event.detail),
                    }
                ]
            )
        except aws.CALL_ERRORS as exc:
            raise DependencyUnavailable(f"event bus: {error_code(exc)}") from exc
        if result.get("FailedEntryCount"):
            code = result["Entries"][0].get("ErrorCode", "unknown")
            raise DependencyUnavailable(f"event bus rejected {event.detail_type}: {code}")

"""Coverage and agent counters from domain events. An EventBridge rule sends the events the
counters follow to this function's queue; each event is applied once per event id (its
participant's aggregator record remembers the ids it has seen), so a redelivery or a replay of
the event archive changes nothing twice. Partial-batch failures return an event to the queue;
after its retries it goes to the dead-letter queue (alarmed) and can be redriven."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from perisai import aws, snapstart
from perisai.agents.repository import activity_update
from perisai.coverage.models import EventEnvelope
from perisai.coverage.repository import CoverageRepository
from perisai.coverage.service import Aggregator
from perisai.observability import logger, metrics
from perisai.settings import AggregatorEnv

processor = BatchProcessor(event_type=EventType.SQS)


@cache
def aggregator() -> Aggregator:
    table = AggregatorEnv.load().participants_table

    def note_activity(partner_id: str, agent_code: str, month: str) -> None:
        activity_update(table, partner_id, agent_code, month)

    return Aggregator(CoverageRepository(table), note_activity)


def _record(record: SQSRecord) -> None:
    envelope = EventEnvelope.model_validate(json.loads(record.body))
    logger.set_correlation_id(str(envelope.detail.get("event_id", envelope.id)))
    outcome = aggregator().apply(envelope)
    metrics.add_metric(name=f"CoverageEvent{outcome.title()}", unit="Count", value=1)
    logger.info("coverage event", extra={"detail_type": envelope.detail_type, "outcome": outcome})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=_record, processor=processor, context=context)


@snapstart.register_before_snapshot
def prime() -> None:
    """Before the snapshot: the service, its client and an event read (no AWS call)."""
    aggregator()
    aws.client("dynamodb")
    EventEnvelope.model_validate(PRIMING_EVENT)
    "perisai.example".encode("idna")  # botocore's first connection would import the codec


snapstart.register_after_restore(snapstart.renew_after_restore)


PRIMING_EVENT: dict[str, Any] = {
    "id": "priming",
    "detail-type": "ParticipantLapsed",
    "detail": {
        "event_id": "priming",
        "participant_id": "PST-PRIMING",
        "partner_id": "priming",
        "covered_through": "2026-08",
        "first_unpaid_month": "2026-09",
        "lapsed_on": "2026-12-16",
        "at": "2026-12-16T00:30:00+07:00",
    },
}

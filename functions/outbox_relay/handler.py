"""Participants-table stream -> domain events on the bus.

Only outbox inserts reach this function (event source filter). A record that fails is
reported back so Lambda retries it (and bisects); consumers dedupe on ``event_id``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from perisai import aws, snapstart
from perisai.observability import logger, metrics
from perisai.outbox import EventPublisher, from_stream_image
from perisai.settings import OutboxRelayEnv

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@cache
def publisher() -> EventPublisher:
    env = OutboxRelayEnv.load()
    return EventPublisher(env.event_bus_name, env.event_source)


def relay(record: DynamoDBRecord) -> None:
    raw_image = record.raw_event["dynamodb"]["NewImage"]
    event = from_stream_image(raw_image)
    logger.set_correlation_id(event.event_id)  # the event id follows the change into every consumer's logs
    publisher().publish(event)
    metrics.add_metric(name="DomainEventPublished", unit="Count", value=1)
    logger.info("domain event published", extra={"detail_type": event.detail_type, "event_id": event.event_id})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=relay, processor=processor, context=context)


@snapstart.register_before_snapshot
def prime() -> None:
    """Build the publisher and its client, and read an outbox image, before the snapshot."""
    publisher()
    aws.client("events")
    "perisai.example".encode("idna")  # botocore's first connection would import the codec
    from_stream_image(
        {
            "pk": {"S": "OUTBOX#priming"},
            "sk": {"S": "EVENT"},
            "detail_type": {"S": "Priming"},
            "detail": {"S": "{}"},
        }
    )


snapstart.register_after_restore(snapstart.renew_after_restore)

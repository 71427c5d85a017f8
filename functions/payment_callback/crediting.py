"""Crediting bulk orders from their queue. A paid bulk order's ``BulkOrderPaid`` event arrives
(EventBridge rule -> this queue) and is fanned out into one task per chunk of workers, sent to
the same queue; each task credits its workers, each in its own transaction. Partial-batch
failures return a failed record to the queue; after its retries it goes to the DLQ (alarmed).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from perisai import aws, snapstart
from perisai.bulk_orders.models import BulkOrderPaid, CreditTask
from perisai.bulk_orders.repository import BulkOrderRepository
from perisai.bulk_orders.service import BulkOrders
from perisai.clock import clock
from perisai.domain.rates import RateBook
from perisai.observability import logger, metrics
from perisai.participants.repository import ParticipantRepository
from perisai.queues import JobQueue
from perisai.settings import BulkCreditingEnv

processor = BatchProcessor(event_type=EventType.SQS)


@cache
def bulk_orders() -> BulkOrders:
    env = BulkCreditingEnv.load()
    participants = ParticipantRepository(env.participants_table)
    return BulkOrders(BulkOrderRepository(env.participants_table, participants), RateBook.load())


@cache
def queue() -> JobQueue:
    return JobQueue(BulkCreditingEnv.load().bulk_crediting_queue_url)


def _record(record: SQSRecord) -> None:
    body: dict[str, Any] = json.loads(record.body)
    if body.get("detail-type") == "BulkOrderPaid":
        paid = BulkOrderPaid.model_validate(body["detail"])
        logger.set_correlation_id(paid.order_id)
        tasks = bulk_orders().tasks(paid.order_id)
        queue().send(tasks)
        logger.info("bulk order fanned out", extra={"order_id": paid.order_id, "tasks": len(tasks)})
        return
    task = CreditTask.model_validate(body)
    logger.set_correlation_id(task.order_id)
    try:
        bulk_orders().credit_chunk(task, clock.now())
    except Exception:
        # The task returns to the queue (and after its retries to the DLQ); say why here.
        logger.exception("bulk order chunk not finished; the queue retries it", extra={"chunk": task.chunk})
        raise
    metrics.add_metric(name="BulkChunkCredited", unit="Count", value=1)
    logger.info("bulk order chunk credited", extra={"order_id": task.order_id, "chunk": task.chunk})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def credit(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=_record, processor=processor, context=context)


@snapstart.register_before_snapshot
def prime() -> None:
    """Before the snapshot: the service, its clients, and both kinds of message read (no AWS call)."""
    bulk_orders()
    queue()
    for name in ("dynamodb", "sqs"):
        aws.client(name)
    CreditTask.model_validate({"order_id": "ORD-PRIMING", "chunk": 0})
    BulkOrderPaid.model_validate(PRIMING_EVENT["detail"])
    "perisai.example".encode("idna")  # botocore's first connection would import the codec


snapstart.register_after_restore(snapstart.renew_after_restore)


PRIMING_EVENT: dict[str, Any] = {
    "detail-type": "BulkOrderPaid",
    "detail": {
        "event_id": "priming",
        "order_id": "ORD-PRIMING",
        "payer_id": "priming",
        "amount": 16800,
        "participants": 1,
        "chunks": 1,
        "provider": "midtrans",
        "reference": "priming",
        "at": "2026-12-05T10:00:00+07:00",
    },
}

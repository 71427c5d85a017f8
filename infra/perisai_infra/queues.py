"""Work queues and their consumers: the one shape every queue-fed function in the stack shares."""

from __future__ import annotations

from aws_cdk import Duration, Names
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from perisai_infra.nag import acknowledge


def work_queue(
    scope: Construct,
    id_: str,
    *,
    dead_letters: sqs.IQueue,
    visibility: Duration,
    receives: int = 5,
    retention: Duration | None = None,
) -> sqs.Queue:
    """An encrypted, SSL-only queue whose message goes to ``dead_letters`` after ``receives``
    failed receives (the alarmed DLQ, from which it can be redriven)."""
    return sqs.Queue(
        scope,
        id_,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        visibility_timeout=visibility,
        retention_period=retention or Duration.days(14),
        dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=receives),
    )


def consume(function: lambda_.Alias, queue: sqs.Queue, *, batch_size: int, max_concurrency: int) -> None:
    """``function`` reads ``queue`` in batches, reporting the records that failed (only those come
    back); at most ``max_concurrency`` invocations at a time, which paces what it calls."""
    function.add_event_source(
        sources.SqsEventSource(
            queue, batch_size=batch_size, max_concurrency=max_concurrency, report_batch_item_failures=True
        )
    )
    dead_letters = queue.dead_letter_queue.queue.node.id if queue.dead_letter_queue else "its dead-letter queue"
    acknowledge(
        function.node.find_child(f"SqsEventSource:{Names.node_unique_id(queue.node)}"),
        "Serverless-LambdaEventSourceMappingDestination",
        "SQS event sources take no on-failure destination: the queue's redrive policy moves a "
        f"message that keeps failing to {dead_letters}.",
    )

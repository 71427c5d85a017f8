"""Payers' bulk orders: the function that opens them (a longer timeout than the callbacks': it
reads and holds up to 20,000 workers), and their crediting: BulkOrderPaid -> the crediting queue
-> the crediting worker, which fans the order out into one task per chunk of workers on the same
queue and credits each worker in its own transaction. Each function with exactly its grants."""

from __future__ import annotations

from aws_cdk import Duration
from constructs import Construct

from perisai_infra.data import DataConstruct
from perisai_infra.events import EventsConstruct
from perisai_infra.functions import FunctionsConstruct, FunctionSpec
from perisai_infra.grants import allow
from perisai_infra.queues import consume, work_queue

CREDITING_TIMEOUT_SECONDS = 120  # a task: 100 workers, a transaction each
# Opening an order of 20,000 workers: ~200 batch reads and ~200 transactions of holds, one after
# another, inside API Gateway's 29 s (make bench measures the calls).
OPENING_TIMEOUT_SECONDS = 28
# Chunks credited at once: bounds the write rate a 20,000-worker order puts on the table.
MAX_CONCURRENCY = 5


class BulkCreditingConstruct(Construct):
    def __init__(
        self, scope: Construct, id_: str, *, fns: FunctionsConstruct, data: DataConstruct, bus: EventsConstruct
    ) -> None:
        super().__init__(scope, id_)
        table = data.participants
        self.opening = fns.add(
            FunctionSpec(
                "bulk_orders",
                "payment_callback",
                "bulk.handler",
                "Payers' bulk orders: one code for up to 20,000 workers",
                memory=1024,
                timeout_seconds=OPENING_TIMEOUT_SECONDS,
            ),
            {
                "PARTICIPANTS_TABLE": table.table_name,
                "IDEMPOTENCY_TABLE": data.idempotency.table_name,
                "PARTNERS_TABLE": data.partners.table_name,
            },
        )
        opening = self.opening
        # Whether a payer the back office names is a sponsor or local government: its key items.
        allow(opening, ["dynamodb:Query"], [data.partners.table_arn], leading_keys=["PARTNER#*"])
        # The payer's workers (its links) and its open-order pointer (PAYER#); the workers'
        # profiles and holds, read in batches, holds taken in transactions and released in
        # batches (PARTICIPANT#); the order, its worker chunks (in batches) and its code.
        allow(
            opening,
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
            [table.table_arn],
            leading_keys=["PAYER#*"],
        )
        allow(
            opening,
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"],
            [table.table_arn],
            leading_keys=["PARTICIPANT#*"],
        )
        allow(
            opening,
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:BatchWriteItem"],
            [table.table_arn],
            leading_keys=["ORDER#*"],
        )
        allow(opening, ["dynamodb:PutItem"], [table.table_arn], leading_keys=["PAYCODE#*"])
        allow(
            opening,
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            [data.idempotency.table_arn],
        )
        dead_letters = fns.dead_letter_queue("BulkCreditingDeadLetters")
        # Visible again after 6 x the worker's timeout (AWS's advice for Lambda consumers); a task
        # failing 5 times goes to the dead-letter queue (alarmed) and can be redriven: every worker
        # already done is left as it is.
        self.queue = work_queue(
            self,
            "BulkCreditingQueue",
            dead_letters=dead_letters,
            visibility=Duration.seconds(6 * CREDITING_TIMEOUT_SECONDS),
        )
        bus.route_events("BulkOrderPaidToCrediting", ["BulkOrderPaid"], self.queue)
        self.function = fns.add(
            FunctionSpec(
                "bulk_crediting",
                "payment_callback",
                "crediting.credit",
                "Payers' bulk orders: each worker credited in its own transaction, once",
                timeout_seconds=CREDITING_TIMEOUT_SECONDS,
            ),
            {"PARTICIPANTS_TABLE": table.table_name, "BULK_CREDITING_QUEUE_URL": self.queue.queue_url},
        )
        fn = self.function
        # Reads the order, its chunks and progress; writes each worker's outcome and its chunk's
        # progress, the payment's reconciliation items, the chunk-done set and the paid status.
        allow(fn, ["dynamodb:GetItem", "dynamodb:Query"], [table.table_arn], leading_keys=["ORDER#*"])
        allow(fn, ["dynamodb:PutItem", "dynamodb:UpdateItem"], [table.table_arn], leading_keys=["ORDER#*"])
        allow(fn, ["dynamodb:PutItem"], [table.table_arn], leading_keys=["RECON#*", "OUTBOX#*"])
        # The workers' profiles (a batch per chunk, one again after a lost race), ledger entries
        # and the profile on its version.
        allow(
            fn,
            ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem"],
            [table.table_arn],
            leading_keys=["PARTICIPANT#*"],
        )
        allow(fn, ["sqs:SendMessage"], [self.queue.queue_arn])
        consume(fn, self.queue, batch_size=1, max_concurrency=MAX_CONCURRENCY)

"""Asynchronous AWS plumbing, done by polling moto: table streams and queues into their
event source mappings, domain events into rule targets, schedules into their targets."""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from local_runtime.cloud import ACCOUNT, REGION, LocalCloud
from local_runtime.functions import Functions
from local_runtime.template import EventSourceMapping, StackModel

ASYNC_RETRIES = 2  # Lambda retries a failed asynchronous invocation twice
DRAIN_ROUNDS = 200


@dataclass
class _StreamCursor:
    # Last delivered sequence number per shard. A fresh iterator is taken on every poll:
    # moto replaces a table's stream shard when it rolls back a failed transaction, which
    # strands long-lived iterators.
    positions: dict[str, str] = field(default_factory=dict)


class Delivery:
    def __init__(self, model: StackModel, cloud: LocalCloud, functions: Functions) -> None:
        self._model = model
        self._cloud = cloud
        self._functions = functions
        self._lock = threading.RLock()
        self._cursors: dict[str, _StreamCursor] = {}
        self._taps: dict[str, tuple[str, str, str | None]] = {}  # tap queue url -> (function, rule, dlq)
        self._sms_seen: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- wiring -------------------------------------------------------------------

    def wire(self) -> None:
        """Create the stack's rules in moto. Queue targets are real; function targets get a tap queue."""
        events = self._cloud.client("events")
        sqs = self._cloud.client("sqs")
        for rule in self._model.rules:
            bus = self._cloud.resolve({"Ref": rule.bus}) if rule.bus != "default" else "default"
            events.put_rule(
                Name=rule.logical_id,
                EventBusName=bus,
                EventPattern=json.dumps(rule.pattern),
                State="ENABLED" if rule.enabled else "DISABLED",
            )
            targets = []
            for index, target in enumerate(rule.targets):
                if target.target in self._model.functions:
                    url = sqs.create_queue(QueueName=f"local-tap-{rule.logical_id}-{index}")["QueueUrl"]
                    self._taps[url] = (target.target, rule.logical_id, target.dead_letter)
                    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:local-tap-{rule.logical_id}-{index}"
                else:
                    arn = self._cloud.physical[target.target]["Arn"]
                targets.append({"Id": f"t{index}", "Arn": arn})
            events.put_targets(Rule=rule.logical_id, EventBusName=bus, Targets=targets)
        for mapping in self._model.mappings:
            if mapping.source_kind == "dynamodb":
                self._cursors[mapping.logical_id] = _StreamCursor()

    def start(self, interval: float = 0.2) -> None:
        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.pump_once()
                except Exception as exc:  # keep the runtime alive; the error is printed
                    print(f"[local] delivery error: {type(exc).__name__}: {exc}")

        self._thread = threading.Thread(target=loop, name="delivery", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    # -- pumping ----------------------------------------------------------------

    def drain(self) -> int:
        """Deliver until nothing is left in flight; returns how many deliveries ran."""
        total = 0
        for _ in range(DRAIN_ROUNDS):
            delivered = self.pump_once()
            total += delivered
            if delivered == 0:
                return total
        return total

    def pump_once(self) -> int:
        with self._lock:
            delivered = 0
            for mapping in self._model.mappings:
                if mapping.source_kind == "dynamodb":
                    delivered += self._pump_stream(mapping)
                else:
                    delivered += self._pump_queue(mapping)
            delivered += self._pump_taps()
            self._observe_sms()
            return delivered

    def _pump_stream(self, mapping: EventSourceMapping) -> int:
        streams = self._cloud.client("dynamodbstreams")
        stream_arn = self._cloud.physical[mapping.source]["StreamArn"]
        cursor = self._cursors[mapping.logical_id]
        shards = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
        records: list[dict[str, Any]] = []
        for shard in shards:
            shard_id = shard["ShardId"]
            position = cursor.positions.get(shard_id)
            where = (
                {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": position}
                if position
                else {"ShardIteratorType": "TRIM_HORIZON"}
            )
            iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard_id, **where)["ShardIterator"]
            page = streams.get_records(ShardIterator=iterator)
            _forget_iterators(iterator, page.get("NextShardIterator"))
            for record in page.get("Records", []):
                cursor.positions[shard_id] = record["dynamodb"]["SequenceNumber"]
                record = json.loads(json.dumps(record, default=str))
                record["eventSourceARN"] = stream_arn
                if _passes(mapping.filters, record):
                    records.append(record)
        delivered = 0
        for start in range(0, len(records), mapping.batch_size):
            batch = records[start : start + mapping.batch_size]
            self._deliver_stream_batch(mapping, batch)
            delivered += len(batch)
        return delivered

    def _deliver_stream_batch(self, mapping: EventSourceMapping, batch: list[dict[str, Any]]) -> None:
        pending = batch
        for _attempt in range(mapping.max_retries + 1):
            try:
                result = self._functions.invoke(mapping.function, {"Records": pending}, trigger="dynamodb-stream")
            except Exception:  # noqa: S112  # Functions.invoke records the failure; Lambda retries the whole batch
                continue
            failures = (
                [f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])]
                if mapping.partial_failures
                else []
            )
            if not failures:
                return
            # Streams keep order: retry from the first failed record on.
            first = next(i for i, r in enumerate(pending) if r["dynamodb"]["SequenceNumber"] in failures)
            pending = pending[first:]
        if mapping.on_failure:
            self._send(
                mapping.on_failure, {"requestContext": {"condition": "RetryAttemptsExhausted"}, "records": len(pending)}
            )

    def _pump_queue(self, mapping: EventSourceMapping) -> int:
        sqs = self._cloud.client("sqs")
        queue = self._cloud.physical[mapping.source]
        messages = sqs.receive_message(
            QueueUrl=queue["QueueUrl"], MaxNumberOfMessages=min(mapping.batch_size, 10), AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return 0
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue["Arn"],
                "awsRegion": REGION,
            }
            for m in messages
        ]
        try:
            result = self._functions.invoke(mapping.function, {"Records": records}, trigger="sqs")
            failed = (
                {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
                if mapping.partial_failures
                else set()
            )
        except Exception:
            failed = {r["messageId"] for r in records}
        for message in messages:
            if message["MessageId"] in failed and _deferred_by_handler(queue["QueueUrl"], message["ReceiptHandle"]):
                continue  # the handler made it wait (quiet hours): it comes back at that time
            if message["MessageId"] in failed:
                # Back on the queue at once (locally); the queue's redrive policy counts receives.
                sqs.change_message_visibility(
                    QueueUrl=queue["QueueUrl"], ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                sqs.delete_message(QueueUrl=queue["QueueUrl"], ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def _pump_taps(self) -> int:
        sqs = self._cloud.client("sqs")
        delivered = 0
        for url, (function, rule, dead_letter) in self._taps.items():
            for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                event = json.loads(message["Body"])
                self.invoke_async(function, event, trigger=f"rule {rule}", dead_letter=dead_letter)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                delivered += 1
        return delivered

    def invoke_async(
        self, function: str, event: Any, *, trigger: str, dead_letter: str | None, retries: int = ASYNC_RETRIES
    ) -> bool:
        """An asynchronous invocation: retried, then dead-lettered."""
        spec_dlq = self._model.functions[function].dead_letter
        for _attempt in range(retries + 1):
            with contextlib.suppress(Exception):  # Functions.invoke records the failure; Lambda retries it
                self._functions.invoke(function, event, trigger=trigger)
                return True
        target = dead_letter or spec_dlq
        if target:
            self._send(target, event)
        return False

    def _send(self, queue_logical_id: str, body: Any) -> None:
        self._cloud.client("sqs").send_message(
            QueueUrl=self._cloud.physical[queue_logical_id]["QueueUrl"], MessageBody=json.dumps(body, default=str)
        )

    # -- schedules ------------------------------------------------------------

    def run_schedule(self, name: str, at: datetime) -> dict[str, Any]:
        schedule = self._model.schedules[name]
        before = len(self._functions.invocations)
        payload = schedule.input.replace("<aws.scheduler.scheduled-time>", at.isoformat())
        event = json.loads(payload)
        ok = self.invoke_async(
            schedule.target,
            event,
            trigger=f"schedule {name}",
            dead_letter=schedule.dead_letter,
            retries=schedule.max_retries,
        )
        self.drain()
        ran = self._functions.invocations[before:]
        return {
            "schedule": name,
            "at": at.isoformat(),
            "enabled_in_stack": schedule.enabled,
            "target": self._functions.name_of(schedule.target),
            "succeeded": ok,
            "invocations": [
                {"function": i.function, "trigger": i.trigger, "ok": i.ok, "error": i.error, "ms": i.milliseconds}
                for i in ran
            ],
        }

    # -- SMS ------------------------------------------------------------------

    def _observe_sms(self) -> None:
        from moto.sns.models import sns_backends

        from perisai.clock import clock

        sent = sns_backends[ACCOUNT][REGION].sms_messages
        for message_id in list(sent):
            if message_id not in self._sms_seen:
                self._sms_seen[message_id] = clock.now().isoformat()

    def sms(self) -> list[dict[str, str]]:
        from moto.sns.models import sns_backends

        with self._lock:
            self._observe_sms()
            sent = sns_backends[ACCOUNT][REGION].sms_messages
            return [
                {"to": phone, "message": message, "sent_at": self._sms_seen[message_id]}
                for message_id, (phone, message) in sent.items()
            ]


def _deferred_by_handler(queue_url: str, receipt_handle: str) -> bool:
    """Whether the handler kept this received message invisible past the queue's own timeout."""
    import moto.sqs.models
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[ACCOUNT][REGION].queues.get(queue_url.rsplit("/", 1)[-1])
    if queue is None:
        return False
    for message in list(queue._messages):  # moto keeps no public index by receipt handle
        if message.receipt_handle == receipt_handle:
            # moto.sqs.models.unix_time_millis follows the local clock (LocalRuntime.start).
            ahead = message.visible_at - moto.sqs.models.unix_time_millis()
            return bool(ahead > int(queue.visibility_timeout) * 1000 + 1000)
    return False


def _passes(filters: tuple[str, ...], record: dict[str, Any]) -> bool:
    if not filters:
        return True
    from moto.events.models import EventPattern

    return any(EventPattern.load(pattern).matches_event(record) for pattern in filters)


def new_id() -> str:
    return str(uuid.uuid4())


def _forget_iterators(*iterators: str | None) -> None:
    """moto keeps every shard iterator it hands out, and each holds the stream's shard and so its
    table; after a rolled-back transaction that is a whole stale copy of the table. Polling with a
    fresh iterator many times a second, the local runtime would hold thousands of table copies by
    the end of the suite: it drops each iterator once used (AWS expires them after 15 minutes)."""
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    from local_runtime.cloud import ACCOUNT, REGION

    kept = dynamodbstreams_backends[ACCOUNT][REGION].shard_iterators
    for iterator in iterators:
        if iterator:
            kept.pop(iterator, None)

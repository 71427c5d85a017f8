"""Task queues (SQS): jobs fan their work out as tasks, and a task is deferred while it waits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from perisai import aws
from perisai.dynamo import error_code
from perisai.errors import DependencyUnavailable
from perisai.models import Model


class JobQueue:
    """Sends page tasks or reminder messages to an SQS queue; defers a received message."""

    def __init__(self, url: str, sqs: Any | None = None) -> None:
        self._url = url
        self._sqs = sqs

    @property
    def _client(self) -> Any:
        return self._sqs or aws.client("sqs")

    def send(self, messages: Sequence[Model]) -> None:
        for start in range(0, len(messages), 10):
            batch = messages[start : start + 10]
            entries = [{"Id": str(i), "MessageBody": m.model_dump_json()} for i, m in enumerate(batch)]
            try:
                result = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
            except aws.CALL_ERRORS as exc:
                raise DependencyUnavailable(f"queue: {error_code(exc)}") from exc
            if result.get("Failed"):
                # The caller's task fails and is retried whole; a message sent twice is sent once
                # as SMS (the send claim) and a page task twice is stale the second time (the cursor).
                raise DependencyUnavailable(f"queue refused {len(result['Failed'])} messages")

    def defer(self, receipt_handle: str, seconds: int) -> None:
        """Keep a received message invisible for ``seconds`` (at most SQS's 12 hours)."""
        try:
            self._client.change_message_visibility(
                QueueUrl=self._url, ReceiptHandle=receipt_handle, VisibilityTimeout=max(0, min(seconds, 43_200))
            )
        except aws.CALL_ERRORS as exc:
            raise DependencyUnavailable(f"queue: {error_code(exc)}") from exc

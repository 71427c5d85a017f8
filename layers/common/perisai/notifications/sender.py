"""Sending SMS (SNS) once per notification, and never losing one.

A claim item is written before sending, owned by the queue message that carries the
notification. Duplicates of the notification (other messages) find the claim and skip. A
claim is never a dead end: when the owner's send fails it releases the claim, and if that
release fails too, or the function dies between claim and send, the owner's own redelivery
takes the claim over (SQS redelivers a message only once its earlier receive has ended, so a
higher receive count means the earlier attempt is over). A claim still "sending" after
CLAIM_LEASE_SECONDS may be taken over by any delivery, for an owner that reached the
dead-letter queue and came back as a new message.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from perisai import aws
from perisai.clock import clock
from perisai.dynamo import error_code
from perisai.errors import DependencyUnavailable
from perisai.observability import logger

CLAIM_TTL_SECONDS = 90 * 24 * 3600
# Longer than a queue message stays invisible (60 s) plus the notifier's timeout: an owner
# attempt can no longer be running when its claim is this old.
CLAIM_LEASE_SECONDS = 300


@dataclass(frozen=True)
class Delivery:
    """The queue message carrying a notification, and how many times it has been received."""

    message_id: str
    receive_count: int = 1


class SendOutcome(StrEnum):
    SENT = "sent"
    ALREADY_HANDLED = "already sent or being sent"


class SmsSender:
    def __init__(self, table_name: str, sender_id: str, dynamodb: Any | None = None, sns: Any | None = None) -> None:
        self._table = table_name
        self._sender_id = sender_id
        self._dynamodb = dynamodb
        self._sns = sns

    def send_once(self, notification_id: str, phone: str, message: str, delivery: Delivery) -> SendOutcome:
        dynamodb = self._dynamodb or aws.client("dynamodb")
        key = {"pk": {"S": f"NOTIFICATION#{notification_id}"}, "sk": {"S": "SMS"}}
        if not self._claim(dynamodb, key, delivery):
            return SendOutcome.ALREADY_HANDLED
        try:
            (self._sns or aws.client("sns")).publish(
                PhoneNumber=phone,
                Message=message,
                MessageAttributes={
                    "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                    "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": self._sender_id},
                },
            )
        except aws.CALL_ERRORS as exc:
            # After a timeout the SMS may in fact have gone out: a rare duplicate is better than
            # a worker never told.
            self._release(dynamodb, key, delivery)
            raise DependencyUnavailable(f"sms: {error_code(exc)}") from exc
        self._mark_sent(dynamodb, key, delivery)
        return SendOutcome.SENT

    def was_sent(self, notification_id: str) -> bool:
        """Whether this notification already went out (a cheap check before preparing it again)."""
        dynamodb = self._dynamodb or aws.client("dynamodb")
        try:
            item = dynamodb.get_item(
                TableName=self._table,
                Key={"pk": {"S": f"NOTIFICATION#{notification_id}"}, "sk": {"S": "SMS"}},
                ConsistentRead=True,
            ).get("Item")
        except aws.CALL_ERRORS as exc:
            raise DependencyUnavailable(f"participants table: {error_code(exc)}") from exc
        return bool(item) and item.get("sms_status", {}).get("S") == "sent"

    def _claim(self, dynamodb: Any, key: dict[str, Any], delivery: Delivery) -> bool:
        now = int(clock.now().timestamp())
        try:
            dynamodb.put_item(
                TableName=self._table,
                Item={
                    **key,
                    "entity": {"S": "notification"},
                    "sms_status": {"S": "sending"},
                    "message_id": {"S": delivery.message_id},
                    "receive_count": {"N": str(delivery.receive_count)},
                    "claimed_at": {"N": str(now)},
                    "expires_at": {"N": str(now + CLAIM_TTL_SECONDS)},
                },
                ConditionExpression=(
                    "attribute_not_exists(pk) OR (sms_status = :sending AND "
                    "((message_id = :message AND receive_count < :count) OR claimed_at < :stale))"
                ),
                ExpressionAttributeValues={
                    ":sending": {"S": "sending"},
                    ":message": {"S": delivery.message_id},
                    ":count": {"N": str(delivery.receive_count)},
                    ":stale": {"N": str(now - CLAIM_LEASE_SECONDS)},
                },
            )
        except aws.CALL_ERRORS as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise DependencyUnavailable(f"participants table: {error_code(exc)}") from exc
        return True

    def _owned(self, delivery: Delivery) -> dict[str, Any]:
        return {
            "ConditionExpression": "message_id = :message AND receive_count = :count",
            "ExpressionAttributeValues": {
                ":message": {"S": delivery.message_id},
                ":count": {"N": str(delivery.receive_count)},
            },
        }

    def _release(self, dynamodb: Any, key: dict[str, Any], delivery: Delivery) -> None:
        try:
            dynamodb.delete_item(TableName=self._table, Key=key, **self._owned(delivery))
        except aws.CALL_ERRORS as exc:
            # Not lost: this message's redelivery takes the claim over.
            logger.warning("sms claim not released", extra={"reason": error_code(exc)})

    def _mark_sent(self, dynamodb: Any, key: dict[str, Any], delivery: Delivery) -> None:
        owned = self._owned(delivery)
        try:
            dynamodb.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET sms_status = :sent",
                ConditionExpression=owned["ConditionExpression"],
                ExpressionAttributeValues={**owned["ExpressionAttributeValues"], ":sent": {"S": "sent"}},
            )
        except aws.CALL_ERRORS as exc:
            # The SMS is out and this message is answered as done, so nothing resends it; only a
            # duplicate arriving after the lease could.
            logger.warning("sms claim not marked sent", extra={"reason": error_code(exc)})

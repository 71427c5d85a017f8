"""Sending SMS (SNS) at most once per notification: a claim item is written before sending
and removed again if the send fails, so a redelivered message neither skips nor repeats."""

from __future__ import annotations

import time
from typing import Any

from perisai import aws
from perisai.dynamo import error_code
from perisai.errors import DependencyUnavailable

CLAIM_TTL_SECONDS = 90 * 24 * 3600


class SmsSender:
    def __init__(self, table_name: str, sender_id: str, dynamodb: Any | None = None, sns: Any | None = None) -> None:
        self._table = table_name
        self._sender_id = sender_id
        self._dynamodb = dynamodb
        self._sns = sns

    def send_once(self, notification_id: str, phone: str, message: str) -> bool:
        """Send unless this notification was already sent; True if sent now."""
        dynamodb = self._dynamodb or aws.client("dynamodb")
        key = {"pk": {"S": f"NOTIFICATION#{notification_id}"}, "sk": {"S": "SMS"}}
        try:
            dynamodb.put_item(
                TableName=self._table,
                Item={
                    **key,
                    "entity": {"S": "notification"},
                    "expires_at": {"N": str(int(time.time()) + CLAIM_TTL_SECONDS)},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except aws.CALL_ERRORS as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise DependencyUnavailable(f"participants table: {error_code(exc)}") from exc
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
            # Release the claim so the redelivered message sends again. After a timeout the SMS
            # may in fact have gone out: a rare duplicate is better than a worker never told.
            dynamodb.delete_item(TableName=self._table, Key=key)
            raise DependencyUnavailable(f"sms: {error_code(exc)}") from exc
        return True

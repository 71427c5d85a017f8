"""Dues reminders and the daily status job: the scheduled run, its page worker, the reminder SMS
queue and its paced sender, each function with exactly the grants it uses."""

from __future__ import annotations

import math

from aws_cdk import Duration
from constructs import Construct

from perisai_infra.data import DataConstruct
from perisai_infra.functions import FunctionsConstruct, FunctionSpec
from perisai_infra.grants import allow
from perisai_infra.nag import acknowledge
from perisai_infra.queues import consume, work_queue

# The SMS provider's per-country pace (AWS's default for a country until raised); `cdk deploy
# -c smsRatePerSecond=100` after AWS raised it. Every sender shares it (perisai.reminders.repository.SendRate).
DEFAULT_SMS_RATE_PER_SECOND = "10"
PAGE_TIMEOUT_SECONDS = 60
SENDER_TIMEOUT_SECONDS = 60


class RemindersConstruct(Construct):
    def __init__(self, scope: Construct, id_: str, *, fns: FunctionsConstruct, data: DataConstruct) -> None:
        super().__init__(scope, id_)
        rate = str(self.node.try_get_context("smsRatePerSecond") or DEFAULT_SMS_RATE_PER_SECOND)
        # The sender ID registered with the Indonesian operators (3-11 alphanumeric).
        sender_id = str(self.node.try_get_context("smsSenderId") or "PERISAI")
        table = data.participants

        # Page tasks: one index page each. Visible again after 6 x the worker's timeout (AWS's
        # advice for Lambda consumers); 5 failed receives -> dead-letter queue, alarmed.
        self.pages = work_queue(
            self,
            "ReminderPagesQueue",
            dead_letters=fns.dead_letter_queue("ReminderPagesQueueDeadLetters"),
            visibility=Duration.seconds(6 * PAGE_TIMEOUT_SECONDS),
        )
        # Reminders to send. Kept 14 days: a month's reminders may wait days for their send window.
        # A record waits out quiet hours invisible (one receive a night), so 10 receives leave room
        # for retries of a failing send before the dead-letter queue.
        self.sms = work_queue(
            self,
            "ReminderSmsQueue",
            dead_letters=fns.dead_letter_queue("ReminderSmsQueueDeadLetters"),
            visibility=Duration.seconds(6 * SENDER_TIMEOUT_SECONDS),
            receives=10,
        )
        environment = {
            "PARTICIPANTS_TABLE": table.table_name,
            "REMINDER_PAGES_QUEUE_URL": self.pages.queue_url,
            "REMINDER_SMS_QUEUE_URL": self.sms.queue_url,
            "SMS_RATE_PER_SECOND": rate,
            "SMS_SENDER_ID": sender_id,
        }

        self.jobs = fns.add(
            FunctionSpec(
                "reminder_jobs",
                "reminders",
                "handler.run_job",
                "Daily dues-reminder and status jobs: fan out page tasks",
                timeout_seconds=60,
                invoked_async=True,
            ),
            environment,
        )
        # Opens rounds (a transaction of Puts) and reads and marks their cursors; no participant.
        allow(
            self.jobs,
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
            [table.table_arn],
            leading_keys=["REMINDERS#*"],
        )
        allow(self.jobs, ["dynamodb:Query"], [table.table_arn], leading_keys=["REMINDERS#*"])
        allow(self.jobs, ["sqs:SendMessage"], [self.pages.queue_arn])

        pages = fns.add(
            FunctionSpec(
                "reminder_pages",
                "reminders",
                "handler.process_pages",
                "One page of the due-month index: status changes or planned reminders",
                timeout_seconds=PAGE_TIMEOUT_SECONDS,
            ),
            environment,
        )
        allow(pages, ["dynamodb:Query"], [f"{table.table_arn}/index/by_due_month"])
        # Status changes: the profile on its version with its outbox event (one transaction of Puts).
        allow(
            pages,
            ["dynamodb:GetItem", "dynamodb:PutItem"],
            [table.table_arn],
            leading_keys=["PARTICIPANT#*", "OUTBOX#*", "REMINDERS#*"],
        )
        allow(pages, ["dynamodb:GetItem", "dynamodb:UpdateItem"], [table.table_arn], leading_keys=["SMSBUDGET#*"])
        allow(pages, ["sqs:SendMessage"], [self.pages.queue_arn, self.sms.queue_arn])
        # Five pages of at most 200 participants: a status page's writes stay well inside the timeout.
        consume(pages, self.pages, batch_size=5, max_concurrency=4)

        sender = fns.add(
            FunctionSpec(
                "reminder_sender",
                "reminders",
                "sender.send",
                "Reminder SMS, paced across senders and held in quiet hours",
                memory=256,
                timeout_seconds=SENDER_TIMEOUT_SECONDS,
            ),
            environment,
        )
        # Reads the profile and opens (or reuses) a payment order: the order, its code and the
        # participant's open-order pointer, one transaction of Puts; the ledger range its rebate reads.
        allow(
            sender,
            ["dynamodb:GetItem", "dynamodb:PutItem"],
            [table.table_arn],
            leading_keys=["PARTICIPANT#*", "ORDER#*", "PAYCODE#*"],
        )
        allow(sender, ["dynamodb:Query"], [table.table_arn], leading_keys=["PARTICIPANT#*"])
        allow(
            sender,
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            [table.table_arn],
            leading_keys=["NOTIFICATION#*"],
        )
        allow(sender, ["dynamodb:UpdateItem"], [table.table_arn], leading_keys=["SMSRATE#*"])
        allow(sender, ["sns:Publish"], ["*"])
        allow(sender, ["sqs:ChangeMessageVisibility"], [self.sms.queue_arn])
        acknowledge(
            sender.role,  # type: ignore[arg-type]  # Function.role is optional in CDK; fns.add always passes one
            "AwsSolutions-IAM5[Resource::*]",
            "SMS to phone numbers: sns:Publish has no resource ARN for a phone number; X-Ray has none either.",
        )
        # One consumer per ~5 SMS a second (each send is a few DynamoDB calls and an SNS publish),
        # at least two; the shared pace (SendRate) holds the rate whatever the concurrency.
        consume(sender, self.sms, batch_size=10, max_concurrency=max(2, math.ceil(int(rate) / 5)))

"""The whole Perisai system in one stack, one construct per concern."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct

from perisai_infra.agents import AgentsConstruct
from perisai_infra.api import ApiConstruct
from perisai_infra.bulk_orders import BulkCreditingConstruct
from perisai_infra.claims import ClaimsConstruct
from perisai_infra.coverage import CoverageConstruct
from perisai_infra.data import DataConstruct
from perisai_infra.events import EVENT_SOURCE, EventsConstruct
from perisai_infra.functions import FunctionsConstruct, FunctionSpec
from perisai_infra.grants import allow as _allow
from perisai_infra.monitoring import MonitoringConstruct
from perisai_infra.nag import acknowledge
from perisai_infra.queues import consume, work_queue
from perisai_infra.reminders import RemindersConstruct


class PerisaiStack(Stack):
    def __init__(self, scope: Construct, id_: str, **kwargs: Any) -> None:
        super().__init__(scope, id_, **kwargs)
        data = DataConstruct(self, "Data")
        fns = FunctionsConstruct(self, "Functions")
        events_dlq = fns.dead_letter_queue("EventsDeadLetterQueue")
        outbox_dlq = fns.dead_letter_queue("OutboxDeadLetterQueue")
        bus = EventsConstruct(self, "Events", dead_letter_queue=events_dlq)

        authorizer = fns.add(
            FunctionSpec(
                "authorizer",
                "authorizer",
                "handler.handler",
                "Partner API key -> identity and scopes",
                memory=256,
                timeout_seconds=5,
            ),
            {"PARTNERS_TABLE": data.partners.table_name},
        )
        # It reads a key's item (KEY#<hash>/KEY), never the partners' listings.
        _allow(authorizer, ["dynamodb:GetItem"], [data.partners.table_arn], leading_keys=["KEY#*"])

        enroll = fns.add(
            FunctionSpec(
                "enroll",
                "enroll",
                "handler.handler",
                "Enrollment of participants, dues quotes, health and OpenAPI",
            ),
            {
                "PARTICIPANTS_TABLE": data.participants.table_name,
                "IDEMPOTENCY_TABLE": data.idempotency.table_name,
                "NIK_KEY_ARN": data.nik_key.key_arn,
                "NIK_HMAC_SECRET_ARN": data.nik_hmac_secret.secret_arn,
            },
        )
        # Explicit statements on the table ARN: table.grant() would add every index ARN too, and
        # enroll queries no index. A transaction of Puts needs PutItem only.
        _allow(enroll, ["dynamodb:GetItem", "dynamodb:PutItem"], [data.participants.table_arn])
        _allow(
            enroll,
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            [data.idempotency.table_arn],
        )
        # A reactivation by another payer deletes the payer link of a payer no longer in the timeline.
        _allow(enroll, ["dynamodb:DeleteItem"], [data.participants.table_arn], leading_keys=["PAYER#*"])
        # Encrypts NIKs (envelope: a data key per NIK); nothing in the API decrypts one.
        _allow(enroll, ["kms:GenerateDataKey"], [data.nik_key.key_arn])
        _allow(enroll, ["secretsmanager:GetSecretValue"], [data.nik_hmac_secret.secret_arn])

        payments = fns.add(
            FunctionSpec(
                "payment_callback",
                "payment_callback",
                "handler.handler",
                "Payment orders, provider callbacks and the contributions ledger",
                timeout_seconds=10,
            ),
            {
                "PARTICIPANTS_TABLE": data.participants.table_name,
                "IDEMPOTENCY_TABLE": data.idempotency.table_name,
                "MIDTRANS_SERVER_KEY_SECRET_ARN": data.midtrans_server_key.secret_arn,
                "XENDIT_CALLBACK_TOKEN_SECRET_ARN": data.xendit_callback_token.secret_arn,
                "CHANNEL_SECRETS_ARN": data.channel_secrets.secret_arn,
                "PARTNERS_TABLE": data.partners.table_name,
            },
        )
        # Credits with one TransactWriteItems of Puts (PutItem), reads with GetItem and Query on the
        # base table (the ledger, the orders); no index. Its idempotency records: Powertools.
        _allow(
            payments,
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
            [data.participants.table_arn],
        )
        # Deletes, inside transactions that put the item back under another key: a reversed ledger
        # entry moves from PARTICIPANT#<id> DUES#<month> to REVERSED#, a resolved reconciliation
        # item from RECON#open to RECON#resolved. Held to those partitions (never NIK#, ORDER#, PAYCODE#).
        _allow(
            payments,
            ["dynamodb:DeleteItem"],
            [data.participants.table_arn],
            leading_keys=["PARTICIPANT#*", "RECON#*"],
        )
        # Marks a ledger entry's rebate (a later discount) as taken by the order that used it.
        _allow(
            payments,
            ["dynamodb:UpdateItem"],
            [data.participants.table_arn],
            leading_keys=["PARTICIPANT#*"],
        )
        _allow(
            payments,
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            [data.idempotency.table_arn],
        )
        _allow(
            payments,
            ["secretsmanager:GetSecretValue"],
            [secret.secret_arn for secret in data.provider_secrets],
        )
        # Payers: whether a partner the back office names is a sponsor or local government (its key
        # listing items, never the KEY#<hash> items the authorizer reads); a payer link that no
        # longer pays any month is deleted (PAYER#<payer>, in the participant's transaction); a
        # payer's statement is one partition of the by_payer_month index.
        _allow(payments, ["dynamodb:Query"], [data.partners.table_arn], leading_keys=["PARTNER#*"])
        _allow(payments, ["dynamodb:DeleteItem"], [data.participants.table_arn], leading_keys=["PAYER#*"])
        _allow(payments, ["dynamodb:Query"], [f"{data.participants.table_arn}/index/by_payer_month"])
        # A page of the workers a payer pays for: their profiles in one BatchGetItem.
        _allow(payments, ["dynamodb:BatchGetItem"], [data.participants.table_arn], leading_keys=["PARTICIPANT#*"])
        bulk = BulkCreditingConstruct(self, "BulkCrediting", fns=fns, data=data, bus=bus)
        CoverageConstruct(self, "Coverage", fns=fns, data=data, bus=bus)
        claim_documents = ClaimsConstruct(self, "Claims", data=data)
        claims = fns.add(
            FunctionSpec(
                "claims",
                "claims",
                "handler.handler",
                "JKK, JKM and JHT claims: eligibility, benefits, decisions, payouts, documents",
            ),
            {
                "PARTICIPANTS_TABLE": data.participants.table_name,
                "IDEMPOTENCY_TABLE": data.idempotency.table_name,
                "CLAIM_DOCUMENTS_BUCKET": claim_documents.documents.bucket_name,
            },
        )
        claim_documents.grant(claims)
        reminders = RemindersConstruct(self, "Reminders", fns=fns, data=data)
        agents = AgentsConstruct(
            self, "Agents", fns=fns, data=data, schedule_group=bus.group, dead_letter_queue=events_dlq
        )
        jobs = reminders.jobs

        outbox_relay = fns.add(
            FunctionSpec(
                "outbox_relay",
                "outbox_relay",
                "handler.handler",
                "Outbox items on the participants stream -> domain events",
                memory=256,
                timeout_seconds=30,
            ),
            {"EVENT_BUS_NAME": bus.bus.event_bus_name, "EVENT_SOURCE": EVENT_SOURCE},
        )
        _allow(outbox_relay, ["events:PutEvents"], [bus.bus.event_bus_arn])
        outbox_relay.add_event_source(
            sources.DynamoEventSource(
                data.participants,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=100,
                bisect_batch_on_error=True,
                retry_attempts=10,
                report_batch_item_failures=True,
                on_failure=sources.SqsDlq(outbox_dlq),
                filters=[
                    lambda_.FilterCriteria.filter(
                        {
                            "eventName": lambda_.FilterRule.is_equal("INSERT"),
                            "dynamodb": {"NewImage": {"entity": {"S": lambda_.FilterRule.is_equal("outbox")}}},
                        }
                    )
                ],
            )
        )

        bus.schedule_jobs(jobs)

        # ParticipantEnrolled -> notifications queue -> notifier (SMS). The queue's event source
        # mapping paces sends (low maximum concurrency) below the SMS provider's rate.
        notifications_dlq = fns.dead_letter_queue("NotificationsDeadLetterQueue")
        notifications = work_queue(
            self,
            "NotificationsQueue",
            dead_letters=notifications_dlq,
            visibility=Duration.seconds(60),
            retention=Duration.days(4),
        )
        bus.route_events("ParticipantEnrolledToNotifications", ["ParticipantEnrolled"], notifications)
        notifier = fns.add(
            FunctionSpec(
                "notifier",
                "notifier",
                "handler.handler",
                "Domain events -> SMS to workers, at most once each",
                memory=256,
                timeout_seconds=30,
            ),
            {"PARTICIPANTS_TABLE": data.participants.table_name, "SMS_SENDER_ID": "PERISAI"},
        )
        # Reads the participant's profile; writes only its own send-claim items (NOTIFICATION#<event>).
        _allow(notifier, ["dynamodb:GetItem"], [data.participants.table_arn], leading_keys=["PARTICIPANT#*"])
        _allow(
            notifier,
            ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            [data.participants.table_arn],
            leading_keys=["NOTIFICATION#*"],
        )
        _allow(notifier, ["sns:Publish"], ["*"])
        acknowledge(
            notifier.role,  # type: ignore[arg-type]  # Function.role is optional in CDK; fns.add always passes one
            "AwsSolutions-IAM5[Resource::*]",
            "SMS to phone numbers: sns:Publish has no resource ARN for a phone number; X-Ray has none either.",
        )
        consume(notifier, notifications, batch_size=10, max_concurrency=2)

        api = ApiConstruct(
            self,
            "Api",
            functions={
                "enroll": enroll,
                "payment_callback": payments,
                "bulk_orders": bulk.opening,
                "claims": claims,
                "agents": agents.api,
            },
            authorizer_fn=authorizer,
        )

        acknowledge(
            api.api.node.find_child("CloudWatchRole"),
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
            "The account-level role API Gateway needs to write access and execution logs; AWS maintains this policy.",
        )
        MonitoringConstruct(
            self,
            "Monitoring",
            functions=fns.functions,
            queues=fns.dead_letter_queues,
            api=api.api,
        )

        for name, value in {
            "ApiUrl": api.api.url,
            "ParticipantsTableName": data.participants.table_name,
            "PartnersTableName": data.partners.table_name,
            "IdempotencyTableName": data.idempotency.table_name,
            "EventBusName": bus.bus.event_bus_name,
            # Where operators put the providers' credentials after deploy (docs/RUNBOOK.md).
            "MidtransServerKeySecretArn": data.midtrans_server_key.secret_arn,
            "XenditCallbackTokenSecretArn": data.xendit_callback_token.secret_arn,
            "ChannelSecretsArn": data.channel_secrets.secret_arn,
            **{f"{name.title()}UsagePlanId": plan.usage_plan_id for name, plan in api.usage_plans.items()},
        }.items():
            CfnOutput(self, name, value=value, export_name=f"{self.stack_name}-{name}")

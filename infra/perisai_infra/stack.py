"""The whole Perisai system in one stack, one construct per concern."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Names, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from perisai_infra.api import ApiConstruct
from perisai_infra.data import DataConstruct
from perisai_infra.events import EVENT_SOURCE, EventsConstruct, queue_event_source
from perisai_infra.functions import FunctionsConstruct, FunctionSpec
from perisai_infra.monitoring import MonitoringConstruct
from perisai_infra.nag import acknowledge


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
        data.partners.grant(authorizer, "dynamodb:GetItem")

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
        data.participants.grant(
            enroll,
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:Query",
        )
        self._acknowledge_index_grant(
            enroll, data, "Query on the participants table's own indexes (by partner, by due month, by agent)."
        )
        data.idempotency.grant(
            enroll,
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        )
        data.nik_key.grant(enroll, "kms:GenerateDataKey", "kms:Decrypt")
        data.nik_hmac_secret.grant_read(enroll)

        payments = fns.add(
            FunctionSpec(
                "payment_callback",
                "payment_callback",
                "handler.handler",
                "Payment provider callbacks (not built yet: 501)",
            )
        )
        claims = fns.add(
            FunctionSpec(
                "claims",
                "claims",
                "handler.handler",
                "JKK, JKM and JHT claims (not built yet: 501)",
            )
        )
        jobs = fns.add(
            FunctionSpec(
                "reminder_jobs",
                "reminders",
                "handler.run_job",
                "Daily dues-reminder and lapse jobs",
                timeout_seconds=300,
                invoked_async=True,
            ),
            {"PARTICIPANTS_TABLE": data.participants.table_name},
        )

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
        bus.bus.grant_put_events_to(outbox_relay)
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
        notifications = sqs.Queue(
            self,
            "NotificationsQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(60),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(queue=notifications_dlq, max_receive_count=5),
        )
        bus.route_events("ParticipantEnrolledToNotifications", ["ParticipantEnrolled"], notifications)
        notifier = fns.add(
            FunctionSpec(
                "notifier",
                "reminders",
                "handler.notify",
                "Domain events -> SMS to workers, at most once each",
                memory=256,
                timeout_seconds=30,
            ),
            {"PARTICIPANTS_TABLE": data.participants.table_name, "SMS_SENDER_ID": "PERISAI"},
        )
        data.participants.grant(
            notifier, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"
        )
        notifier.add_to_role_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=["*"]))
        acknowledge(
            notifier.role,  # type: ignore[arg-type]
            "AwsSolutions-IAM5[Resource::*]",
            "SMS to phone numbers: sns:Publish has no resource ARN for a phone number; X-Ray has none either.",
        )
        self._acknowledge_index_grant(
            notifier,
            data,
            "CDK's table grant also lists the table's index ARNs; the actions are single-item reads and writes.",
        )
        source = queue_event_source(notifications, batch_size=10, max_concurrency=2)
        notifier.add_event_source(source)
        acknowledge(
            notifier.node.find_child(f"SqsEventSource:{Names.node_unique_id(notifications.node)}"),
            "Serverless-LambdaEventSourceMappingDestination",
            "SQS event sources take no on-failure destination: the queue's redrive policy moves a "
            "message failing 5 times to NotificationsDeadLetterQueue.",
        )

        api = ApiConstruct(
            self,
            "Api",
            functions={
                "enroll": enroll,
                "payment_callback": payments,
                "claims": claims,
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
            **{f"{name.title()}UsagePlanId": plan.usage_plan_id for name, plan in api.usage_plans.items()},
        }.items():
            CfnOutput(self, name, value=value, export_name=f"{self.stack_name}-{name}")

    def _acknowledge_index_grant(self, function: lambda_.Function, data: DataConstruct, reason: str) -> None:
        table_id = self.get_logical_id(data.participants.node.default_child)  # type: ignore[arg-type]
        acknowledge(function.role, f"AwsSolutions-IAM5[Resource::<{table_id}.Arn>/index/*]", reason)  # type: ignore[arg-type]

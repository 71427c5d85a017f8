"""Alarms on dead letters, errors, throttles, 5xx and NIK lookup bursts, wired to one SNS topic,
and a dashboard."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

# NIK lookups and already_enrolled answers per partner (EMF from enroll: namespace Perisai, metric
# NikLookups, the one dimension partner_id). A partner probing NIKs in bulk (an existence oracle)
# exceeds this; channels collecting dues look up far fewer in 5 minutes.
NIK_LOOKUP_BURST = 300
# Metrics Insights: the busiest partner's count in each period, one time series for the alarm.
NIK_LOOKUPS_BY_BUSIEST_PARTNER = (
    "SELECT SUM(NikLookups) FROM SCHEMA(Perisai, partner_id) GROUP BY partner_id ORDER BY SUM() DESC LIMIT 1"
)


class MonitoringConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        functions: dict[str, lambda_.Function],
        queues: dict[str, sqs.Queue],
        api: apigw.RestApi,
    ) -> None:
        super().__init__(scope, id_)
        # CloudWatch cannot use the AWS-managed SNS key: a key of our own lets alarms publish.
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description="Encrypts the alarm topic; CloudWatch may use it to publish",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        cloudwatch = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        key.grant(cloudwatch, "kms:Decrypt", "kms:GenerateDataKey*")
        self.topic = sns.Topic(self, "AlarmTopic", display_name="Perisai alarms", master_key=key, enforce_ssl=True)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["sns:Publish"],
                principals=[cloudwatch],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )
        action = cw_actions.SnsAction(self.topic)
        alarms: list[cw.Alarm] = []

        def any_above_zero(metric: cw.IMetric, id_: str, description: str) -> None:
            alarms.append(
                metric.create_alarm(
                    self,
                    id_,
                    threshold=0,
                    comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    evaluation_periods=1,
                    alarm_description=description,
                    treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                )
            )

        five_minutes = Duration.minutes(5)
        for name, queue in queues.items():
            any_above_zero(
                queue.metric_approximate_number_of_messages_visible(period=five_minutes),
                f"{name}Depth",
                f"Messages are waiting in dead-letter queue {name}",
            )
        for key, fn in functions.items():
            label = "".join(p.title() for p in key.split("_"))
            any_above_zero(
                fn.metric_errors(period=five_minutes), f"{label}Errors", f"{key} raised errors (failed job or request)"
            )
            any_above_zero(fn.metric_throttles(period=five_minutes), f"{label}Throttles", f"{key} was throttled")
        server_errors = api.metric_server_error(period=Duration.minutes(5), statistic="Average")
        alarms.append(
            server_errors.create_alarm(
                self,
                "Api5xxRate",
                threshold=0.01,
                evaluation_periods=2,
                alarm_description="More than 1% of API requests answered 5xx",
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            )
        )
        nik_lookups = cw.MathExpression(
            expression=NIK_LOOKUPS_BY_BUSIEST_PARTNER,
            label="NIK lookups, busiest partner",
            period=five_minutes,
        )
        alarms.append(
            nik_lookups.create_alarm(
                self,
                "NikLookupBurst",
                threshold=NIK_LOOKUP_BURST,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                alarm_description=f"A partner made more than {NIK_LOOKUP_BURST} NIK lookups or already_enrolled "
                "answers in 5 minutes: possible NIK enumeration (existence oracle)",
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            )
        )
        for alarm in alarms:
            alarm.add_alarm_action(action)

        dashboard = cw.Dashboard(self, "Dashboard", dashboard_name="Perisai")
        dashboard.add_widgets(
            cw.GraphWidget(
                title="API requests and errors",
                left=[
                    api.metric_count(),
                    api.metric_client_error(),
                    api.metric_server_error(),
                ],
            ),
            cw.GraphWidget(
                title="API latency",
                left=[
                    api.metric_latency(statistic="p99"),
                    api.metric_integration_latency(statistic="p99"),
                ],
            ),
        )
        dashboard.add_widgets(
            cw.GraphWidget(
                title="Function errors",
                left=[fn.metric_errors() for fn in functions.values()],
            ),
            cw.GraphWidget(
                title="Function duration p99",
                left=[fn.metric_duration(statistic="p99") for fn in functions.values()],
            ),
        )
        dashboard.add_widgets(
            cw.GraphWidget(
                title="NIK lookups per partner (top 5, 5 min)",
                left=[
                    cw.MathExpression(
                        expression=NIK_LOOKUPS_BY_BUSIEST_PARTNER.replace("LIMIT 1", "LIMIT 5"),
                        label="",
                        period=five_minutes,
                    )
                ],
                left_annotations=[cw.HorizontalAnnotation(value=NIK_LOOKUP_BURST, label="alarm")],
                width=24,
            )
        )
        dashboard.add_widgets(cw.AlarmStatusWidget(title="Alarms", alarms=alarms, width=24))

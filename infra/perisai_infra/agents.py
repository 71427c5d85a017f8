"""Agen Perisai: the agents function (registry routes; the agent reports join it later), the
daily inactivity job and its schedule, each function with exactly the grants it uses."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from perisai_infra.data import DataConstruct
from perisai_infra.events import JAKARTA
from perisai_infra.functions import FunctionsConstruct, FunctionSpec
from perisai_infra.grants import allow

INACTIVITY_SCHEDULE = "agent-inactivity"
# A run reads a bounded window of index partitions (policy catch_up_months) and flags agents one
# conditional write each: a few thousand agents in all (2018: 3,700) take seconds.
INACTIVITY_TIMEOUT_SECONDS = 300


class AgentsConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        fns: FunctionsConstruct,
        data: DataConstruct,
        schedule_group: scheduler.IScheduleGroup,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, id_)
        table = data.participants
        self.api = fns.add(
            FunctionSpec(
                "agents",
                "agents",
                "handler.handler",
                "Agen Perisai registry: register, read, deactivate and reactivate agents",
            ),
            {"PARTICIPANTS_TABLE": table.table_name, "PARTNERS_TABLE": data.partners.table_name},
        )
        # Its agents only (AGENTS / <partner>#<CODE>): read, created on absence, changed on the version read.
        allow(self.api, ["dynamodb:GetItem", "dynamodb:PutItem"], [table.table_arn], leading_keys=["AGENTS"])
        # Whether a partner the back office names exists: its key listing items, never KEY#<hash>.
        allow(self.api, ["dynamodb:Query"], [data.partners.table_arn], leading_keys=["PARTNER#*"])

        # The agent reports (reports.py), reads only. The evaluation list pages the registry
        # (AGENTS) and a coverage report or an agent's statement lines are one counter partition
        # (AGG#*); an agent's counter item is one GetItem, a page of agents' items one
        # BatchGetItem; the fraud signals read the agent's recruits from the by_agent index (keys
        # only) and their profiles in BatchGetItems (PARTICIPANT#*).
        allow(self.api, ["dynamodb:Query"], [table.table_arn], leading_keys=["AGENTS", "AGG#*"])
        allow(self.api, ["dynamodb:GetItem"], [table.table_arn], leading_keys=["AGG#*"])
        allow(self.api, ["dynamodb:BatchGetItem"], [table.table_arn], leading_keys=["AGG#*", "PARTICIPANT#*"])
        allow(self.api, ["dynamodb:Query"], [f"{table.table_arn}/index/by_agent"])

        self.jobs = fns.add(
            FunctionSpec(
                "agent_jobs",
                "agents",
                "jobs.inactivity",
                "Daily: flags agents without acquisitions or collections for the policy's months",
                timeout_seconds=INACTIVITY_TIMEOUT_SECONDS,
                invoked_async=True,
            ),
            {"PARTICIPANTS_TABLE": table.table_name},
        )
        # The inactivity partitions (AGENTLAST#<month>) of the by_partner index, keys only; each
        # agent read again and flagged on its version.
        allow(self.jobs, ["dynamodb:Query"], [f"{table.table_arn}/index/by_partner"])
        allow(self.jobs, ["dynamodb:GetItem", "dynamodb:PutItem"], [table.table_arn], leading_keys=["AGENTS"])

        role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
            description="EventBridge Scheduler invokes the agent inactivity job",
        )
        self.schedule = scheduler.Schedule(
            self,
            "InactivitySchedule",
            schedule=scheduler.ScheduleExpression.cron(hour="1", minute="0", time_zone=JAKARTA),
            target=scheduler_targets.LambdaInvoke(
                self.jobs,
                input=scheduler.ScheduleTargetInput.from_object(
                    {"job": INACTIVITY_SCHEDULE, "scheduled_at": "<aws.scheduler.scheduled-time>"}
                ),
                dead_letter_queue=dead_letter_queue,
                role=role,
                retry_attempts=3,
                max_event_age=Duration.hours(6),
            ),
            schedule_group=schedule_group,
            schedule_name=INACTIVITY_SCHEDULE,
            description="Daily 01:00 WIB: flags agents without acquisitions or collections for 3 whole months",
        )

"""Domain event bus, its rules, the notification queue and the daily schedules."""

from __future__ import annotations

import json
from dataclasses import dataclass

from aws_cdk import Duration, TimeZone
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from perisai_infra.paths import LAYER_SOURCE

EVENT_SOURCE = "perisai"
JAKARTA = TimeZone.ASIA_JAKARTA


@dataclass(frozen=True)
class Job:
    name: str  # schedule name, also the job the reminders function runs
    hour: str
    minute: str
    description: str
    built: bool  # a job not built yet is defined but disabled


def _reminder_hours() -> str:
    """Every hour of the SMS window from the earliest time a reminder may go out (reminder book
    data): each run opens the rules whose day and time have come, and resumes rounds carried over."""
    book = json.loads((LAYER_SOURCE / "perisai/domain/data/reminders.json").read_text(encoding="utf-8"))
    first = min(int(rule["send_from"].split(":")[0]) for rule in book["reminders"])
    last = int(book["sms"]["quiet_from"].split(":")[0]) - 1
    return f"{first}-{last}"


JOBS: tuple[Job, ...] = (
    Job(
        "dues-reminders",
        _reminder_hours(),
        "0",
        "Hourly in the SMS window: opens the reminder rounds whose day and time have come (the "
        "reminder book) and resumes rounds carried over",
        built=True,
    ),
    Job(
        "lapse-detection",
        "0",
        "30",
        "Daily: moves participants to arrears and lapsed after unpaid months",
        built=True,
    ),
)


class EventsConstruct(Construct):
    def __init__(self, scope: Construct, id_: str, *, dead_letter_queue: sqs.Queue) -> None:
        super().__init__(scope, id_)
        self.bus = events.EventBus(
            self,
            "DomainEvents",
            description="Perisai domain events (ParticipantEnrolled, ...)",
        )
        self.bus.archive(
            "DomainEventsArchive",
            event_pattern=events.EventPattern(source=[EVENT_SOURCE]),
            # Kept indefinitely (no retention): replaying it rebuilds the coverage counters from
            # the first event, so it must hold every event since the first.
            description="Replayable history of every domain event",
        )
        self._dlq = dead_letter_queue
        self.group = scheduler.ScheduleGroup(self, "Jobs", schedule_group_name="perisai")

    def route_events(self, name: str, detail_types: list[str], queue: sqs.Queue) -> events.Rule:
        """Rule: these domain events -> an SQS queue (consumers are paced by their event source mapping)."""
        rule = events.Rule(
            self,
            name,
            event_bus=self.bus,
            event_pattern=events.EventPattern(source=[EVENT_SOURCE], detail_type=detail_types),
        )
        rule.add_target(
            targets.SqsQueue(
                queue,
                dead_letter_queue=self._dlq,
                retry_attempts=185,
                max_event_age=Duration.hours(24),
            )
        )
        return rule

    def schedule_jobs(self, target_fn: lambda_.IFunction) -> list[scheduler.Schedule]:
        """The jobs' schedules, invoking ``target_fn`` (the job function's live alias)."""
        schedules = []
        role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
            description="EventBridge Scheduler invokes the job function",
        )
        for job in JOBS:
            target = scheduler_targets.LambdaInvoke(
                target_fn,
                input=scheduler.ScheduleTargetInput.from_object(
                    {"job": job.name, "scheduled_at": "<aws.scheduler.scheduled-time>"}
                ),
                dead_letter_queue=self._dlq,
                role=role,
                retry_attempts=3,
                max_event_age=Duration.hours(6),
            )
            schedules.append(
                scheduler.Schedule(
                    self,
                    "".join(p.title() for p in job.name.split("-")) + "Schedule",
                    schedule=scheduler.ScheduleExpression.cron(hour=job.hour, minute=job.minute, time_zone=JAKARTA),
                    target=target,
                    schedule_group=self.group,
                    schedule_name=job.name,
                    description=job.description + ("" if job.built else " (not built yet: disabled)"),
                    enabled=job.built,
                )
            )
        return schedules

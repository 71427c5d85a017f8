"""Coverage and agent counters: the domain events they follow -> the aggregator's queue -> the
aggregator, which keeps each participant's record and the counters the reports read."""

from __future__ import annotations

from aws_cdk import Duration
from constructs import Construct

from perisai_infra.data import DataConstruct
from perisai_infra.events import EventsConstruct
from perisai_infra.functions import FunctionsConstruct, FunctionSpec
from perisai_infra.grants import allow
from perisai_infra.queues import consume, work_queue

AGGREGATOR_TIMEOUT_SECONDS = 30
# Events of different participants touch the same counter items: a few consumers keep the
# transactions' conflicts rare (each is retried) while far outpacing the event rate.
MAX_CONCURRENCY = 2
# The events the counters follow (perisai.coverage.service.COUNTED_EVENTS; a test keeps both equal).
COUNTED_EVENTS = [
    "ParticipantEnrolled",
    "ContributionReceived",
    "ContributionReversed",
    "ParticipantActivated",
    "ParticipantReactivated",
    "ParticipantInArrears",
    "ParticipantLapsed",
    "ClaimSubmitted",
    "ClaimDecided",
    "ClaimPaid",
]


class CoverageConstruct(Construct):
    def __init__(
        self, scope: Construct, id_: str, *, fns: FunctionsConstruct, data: DataConstruct, bus: EventsConstruct
    ) -> None:
        super().__init__(scope, id_)
        table = data.participants
        dead_letters = fns.dead_letter_queue("AggregatorDeadLetters")
        self.queue = work_queue(
            self,
            "AggregatorQueue",
            dead_letters=dead_letters,
            visibility=Duration.seconds(6 * AGGREGATOR_TIMEOUT_SECONDS),
        )
        bus.route_events("CountedEventsToAggregator", COUNTED_EVENTS, self.queue)
        self.function = fns.add(
            FunctionSpec(
                "aggregator",
                "aggregator",
                "handler.handler",
                "Domain events -> coverage and agent counters, once per event id",
                memory=512,
                timeout_seconds=AGGREGATOR_TIMEOUT_SECONDS,
            ),
            {"PARTICIPANTS_TABLE": table.table_name},
        )
        fn = self.function
        # Its own items only: each participant's record (read, then put on its version) and the
        # counters (ADD) in one transaction; the agent's last month of activity (registry item).
        allow(fn, ["dynamodb:GetItem", "dynamodb:PutItem"], [table.table_arn], leading_keys=["AGG#*"])
        allow(fn, ["dynamodb:UpdateItem"], [table.table_arn], leading_keys=["AGG#*", "AGENTS"])
        consume(fn, self.queue, batch_size=10, max_concurrency=MAX_CONCURRENCY)

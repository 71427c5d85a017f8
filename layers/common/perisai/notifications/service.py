"""Which domain events become which SMS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perisai.clock import clock
from perisai.domain.months import DuesMonth
from perisai.enrollment.models import ParticipantEnrolled
from perisai.notifications import messages
from perisai.notifications.sender import Delivery, SendOutcome, SmsSender
from perisai.observability import metrics
from perisai.participants.repository import ParticipantRepository
from perisai.settings import NotifierEnv


@dataclass
class NotificationService:
    participants: ParticipantRepository
    sms: SmsSender

    @classmethod
    def from_environment(cls) -> NotificationService:
        env = NotifierEnv.load()
        return cls(ParticipantRepository(env.participants_table), SmsSender(env.participants_table, env.sms_sender_id))

    def handle_event(self, event: dict[str, Any], delivery: Delivery) -> str:
        """An EventBridge event as delivered to the queue; returns what was done (for logs)."""
        if event.get("detail-type") != "ParticipantEnrolled":
            return "ignored"
        enrolled = ParticipantEnrolled.model_validate(event["detail"])
        participant = self.participants.get(enrolled.participant_id)
        if participant is None:
            return "participant not found"
        month = DuesMonth.parse(enrolled.first_dues_month)
        text = messages.welcome(
            participant.participant_id, str(month), enrolled.first_dues_total, month.due_date(), clock.today_jakarta()
        )
        outcome = self.sms.send_once(f"ParticipantEnrolled:{enrolled.event_id}", participant.phone, text, delivery)
        if outcome is SendOutcome.SENT:
            metrics.add_metric(name="WelcomeSmsSent", unit="Count", value=1)
        return str(outcome)

"""Changing a participant without losing anybody else's change.

``modify`` reads the profile, applies a change, and writes it conditional on the version it
read; when another writer got there first it reads again and re-applies the change. Every
capability that changes a participant (enrollment, payments, reminders, claims) goes through it.
A store that keeps payer links (``replace_linked``) gets the participant as read too, and writes
the links the change touches in the same transaction (none when the payer timeline is unchanged).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Protocol, runtime_checkable

from perisai.domain.billing import Standing, standing
from perisai.domain.months import DuesMonth
from perisai.domain.rates import Policies
from perisai.errors import DependencyUnavailable, NotFound, VersionConflict
from perisai.participants.models import Participant, ParticipantStatus
from perisai.participants.repository import DomainEvent

WRITE_ATTEMPTS = 5

# A change: the participant as read -> (the participant to store, the events announcing it),
# or None when there is nothing to change (the write is skipped).
Change = Callable[[Participant], tuple[Participant, Sequence[DomainEvent]] | None]


class ParticipantWriter(Protocol):
    def get(self, participant_id: str) -> Participant | None: ...

    def replace(
        self, participant: Participant, read_version: int, events: Sequence[DomainEvent] = ()
    ) -> Participant: ...


@runtime_checkable
class LinkedParticipantWriter(Protocol):
    def replace_linked(
        self, before: Participant, after: Participant, events: Sequence[DomainEvent] = ()
    ) -> Participant: ...


def modify(store: ParticipantWriter, participant_id: str, change: Change) -> Participant:
    """Apply ``change`` to the latest version of the participant; returns what is stored."""
    for _ in range(WRITE_ATTEMPTS):
        current = store.get(participant_id)
        if current is None:
            raise NotFound("participant")
        outcome = change(current)
        if outcome is None:
            return current
        updated, events = outcome
        try:
            if isinstance(store, LinkedParticipantWriter):
                return store.replace_linked(current, updated, events)
            return store.replace(updated, current.version, events)
        except VersionConflict:
            continue  # another writer changed it after our read: re-read and apply again
    raise DependencyUnavailable(f"participant {participant_id} kept changing during {WRITE_ATTEMPTS} attempts")


def standing_of(participant: Participant, today: date, policies: Policies) -> Standing:
    """Where the participant stands on ``today`` (Asia/Jakarta), from their dates alone."""
    return standing(
        first_dues_month=DuesMonth.parse(participant.first_dues_month),
        covered_through=DuesMonth.parse(participant.covered_through) if participant.covered_through else None,
        today=today,
        due_day=policies.due_day_of_month,
        window_months=policies.arrears_window_months,
    )


def shown_status(participant: Participant, now_standing: Standing) -> ParticipantStatus:
    """The status the participant has on that standing. A worker who never paid had no protection
    to end, so they stay pending_payment until they lapse; a claim's end is final."""
    if participant.status == "ended":
        return "ended"
    if participant.covered_through is None and now_standing.status == "arrears":
        return "pending_payment"
    return now_standing.status

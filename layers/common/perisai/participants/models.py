"""The stored participant: one item ``PARTICIPANT#<id> / PROFILE``, no NIK in clear.

Read with types only (``StoredModel``): request rules such as phone normalisation ran once,
when the data came in, and are not run again on every read.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from perisai.domain.payers import payer_in_force
from perisai.domain.programs import PayerType, Program, Sector
from perisai.models import StoredModel

# ended: a claim (death, or JHT paid out on stopping work) ended the participation for good.
ParticipantStatus = Literal["pending_payment", "active", "arrears", "lapsed", "ended"]


class StoredPayer(StoredModel):
    type: PayerType
    id: str | None = None


class PayerChange(StoredModel):
    """From ``from_month`` on, ``payer`` pays the worker's dues (None: the worker pays again).
    Set by ``PUT``/``DELETE /v1/participants/{id}/payer``; a change replaces every later one."""

    from_month: str
    payer: StoredPayer | None = None
    at: datetime
    by: str  # the partner that asked (the payer itself or the back office)


class StoredHeir(StoredModel):
    name: str
    relationship: str
    phone: str | None = None


class Recruitment(StoredModel):
    """Who brought the worker in. Fixed at the first enrollment: agent cohorts and retention
    are counted against it, whoever reactivates the participant later."""

    partner_id: str
    agent_code: str | None = None
    at: datetime


class EnrollmentRecord(StoredModel):
    """The latest enrollment request that changed this participant (first enrollment or a
    reactivation), so a retry whose answer was lost gets the same answer again."""

    request_id: str | None = None
    partner_id: str
    agent_code: str | None = None
    reactivated: bool = False
    dues_month: str
    at: datetime


class Participant(StoredModel):
    participant_id: str
    partner_id: str
    channel: str
    nik_hash: str
    nik_ciphertext: str
    full_name: str
    birth_date: date
    gender: Literal["M", "F"]
    phone: str
    occupation: str
    sector: Sector
    monthly_income: int
    programs: list[Program]
    payer: StoredPayer | None = None
    heir: StoredHeir | None = None
    status: ParticipantStatus
    enrolled_at: datetime
    recruited_by: Recruitment
    last_enrollment: EnrollmentRecord
    first_dues_month: str
    covered_through: str | None = None
    next_dues_month: str
    # The enrollment's payer (``payer``) pays from the first dues month until a change says otherwise.
    payer_changes: list[PayerChange] = []
    # The NIK's province (2 digits) and regency (4 digits): kept in clear for regional reports
    # and statements (the NIK itself is only kept encrypted). None for participants stored before.
    regency: str | None = None
    # The worker asked for no reminder SMS (POST .../sms-opt-out); the welcome SMS is not a reminder.
    sms_opt_out: bool = False
    # Optimistic concurrency: every write is conditional on the version it read.
    version: int = 1

    @property
    def payer_type(self) -> PayerType:
        return self.payer.type if self.payer else "self"

    def payer_for(self, month: str) -> StoredPayer | None:
        """The payer in force for dues month ``month`` (YYYY-MM); None: the worker pays."""
        return payer_in_force(self.payer, [(c.from_month, c.payer) for c in self.payer_changes], month)

    @property
    def agent_code(self) -> str | None:
        return self.recruited_by.agent_code

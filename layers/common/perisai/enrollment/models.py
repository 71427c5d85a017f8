"""Enrollment edge models: the request, the answers and the ParticipantEnrolled event.
(The stored participant is ``perisai.participants.models.Participant``.)"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StrictInt, field_validator

from perisai.domain.errors import DomainValidationError
from perisai.domain.identity import normalize_mobile, validate_nik
from perisai.domain.programs import PayerType, Program, Sector, require_mandatory_programs
from perisai.domain.quote import DuesQuote
from perisai.domain.rates import max_amount_rupiah
from perisai.models import Model
from perisai.participants.models import ParticipantStatus

Relationship = Literal["spouse", "child", "parent", "sibling", "other"]


def _domain_check(fn: Callable[[str], str], value: str) -> str:
    # Domain validators raise DomainValidationError; pydantic wants ValueError to name the field.
    try:
        return fn(value)
    except DomainValidationError as exc:
        raise ValueError("; ".join(f.message for f in exc.fields)) from None


# Every integer amount in a request is held to one policy bound (rate data), so no number can
# overflow the stores or the arithmetic downstream.
Rupiah = Annotated[StrictInt, Field(ge=0, le=max_amount_rupiah())]


class Payer(Model):
    """Who pays the dues: the worker, a SERTAKAN sponsor, or a local government (APBD)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    type: PayerType
    # A sponsor or local government pays as itself (EnrollmentService sets the id from the caller).
    id: str | None = Field(default=None, min_length=1, max_length=64, description="The paying partner's id (its own)")


class Heir(Model):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=150)
    relationship: Relationship
    phone: str | None = None

    @field_validator("phone")
    @classmethod
    def _mobile(cls, value: str | None) -> str | None:
        return None if value is None else _domain_check(normalize_mobile, value)


class EnrollmentRequest(Model):
    """POST /v1/participants. Unknown fields are ignored."""

    # A name or occupation of only spaces is empty.
    model_config = ConfigDict(str_strip_whitespace=True)

    nik: str = Field(description="16-digit NIK; stored encrypted, indexed by a keyed hash")
    full_name: str = Field(min_length=1, max_length=150)
    birth_date: date = Field(description="YYYY-MM-DD; must agree with the NIK")
    gender: Literal["M", "F"] = Field(description="Must agree with the NIK (women: day + 40)")
    phone: str = Field(description="Indonesian mobile number; stored as E.164")
    occupation: str = Field(min_length=1, max_length=100)
    sector: Sector
    monthly_income: Annotated[Rupiah, Field(description="Declared monthly income, integer rupiah")]
    programs: list[Program] = Field(min_length=1, description="Must include JKK and JKM; JHT optional")
    agent_code: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9-]{3,32}$",
        description="Agen Perisai code, unique within the partner; case does not matter (stored upper case)",
    )
    payer: Payer | None = None
    heir: Heir | None = None

    @field_validator("nik")
    @classmethod
    def _nik(cls, value: str) -> str:
        return _domain_check(validate_nik, value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return _domain_check(normalize_mobile, value)

    @field_validator("agent_code")
    @classmethod
    def _agent_code(cls, value: str | None) -> str | None:
        return value.upper() if value else value

    @field_validator("programs")
    @classmethod
    def _mandatory_programs(cls, value: list[Program]) -> list[Program]:
        try:
            return require_mandatory_programs(value)
        except DomainValidationError as exc:
            raise ValueError(exc.fields[0].message) from None

    @property
    def payer_type(self) -> PayerType:
        return self.payer.type if self.payer else "self"


class EnrollmentResponse(Model):
    participant_id: str
    status: ParticipantStatus
    partner_id: str
    agent_code: str | None
    enrolled_at: datetime
    reactivated: bool = Field(default=False, description="A lapsed participant enrolled again under the same id")
    dues: DuesQuote = Field(
        description="Dues for the month this enrollment starts from (the month of enrollment, Asia/Jakarta)"
    )


class ParticipantView(Model):
    """GET /v1/participants/{participant_id}: what the enrolling partner (or back office) sees."""

    participant_id: str
    status: ParticipantStatus
    partner_id: str
    agent_code: str | None
    enrolled_at: datetime
    programs: list[Program]
    sector: Sector
    covered_through: str | None = Field(description="Last paid dues month (YYYY-MM), null before the first payment")
    next_dues_month: str = Field(
        description="The first dues month still unpaid (a lapsed worker resumes from this month)"
    )
    months_owed: int = Field(description="Overdue dues months that can still be paid (arrears)")
    last_day_to_pay: date | None = Field(
        default=None, description="In arrears: the last day to pay before the participation ends"
    )
    next_dues: DuesQuote
    sms_opt_out: bool = Field(
        description="The worker asked for no dues reminder SMS (POST .../sms-opt-out; POST .../sms-opt-in "
        "undoes it); the one welcome SMS at enrollment is not a reminder"
    )


class SmsConsentRequest(Model):
    """POST /v1/participants/{participant_id}/sms-opt-out and .../sms-opt-in: no fields; the body
    may be absent or ``{}`` (unknown fields are ignored, as on the other requests)."""


class ParticipantLookup(Model):
    """GET /v1/participants?nik=...: only the id and status."""

    participant_id: str
    status: ParticipantStatus


class ParticipantEnrolled(Model):
    """Detail of the ParticipantEnrolled domain event. No NIK, name or phone."""

    event_id: str
    participant_id: str
    partner_id: str
    channel: str
    agent_code: str | None
    sector: Sector
    programs: list[Program]
    payer_type: PayerType
    first_dues_month: str
    first_dues_total: int
    enrolled_at: datetime
    reactivated: bool = False
    # Where coverage is counted, fixed at the first enrollment: the NIK's regency (4 digits; its
    # first 2 are the province) and who recruited the participant.
    regency: str | None = None
    recruited_by_partner: str | None = None
    recruited_by_agent: str | None = None

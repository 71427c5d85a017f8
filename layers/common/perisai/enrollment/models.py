"""Enrollment edge models: the request, the responses and the stored participant."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from perisai.domain.dues import DuesQuote, PayerType, Program, Sector
from perisai.domain.errors import DomainValidationError
from perisai.domain.identity import normalize_mobile, validate_nik

ParticipantStatus = Literal["pending_payment", "active", "arrears", "lapsed"]
Relationship = Literal["spouse", "child", "parent", "sibling", "other"]


def _domain_check(fn, value):  # type: ignore[no-untyped-def]
    # Domain validators raise DomainValidationError; pydantic wants ValueError to name the field.
    try:
        return fn(value)
    except DomainValidationError as exc:
        raise ValueError("; ".join(f.message for f in exc.fields)) from None


class Payer(BaseModel):
    """Who pays the dues: the worker, a SERTAKAN sponsor, or a local government (APBD)."""

    model_config = ConfigDict(extra="forbid")
    type: PayerType
    id: str | None = Field(default=None, min_length=1, max_length=64, description="Sponsor or government id")

    @model_validator(mode="after")
    def _sponsor_needs_id(self) -> Payer:
        if self.type != "self" and not self.id:
            raise ValueError(f"payer.id is required when payer.type is {self.type}")
        return self


class Heir(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=150)
    relationship: Relationship
    phone: str | None = None

    @field_validator("phone")
    @classmethod
    def _mobile(cls, value: str | None) -> str | None:
        return None if value is None else _domain_check(normalize_mobile, value)


class EnrollmentRequest(BaseModel):
    """POST /v1/participants. Unknown fields are ignored."""

    nik: str = Field(description="16-digit NIK; stored encrypted, indexed by a keyed hash")
    full_name: str = Field(min_length=1, max_length=150)
    birth_date: date = Field(description="YYYY-MM-DD; must agree with the NIK")
    gender: Literal["M", "F"] = Field(description="Must agree with the NIK (women: day + 40)")
    phone: str = Field(description="Indonesian mobile number; stored as E.164")
    occupation: str = Field(min_length=1, max_length=100)
    sector: Sector
    monthly_income: Annotated[StrictInt, Field(ge=0, description="Declared monthly income, integer rupiah")]
    programs: list[Program] = Field(min_length=1, description="Must include JKK and JKM; JHT optional")
    agent_code: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]{3,32}$", description="Agen Perisai code")
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

    @field_validator("programs")
    @classmethod
    def _mandatory_programs(cls, value: list[Program]) -> list[Program]:
        missing = [p for p in ("JKK", "JKM") if p not in value]
        if missing:
            raise ValueError(f"programs must include JKK and JKM; missing {', '.join(missing)}")
        return sorted(set(value), key=("JKK", "JKM", "JHT").index)

    @property
    def payer_type(self) -> PayerType:
        return self.payer.type if self.payer else "self"


class EnrollmentResponse(BaseModel):
    participant_id: str
    status: ParticipantStatus
    partner_id: str
    agent_code: str | None
    enrolled_at: datetime
    reactivated: bool = Field(default=False, description="A lapsed participant enrolled again under the same id")
    dues: DuesQuote = Field(description="Dues for the first dues month (the month of enrollment, Asia/Jakarta)")


class ParticipantView(BaseModel):
    """GET /v1/participants/{participant_id}: what the enrolling partner (or back office) sees."""

    participant_id: str
    status: ParticipantStatus
    partner_id: str
    agent_code: str | None
    enrolled_at: datetime
    programs: list[Program]
    sector: Sector
    covered_through: str | None = Field(description="Last paid dues month (YYYY-MM), null before the first payment")
    next_dues_month: str
    next_dues: DuesQuote


class ParticipantLookup(BaseModel):
    """GET /v1/participants?nik=...: only the id and status."""

    participant_id: str
    status: ParticipantStatus


class Participant(BaseModel):
    """Stored participant profile (pk PARTICIPANT#<id>, sk PROFILE). No NIK in clear."""

    participant_id: str
    partner_id: str
    channel: str
    agent_code: str | None = None
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
    payer: Payer | None = None
    heir: Heir | None = None
    status: ParticipantStatus
    enrolled_at: datetime
    first_dues_month: str
    covered_through: str | None = None
    next_dues_month: str
    # Fingerprint of the partner + Idempotency-Key that created (or last reactivated) this
    # participant: a retry whose first attempt committed is recognised and answered the same.
    enrollment_request: str | None = None
    version: int = 1

    @property
    def payer_type(self) -> PayerType:
        return self.payer.type if self.payer else "self"


class ParticipantEnrolled(BaseModel):
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

"""Claims at the edges: the requests partners send, the stored claim, what partners see, and the
events a claim's steps publish (no NIK, name or phone in any event)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from perisai.models import Model, StoredModel

ClaimType = Literal["JKK", "JKM", "JHT"]
ClaimStatus = Literal["submitted", "approved", "rejected", "paid"]
AccidentKind = Literal["medical", "temporary_incapacity", "permanent_disability", "death"]
TransportMode = Literal["land", "sea", "air"]
SchoolLevel = Literal["tk_sd", "smp", "sma", "university"]
JhtReason = Literal["age_56", "stopped_working", "permanent_disability", "death"]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Amount = Annotated[int, Field(ge=0, le=1_000_000_000)]


class Accident(Model):
    kind: AccidentKind
    medical_costs: Amount = 0
    transport_costs: Amount = 0
    transport_mode: TransportMode = "land"
    days_off_work: Annotated[int, Field(ge=0, le=3650)] = 0


class ClaimHeir(Model):
    name: Name
    relationship: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    phone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=20)]


class Child(Model):
    name: Name
    birth_date: date
    school_level: SchoolLevel


class ClaimRequest(Model):
    """POST /v1/claims. The fields a type needs are checked by the service (422 naming each)."""

    participant_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    type: ClaimType
    incident_date: date
    accident: Accident | None = None
    heir: ClaimHeir | None = None
    children: list[Child] = Field(default_factory=list, max_length=10)
    reason: JhtReason | None = None
    stopped_working_on: date | None = None


class DecisionRequest(Model):
    decision: Literal["approve", "reject"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class PayoutRequest(Model):
    transfer_reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    paid_at: datetime


class DocumentRequest(Model):
    kind: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z_]{2,40}$")]
    content_type: Literal["application/pdf", "image/jpeg", "image/png"]


class BenefitLine(StoredModel):
    item: str
    amount: int


class BenefitView(StoredModel):
    items: list[BenefitLine]
    total: int


class Transition(StoredModel):
    """One step of the claim: who took it, when, and why."""

    status: ClaimStatus
    by: str
    at: datetime
    reason: str | None = None


class StoredDocument(StoredModel):
    document_id: str
    kind: str
    content_type: str
    key: str
    requested_at: datetime


class Payout(StoredModel):
    transfer_reference: str
    paid_at: datetime


class Claim(StoredModel):
    """``CLAIM#<id> / CLAIM``."""

    claim_id: str
    participant_id: str
    partner_id: str  # the participant's partner: who may see it besides the back office
    filed_by: str
    type: ClaimType
    incident_date: date
    accident: Accident | None = None
    heir: ClaimHeir | None = None
    children: list[Child] = Field(default_factory=list)
    reason: JhtReason | None = None
    stopped_working_on: date | None = None
    status: ClaimStatus
    eligible: bool
    reasons: list[str]
    benefit: BenefitView
    fraud_signals: list[str]
    ends_participation: bool
    history: list[Transition]
    documents: list[StoredDocument] = Field(default_factory=list)
    payout: Payout | None = None
    filed_at: datetime
    version: int = 1


class DocumentView(Model):
    document_id: str
    kind: str
    content_type: str


class ClaimView(Model):
    claim_id: str
    participant_id: str
    type: ClaimType
    incident_date: date
    status: ClaimStatus
    eligible: bool
    reasons: list[str]
    benefit: BenefitView
    fraud_signals: list[str]
    ends_participation: bool
    history: list[Transition]
    documents: list[DocumentView] = Field(description="Supporting documents uploaded so far")
    payout: Payout | None = None
    filed_at: datetime


class ClaimPage(Model):
    items: list[ClaimView]


class UploadView(Model):
    document_id: str
    upload_url: str
    method: Literal["PUT"] = "PUT"
    headers: dict[str, str]
    expires_at: datetime


class ClaimEvent(Model):
    """Detail of ClaimSubmitted, ClaimDecided and ClaimPaid."""

    event_id: str
    claim_id: str
    participant_id: str
    partner_id: str
    type: ClaimType
    status: ClaimStatus
    eligible: bool
    total: int
    by: str
    at: datetime
    # The participant's status after this step, when the step changed it (a claim that ends the
    # participation, a rejection that reinstates it): coverage counters follow it.
    participant_status: str | None = None

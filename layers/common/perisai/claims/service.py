"""Claims: eligibility from the contribution ledger, benefits from the versioned table, fraud
signals for the back office, and the workflow submitted -> approved | rejected -> paid, each step
recorded (who, when, why) with its event through the outbox, atomically.

Pure rules come from ``perisai.domain.claims``; storage and documents are ports.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from perisai.claims.models import (
    BenefitLine,
    BenefitView,
    Claim,
    ClaimEvent,
    ClaimRequest,
    ClaimStatus,
    ClaimView,
    DecisionRequest,
    DocumentRequest,
    DocumentView,
    Payout,
    PayoutRequest,
    StoredDocument,
    Transition,
    UploadView,
)
from perisai.clock import JAKARTA
from perisai.domain import claims as rules
from perisai.domain.errors import DomainValidationError, FieldError
from perisai.domain.months import DuesMonth
from perisai.domain.partners import Partner
from perisai.domain.rates import RateBook
from perisai.errors import ClaimStateConflict, NotFound, VersionConflict
from perisai.participants.models import Participant
from perisai.participants.repository import DomainEvent
from perisai.participants.service import shown_status, standing_of
from perisai.payments.models import ContributionEntry

UPLOAD_EXPIRES_SECONDS = 15 * 60
WRITE_ATTEMPTS = 3
# A JHT claim for these reasons pays out the whole balance and ends the participation.
JHT_ENDING = ("death", "stopped_working")
_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class Participants(Protocol):
    def get(self, participant_id: str) -> Participant | None: ...
    def replace_item(self, stored: Participant, read_version: int) -> dict[str, Any]: ...


class Ledger(Protocol):
    def ledger_range(self, participant_id: str, first: str, last: str) -> list[ContributionEntry]: ...


class ClaimStore(Protocol):
    def get(self, claim_id: str) -> Claim | None: ...
    def for_participant(self, participant_id: str) -> list[Claim]: ...
    def heir_phone_claimants(self, phone: str, participant_id: str) -> int: ...
    def agent_claims(self, partner_id: str, agent_code: str) -> tuple[int, int, int]: ...
    def create(
        self,
        claim: Claim,
        events: Sequence[DomainEvent],
        *,
        new_agent: bool,
        agent: tuple[str, str] | None = None,
        participant_items: Sequence[dict[str, Any]] = (),
    ) -> None: ...
    def replace(
        self,
        claim: Claim,
        read_version: int,
        events: Sequence[DomainEvent],
        participant_items: Sequence[dict[str, Any]] = (),
    ) -> Claim: ...


class Documents(Protocol):
    def upload_url(self, key: str, content_type: str, expires_seconds: int) -> str: ...
    def uploaded(self, prefix: str) -> set[str]: ...


@dataclass
class ClaimService:
    participants: Participants
    ledger: Ledger
    store: ClaimStore
    documents: Documents
    book: rules.BenefitBook
    rates: RateBook

    # -- submission -------------------------------------------------------------------------

    def submit(self, request: ClaimRequest, partner: Partner, now: datetime) -> ClaimView:
        _require_fields(request)
        participant = self._visible(request.participant_id, partner)
        today = now.astimezone(JAKARTA).date()
        version = self.book.in_force(request.incident_date if request.incident_date <= today else today)
        paid = self._paid(participant)
        reasons = rules.eligibility(
            claim_type=request.type,
            incident_date=request.incident_date,
            filed_on=today,
            programs=participant.programs,
            paid=paid,
            policies=self.book.policies,
            birth_date=participant.birth_date,
            jht_reason=request.reason,
            stopped_working_on=request.stopped_working_on,
            version=version,
        )
        ends = request.type == "JKM" or (request.type == "JHT" and request.reason in JHT_ENDING)
        benefit = self._benefit(request, participant, paid, version, today, ends)
        if ends:
            benefit = _plus(benefit, rules.refund(paid, DuesMonth.of(request.incident_date)))
        signals, new_agent = self._signals(request, participant, paid)
        claim = Claim(
            claim_id="CLM-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(12)),
            participant_id=participant.participant_id,
            partner_id=participant.partner_id,
            filed_by=partner.partner_id,
            type=request.type,
            incident_date=request.incident_date,
            accident=request.accident if request.type == "JKK" else None,
            heir=request.heir if request.type == "JKM" else None,
            children=request.children if request.type == "JKM" else [],
            reason=request.reason if request.type == "JHT" else None,
            stopped_working_on=request.stopped_working_on if request.type == "JHT" else None,
            status="submitted",
            eligible=not reasons,
            reasons=reasons,
            benefit=_view(benefit),
            fraud_signals=signals,
            ends_participation=ends,
            history=[Transition(status="submitted", by=partner.partner_id, at=now)],
            filed_at=now,
        )
        recruited = participant.recruited_by
        agent = (recruited.partner_id, recruited.agent_code) if recruited.agent_code else None
        for _ in range(WRITE_ATTEMPTS):
            # An eligible claim that ends the participation (the worker died, or stopped work and
            # takes their JHT) ends it at once: no reminder asks a family to pay for a dead worker.
            # A rejection reinstates it.
            items = [self._ended_item(participant)] if ends and not reasons and participant.status != "ended" else []
            events = [_event("ClaimSubmitted", claim, partner.partner_id, now, "ended" if items else None)]
            try:
                self.store.create(claim, events, new_agent=new_agent, agent=agent, participant_items=items)
            except VersionConflict:
                participant = self._visible(request.participant_id, partner)  # changed meanwhile: read again
                continue
            return self._view(claim, uploaded=set())
        raise ClaimStateConflict("the participant kept changing; retry")

    def _benefit(
        self,
        request: ClaimRequest,
        participant: Participant,
        paid: list[rules.PaidMonth],
        version: rules.BenefitVersion,
        today: date,
        ends: bool,
    ) -> rules.Benefit:
        if request.type == "JKM":
            return rules.jkm_benefit(
                version,
                paid_months=len(paid),
                children=[(c.name, c.school_level) for c in request.children],
            )
        if request.type == "JKK":
            accident = request.accident
            if accident is None:  # checked by _require_fields
                raise DomainValidationError.single("accident", "required for a JKK claim")
            return rules.jkk_benefit(
                version,
                kind=accident.kind,
                declared_income=participant.monthly_income,
                medical_costs=accident.medical_costs,
                transport_costs=accident.transport_costs,
                transport_mode=accident.transport_mode,
                days_off_work=accident.days_off_work,
                children=[(c.name, c.school_level) for c in request.children],
            )
        # Months after the end are refunded whole (JHT part included), never counted twice.
        through = DuesMonth.of(request.incident_date) if ends else None
        return rules.jht_balance(version, paid, today, through=through)

    def _signals(
        self, request: ClaimRequest, participant: Participant, paid: list[rules.PaidMonth]
    ) -> tuple[list[str], bool]:
        heir_claimants = (
            self.store.heir_phone_claimants(request.heir.phone, participant.participant_id) if request.heir else 1
        )
        agent_claims: int | None = None
        mean: float | None = None
        new_agent = False
        recruited = participant.recruited_by
        if recruited.agent_code:
            mine, total, agents = self.store.agent_claims(recruited.partner_id, recruited.agent_code)
            new_agent = mine == 0
            agent_claims = mine + 1
            mean = (total + 1) / (agents + (1 if new_agent else 0))
        facts = rules.ClaimFacts(
            claim_type=request.type,
            kind=request.accident.kind if request.accident and request.type == "JKK" else None,
            jht_reason=request.reason if request.type == "JHT" else None,
            incident_date=request.incident_date,
            enrolled_on=participant.enrolled_at.astimezone(JAKARTA).date(),
            first_payment_on=min((p.credited_on for p in paid), default=None),
            heir_phone_participants=heir_claimants,
            agent_claims=agent_claims,
            mean_agent_claims=mean,
        )
        return rules.fraud_signals(facts, self.book.policies), new_agent

    # -- reads --------------------------------------------------------------------------------

    def get(self, claim_id: str, partner: Partner) -> ClaimView:
        claim = self._claim(claim_id, partner)
        return self._view(claim, self.documents.uploaded(f"claims/{claim.claim_id}/"))

    def for_participant(self, participant_id: str, partner: Partner) -> list[ClaimView]:
        self._visible(participant_id, partner)
        return [
            self._view(c, self.documents.uploaded(f"claims/{c.claim_id}/"))
            for c in self.store.for_participant(participant_id)
        ]

    # -- the back office's steps --------------------------------------------------------------

    def decide(self, claim_id: str, request: DecisionRequest, partner: Partner, now: datetime) -> ClaimView:
        claim = self._claim(claim_id, partner)
        status: ClaimStatus = "approved" if request.decision == "approve" else "rejected"
        last = claim.history[-1]
        if claim.status == status and last.reason == request.reason:
            return self._view(claim, self.documents.uploaded(f"claims/{claim.claim_id}/"))  # a retry
        if claim.status != "submitted":
            raise ClaimStateConflict(f"claim is {claim.status}: only a submitted claim can be decided")
        decided = claim.model_copy(
            update={
                "status": status,
                "history": [
                    *claim.history,
                    Transition(status=status, by=partner.partner_id, at=now, reason=request.reason),
                ],
            }
        )
        participant_items: list[dict[str, Any]] = []
        participant_status: str | None = None
        participant = self.participants.get(claim.participant_id) if claim.ends_participation else None
        if participant is not None and status == "approved" and participant.status != "ended":
            participant_items.append(self._ended_item(participant))
            participant_status = "ended"
        if participant is not None and status == "rejected" and participant.status == "ended":
            item, participant_status = self._reinstated_item(participant, now)
            participant_items.append(item)
        event = _event("ClaimDecided", decided, partner.partner_id, now, participant_status)
        try:
            stored = self.store.replace(decided, claim.version, [event], participant_items)
        except VersionConflict as exc:
            raise ClaimStateConflict("the claim or its participant changed meanwhile; read it and retry") from exc
        return self._view(stored, self.documents.uploaded(f"claims/{claim.claim_id}/"))

    def pay_out(self, claim_id: str, request: PayoutRequest, partner: Partner, now: datetime) -> ClaimView:
        claim = self._claim(claim_id, partner)
        if claim.status == "paid" and claim.payout and claim.payout.transfer_reference == request.transfer_reference:
            return self._view(claim, self.documents.uploaded(f"claims/{claim.claim_id}/"))  # a retry
        if claim.status != "approved":
            raise ClaimStateConflict(f"claim is {claim.status}: only an approved claim can be paid out")
        paid = claim.model_copy(
            update={
                "status": "paid",
                "payout": Payout(transfer_reference=request.transfer_reference, paid_at=request.paid_at),
                "history": [
                    *claim.history,
                    Transition(status="paid", by=partner.partner_id, at=now, reason=request.transfer_reference),
                ],
            }
        )
        try:
            stored = self.store.replace(paid, claim.version, [_event("ClaimPaid", paid, partner.partner_id, now)])
        except VersionConflict as exc:
            raise ClaimStateConflict("the claim changed meanwhile; read it and retry") from exc
        return self._view(stored, self.documents.uploaded(f"claims/{claim.claim_id}/"))

    def request_upload(self, claim_id: str, request: DocumentRequest, partner: Partner, now: datetime) -> UploadView:
        for _ in range(5):
            claim = self._claim(claim_id, partner)
            document_id = "DOC-" + uuid.uuid4().hex[:12].upper()
            key = f"claims/{claim.claim_id}/{document_id}"
            document = StoredDocument(
                document_id=document_id,
                kind=request.kind,
                content_type=request.content_type,
                key=key,
                requested_at=now,
            )
            try:
                self.store.replace(
                    claim.model_copy(update={"documents": [*claim.documents, document]}), claim.version, []
                )
            except VersionConflict:
                continue
            url = self.documents.upload_url(key, request.content_type, UPLOAD_EXPIRES_SECONDS)
            return UploadView(
                document_id=document_id,
                upload_url=url,
                headers={"Content-Type": request.content_type},
                expires_at=now + timedelta(seconds=UPLOAD_EXPIRES_SECONDS),
            )
        raise ClaimStateConflict("the claim kept changing; retry")

    # -- helpers ------------------------------------------------------------------------------

    def _ended_item(self, participant: Participant) -> dict[str, Any]:
        ended = participant.model_copy(update={"status": "ended", "version": participant.version + 1})
        return self.participants.replace_item(ended, participant.version)

    def _reinstated_item(self, participant: Participant, now: datetime) -> tuple[dict[str, Any], str]:
        now_standing = standing_of(participant, now.astimezone(JAKARTA).date(), self.rates.policies)
        back = participant.model_copy(
            update={
                # As the status job would have it (shown_status of a participant not ended).
                "status": shown_status(participant.model_copy(update={"status": "active"}), now_standing),
                "next_dues_month": str(now_standing.next_dues_month),
                "version": participant.version + 1,
            }
        )
        return self.participants.replace_item(back, participant.version), back.status

    def _visible(self, participant_id: str, partner: Partner) -> Participant:
        participant = self.participants.get(participant_id)
        if participant is None or not (partner.is_backoffice or participant.partner_id == partner.partner_id):
            raise NotFound("participant")
        return participant

    def _claim(self, claim_id: str, partner: Partner) -> Claim:
        claim = self.store.get(claim_id)
        if claim is None or not (partner.is_backoffice or claim.partner_id == partner.partner_id):
            raise NotFound("claim")
        return claim

    def _paid(self, participant: Participant) -> list[rules.PaidMonth]:
        entries = self.ledger.ledger_range(participant.participant_id, participant.first_dues_month, "9999-12")
        return [
            rules.PaidMonth(
                month=DuesMonth.parse(e.month),
                credited_on=e.credited_at.astimezone(JAKARTA).date(),
                jht=e.jht,
                total=e.total,
            )
            for e in entries
        ]

    def _view(self, claim: Claim, uploaded: set[str]) -> ClaimView:
        return ClaimView(
            **claim.model_dump(
                include={
                    "claim_id",
                    "participant_id",
                    "type",
                    "incident_date",
                    "status",
                    "eligible",
                    "reasons",
                    "fraud_signals",
                    "ends_participation",
                    "filed_at",
                }
            ),
            benefit=claim.benefit,
            history=claim.history,
            payout=claim.payout,
            documents=[
                DocumentView(document_id=d.document_id, kind=d.kind, content_type=d.content_type)
                for d in claim.documents
                if d.key in uploaded
            ],
        )


def _require_fields(request: ClaimRequest) -> None:
    missing: list[FieldError] = []
    if request.type == "JKK" and request.accident is None:
        missing.append(FieldError("accident", "required for a JKK claim"))
    if request.type == "JKM" and request.heir is None:
        missing.append(FieldError("heir", "required for a JKM claim"))
    if request.type == "JHT" and request.reason is None:
        missing.append(FieldError("reason", "required for a JHT claim"))
    if request.type == "JHT" and request.reason == "stopped_working" and request.stopped_working_on is None:
        missing.append(FieldError("stopped_working_on", "required when the reason is stopped_working"))
    if missing:
        raise DomainValidationError(missing)


def _plus(benefit: rules.Benefit, more: rules.Benefit) -> rules.Benefit:
    return rules.Benefit(items=(*benefit.items, *more.items))


def _view(benefit: rules.Benefit) -> BenefitView:
    return BenefitView(items=[BenefitLine(item=i.item, amount=i.amount) for i in benefit.items], total=benefit.total)


def _event(detail_type: str, claim: Claim, by: str, at: datetime, participant_status: str | None = None) -> DomainEvent:
    detail = ClaimEvent(
        event_id=str(uuid.uuid4()),
        claim_id=claim.claim_id,
        participant_id=claim.participant_id,
        partner_id=claim.partner_id,
        type=claim.type,
        status=claim.status,
        eligible=claim.eligible,
        total=claim.benefit.total,
        by=by,
        at=at,
        participant_status=participant_status,
    )
    return DomainEvent(detail_type, detail)

"""Enrollment rules. Pure Python: storage, NIK protection and the audit trail come in as ports."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol

from perisai.agents.service import AgentDirectory, check_recruiting_agent
from perisai.clock import JAKARTA
from perisai.domain.errors import DomainValidationError, FieldError
from perisai.domain.identity import check_min_age, check_nik_consistency
from perisai.domain.months import DuesMonth
from perisai.domain.partners import Partner
from perisai.domain.programs import PayerType, Program, Sector
from perisai.domain.quote import DuesQuote, quote_dues
from perisai.domain.rates import RateBook
from perisai.enrollment.models import (
    EnrollmentRequest,
    EnrollmentResponse,
    ParticipantEnrolled,
    ParticipantLookup,
    ParticipantView,
    Payer,
)
from perisai.errors import AlreadyEnrolled, DependencyUnavailable, NotFound, VersionConflict
from perisai.participants.models import EnrollmentRecord, Participant, Recruitment, StoredHeir, StoredPayer
from perisai.participants.repository import DomainEvent
from perisai.participants.service import WRITE_ATTEMPTS, modify, shown_status, standing_of

# Fields copied from the stored participant into the answers (the rest is computed).
_VIEW_FIELDS = set(ParticipantView.model_fields) - {"next_dues", "agent_code", "months_owed", "last_day_to_pay"}
_RESPONSE_FIELDS = set(EnrollmentResponse.model_fields) - {"reactivated", "dues", "agent_code"}

# Crockford base32 without I, L, O, U: unambiguous when read out at a counter.
_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

NikAuditAction = Literal["lookup", "already_enrolled"]


class NikProtector(Protocol):
    def index_key(self, nik: str) -> str: ...
    def encrypt(self, nik: str, participant_id: str) -> str: ...


class ParticipantStore(Protocol):
    def create(self, participant: Participant, events: Sequence[DomainEvent] = ()) -> None:
        """Participant, NIK uniqueness item and events in one transaction; AlreadyEnrolled if the NIK exists."""

    def replace(self, participant: Participant, read_version: int, events: Sequence[DomainEvent] = ()) -> Participant:
        """Store over the version read; VersionConflict if it changed since."""

    def get(self, participant_id: str) -> Participant | None: ...

    def find_id_by_nik_hash(self, nik_hash: str) -> str | None: ...


class NikAuditTrail(Protocol):
    def record(self, partner: Partner, action: NikAuditAction, nik_hash: str, at: datetime) -> None:
        """Keep who learnt whether a NIK is enrolled (the keyed hash only, never the NIK)."""


@dataclass
class EnrollmentService:
    store: ParticipantStore
    nik: NikProtector
    rate_book: RateBook
    audit: NikAuditTrail
    agents: AgentDirectory

    def enroll(
        self, request: EnrollmentRequest, partner: Partner, now: datetime, request_id: str | None = None
    ) -> EnrollmentResponse:
        """Enroll a worker. ``request_id`` identifies the caller's request (partner + Idempotency-Key)."""
        today = now.astimezone(JAKARTA).date()
        _check_identity(request, today, self.rate_book)
        payer = payer_for(partner, request.payer)
        month = DuesMonth.of(today)
        dues = self.quote(
            request.monthly_income, request.sector, request.programs, month, payer.type if payer else "self"
        )
        nik_hash = self.nik.index_key(request.nik)
        if request.agent_code is not None:
            self._check_agent(request.agent_code, partner, nik_hash, request_id)
        for _ in range(WRITE_ATTEMPTS):
            participant_id = new_participant_id()
            enrollment = EnrollmentRecord(
                request_id=request_id,
                partner_id=partner.partner_id,
                agent_code=request.agent_code,
                dues_month=str(month),
                at=now,
            )
            participant = Participant(
                participant_id=participant_id,
                partner_id=partner.partner_id,
                channel=partner.channel,
                nik_hash=nik_hash,
                nik_ciphertext=self.nik.encrypt(request.nik, participant_id),
                full_name=request.full_name,
                birth_date=request.birth_date,
                gender=request.gender,
                phone=request.phone,
                occupation=request.occupation,
                sector=request.sector,
                monthly_income=request.monthly_income,
                programs=request.programs,
                payer=payer,
                regency=request.nik[:4],
                heir=StoredHeir.model_validate(request.heir.model_dump()) if request.heir else None,
                status="pending_payment",
                enrolled_at=now,
                recruited_by=Recruitment(partner_id=partner.partner_id, agent_code=request.agent_code, at=now),
                last_enrollment=enrollment,
                first_dues_month=str(month),
                next_dues_month=str(month),
            )
            try:
                self.store.create(participant, [_enrolled(participant, dues)])
                return _response(participant, dues, enrollment)
            except VersionConflict:
                continue  # a concurrent transaction on the same NIK: the next attempt sees its outcome
            except AlreadyEnrolled:
                existing_id = self.store.find_id_by_nik_hash(nik_hash)
                if existing_id is None:
                    continue
                try:
                    return self._reenroll(existing_id, participant, dues, request_id)
                except AlreadyEnrolled:
                    self.audit.record(partner, "already_enrolled", nik_hash, now)
                    raise
        raise DependencyUnavailable("enrollment kept conflicting with concurrent writes; retry")

    def _check_agent(self, agent_code: str, partner: Partner, nik_hash: str, request_id: str | None) -> None:
        """The named agent must be an active agent of the enrolling partner (422 ``agent_code``),
        checked on first enrollments and reactivations alike. Idempotency first: a retry of a
        request that already committed is answered as it was (by ``enroll``) even if the agent was
        deactivated since, so the check only refuses when this request did not commit."""
        try:
            check_recruiting_agent(self.agents, partner.partner_id, agent_code)
        except DomainValidationError:
            if request_id is not None and self._committed(nik_hash, request_id):
                return
            raise

    def _committed(self, nik_hash: str, request_id: str) -> bool:
        existing_id = self.store.find_id_by_nik_hash(nik_hash)
        existing = self.store.get(existing_id) if existing_id else None
        return existing is not None and existing.last_enrollment.request_id == request_id

    def _reenroll(
        self, participant_id: str, fresh: Participant, dues: DuesQuote, request_id: str | None
    ) -> EnrollmentResponse:
        """The NIK is enrolled: our own earlier attempt (answered again as it was), a lapsed
        participant (reactivated), or anybody else (AlreadyEnrolled)."""

        def reactivate(current: Participant) -> tuple[Participant, list[DomainEvent]] | None:
            if request_id is not None and current.last_enrollment.request_id == request_id:
                return None  # our own earlier attempt committed but its answer was lost
            if current.status != "lapsed":
                raise AlreadyEnrolled()
            # Policy (BPU_RULES: unconfirmed): a lapsed worker keeps their participant id, history
            # and recruiting agent; the profile is refreshed from the new enrollment, the
            # re-enrolling partner takes over, and dues start again from the current month.
            revived = fresh.model_copy(
                update={
                    "participant_id": current.participant_id,
                    "nik_ciphertext": current.nik_ciphertext,
                    "enrolled_at": current.enrolled_at,
                    "recruited_by": current.recruited_by,
                    "first_dues_month": current.first_dues_month,
                    "covered_through": current.covered_through,
                    "last_enrollment": fresh.last_enrollment.model_copy(update={"reactivated": True}),
                }
            )
            return revived, [_enrolled(revived, dues)]

        stored = modify(self.store, participant_id, reactivate)
        return self._replay(stored)

    def _replay(self, participant: Participant) -> EnrollmentResponse:
        """The answer of the enrollment request that last changed this participant."""
        enrollment = participant.last_enrollment
        return _response(participant, self._dues_of(participant, enrollment.dues_month), enrollment)

    def _dues_of(self, participant: Participant, month: str) -> DuesQuote:
        """What this participant owes for ``month`` under the rules in force that month."""
        return self.quote(
            participant.monthly_income,
            participant.sector,
            participant.programs,
            DuesMonth.parse(month),
            participant.payer_type,
        )

    def quote(
        self,
        monthly_income: int,
        sector: Sector,
        programs: Sequence[Program],
        month: DuesMonth,
        payer_type: PayerType = "self",
    ) -> DuesQuote:
        return quote_dues(
            monthly_income=monthly_income,
            sector=sector,
            programs=programs,
            month=month,
            payer_type=payer_type,
            rate_book=self.rate_book,
        )

    def view(self, participant_id: str, partner: Partner, now: datetime) -> ParticipantView:
        return self._view_of(_visible(self.store.get(participant_id), partner), now)

    def set_sms_opt_out(self, participant_id: str, opt_out: bool, partner: Partner, now: datetime) -> ParticipantView:
        """Record the worker's choice about reminder SMS. Asking for what is already recorded
        writes nothing (a retry changes nothing twice); a participant this partner cannot see
        is absent, as for ``view``."""

        def record(current: Participant) -> tuple[Participant, list[DomainEvent]] | None:
            _visible(current, partner)
            if current.sms_opt_out == opt_out:
                return None
            return current.model_copy(update={"sms_opt_out": opt_out}), []

        return self._view_of(modify(self.store, participant_id, record), now)

    def _view_of(self, participant: Participant, now: datetime) -> ParticipantView:
        # Standing from the dates, as of now: the stored status moves with payments and the daily
        # lapse job, so it can be a day behind.
        now_standing = standing_of(participant, now.astimezone(JAKARTA).date(), self.rate_book.policies)
        next_month = str(now_standing.next_dues_month)
        status = shown_status(participant, now_standing)
        if status == "ended":
            # A claim ended the participation: nothing is owed and nothing can be paid.
            return ParticipantView(
                **participant.model_dump(include=_VIEW_FIELDS - {"status", "next_dues_month"}),
                status="ended",
                next_dues_month=next_month,
                months_owed=0,
                last_day_to_pay=None,
                agent_code=participant.agent_code,
                next_dues=self._dues_of(participant, next_month),
            )
        return ParticipantView(
            **participant.model_dump(include=_VIEW_FIELDS - {"status", "next_dues_month"}),
            status=status,
            next_dues_month=next_month,
            months_owed=now_standing.months_owed,
            last_day_to_pay=now_standing.last_day_to_pay,
            agent_code=participant.agent_code,
            next_dues=self._dues_of(participant, next_month),
        )

    def lookup_by_nik(self, nik: str, partner: Partner, now: datetime) -> ParticipantLookup:
        nik_hash = self.nik.index_key(nik)
        # Recorded before answering: no answer about a NIK leaves without its audit record.
        self.audit.record(partner, "lookup", nik_hash, now)
        participant_id = self.store.find_id_by_nik_hash(nik_hash)
        participant = self.store.get(participant_id) if participant_id else None
        if participant is None:
            raise NotFound("participant")
        return ParticipantLookup(participant_id=participant.participant_id, status=participant.status)


def _visible(participant: Participant | None, partner: Partner) -> Participant:
    """The participant if this partner may see it: its enrolling partner, or the back office.
    Another partner's participant is reported as absent, not forbidden: no existence leak."""
    if participant is None or not (partner.is_backoffice or participant.partner_id == partner.partner_id):
        raise NotFound("participant")
    return participant


def payer_for(partner: Partner, requested: Payer | None) -> StoredPayer | None:
    """Who pays, from what the system trusts (the partner's channel) as well as the body.

    Only a local government pays as government (APBD), and its enrollments are government-paid
    unless it says otherwise; government-paid dues get no PP 50/2025 discount. Likewise only a
    sponsor pays as sponsor, for itself, and its enrollments are sponsor-paid unless it says so.
    """
    if partner.is_local_government:
        if requested is None or requested.type == "government":
            if requested is not None and requested.id not in (None, partner.partner_id):
                raise DomainValidationError.single("payer.id", "a local government pays as itself: omit payer.id")
            return StoredPayer(type="government", id=partner.partner_id)
    elif requested is not None and requested.type == "government":
        raise DomainValidationError.single(
            "payer.type", "only a local government partner may enroll government-paid workers"
        )
    elif requested is not None and requested.type == "sponsor" and partner.channel != "sponsor":
        # A sponsor's months are billed to it (its bulk orders, its statement): only the sponsor
        # itself names them, here or with PUT /v1/participants/{id}/payer.
        raise DomainValidationError.single(
            "payer.type", "only a sponsor partner enrolls sponsor-paid workers (a sponsor takes a worker over itself)"
        )
    elif partner.channel == "sponsor" and (requested is None or requested.type == "sponsor"):
        # A SERTAKAN sponsor enrolls the workers it pays for: paid by it from the first month.
        if requested is not None and requested.id not in (None, partner.partner_id):
            raise DomainValidationError.single("payer.id", "a sponsor pays as itself: omit payer.id")
        return StoredPayer(type="sponsor", id=partner.partner_id)
    return StoredPayer.model_validate(requested.model_dump()) if requested is not None else None


def _check_identity(request: EnrollmentRequest, today: date, rate_book: RateBook) -> None:
    problems: list[FieldError] = []
    try:
        check_nik_consistency(request.nik, request.birth_date, request.gender)
    except DomainValidationError as exc:
        problems.extend(exc.fields)
    try:
        check_min_age(request.birth_date, today, rate_book)
    except DomainValidationError as exc:
        problems.extend(exc.fields)
    if problems:
        raise DomainValidationError(problems)


def new_participant_id() -> str:
    return "PST-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))


def _enrolled(participant: Participant, dues: DuesQuote) -> DomainEvent:
    event = ParticipantEnrolled(
        event_id=str(uuid.uuid4()),
        participant_id=participant.participant_id,
        partner_id=participant.partner_id,
        channel=participant.channel,
        agent_code=participant.last_enrollment.agent_code,
        sector=participant.sector,
        programs=participant.programs,
        payer_type=participant.payer_type,
        first_dues_month=dues.month,
        first_dues_total=dues.total,
        enrolled_at=participant.enrolled_at,
        reactivated=participant.last_enrollment.reactivated,
        regency=participant.regency,
        recruited_by_partner=participant.recruited_by.partner_id,
        recruited_by_agent=participant.recruited_by.agent_code,
    )
    return DomainEvent("ParticipantEnrolled", event)


def _response(participant: Participant, dues: DuesQuote, enrollment: EnrollmentRecord) -> EnrollmentResponse:
    return EnrollmentResponse(
        **participant.model_dump(include=_RESPONSE_FIELDS),
        agent_code=enrollment.agent_code,
        reactivated=enrollment.reactivated,
        dues=dues,
    )

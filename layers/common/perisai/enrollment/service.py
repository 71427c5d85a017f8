"""Enrollment rules. Pure Python: storage and NIK protection come in as ports."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from perisai.api import Partner
from perisai.clock import JAKARTA
from perisai.domain.dues import DuesMonth, DuesQuote, RateBook, quote_dues
from perisai.domain.errors import DomainValidationError, FieldError
from perisai.domain.identity import check_min_age, check_nik_consistency
from perisai.enrollment.models import (
    EnrollmentRequest,
    EnrollmentResponse,
    Participant,
    ParticipantEnrolled,
    ParticipantLookup,
    ParticipantView,
)
from perisai.errors import AlreadyEnrolled, NotFound

# Fields copied from the stored participant into the answers (the rest is computed).
_VIEW_FIELDS = set(ParticipantView.model_fields) - {"next_dues"}
_RESPONSE_FIELDS = set(EnrollmentResponse.model_fields) - {"reactivated", "dues"}

# Crockford base32 without I, L, O, U: unambiguous when read out at a counter.
_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class NikProtector(Protocol):
    def index_key(self, nik: str) -> str: ...
    def encrypt(self, nik: str, participant_id: str) -> str: ...


class ParticipantStore(Protocol):
    def create(self, participant: Participant, event: ParticipantEnrolled) -> None:
        """Participant, NIK uniqueness item and outbox event in one transaction; AlreadyEnrolled if the NIK exists."""

    def reactivate(self, participant: Participant, event: ParticipantEnrolled) -> None:
        """Reactivate a lapsed participant (conditional on it still being lapsed)."""

    def get(self, participant_id: str) -> Participant | None: ...

    def find_id_by_nik_hash(self, nik_hash: str) -> str | None: ...


@dataclass
class EnrollmentService:
    store: ParticipantStore
    nik: NikProtector
    rate_book: RateBook

    def enroll(
        self, request: EnrollmentRequest, partner: Partner, now: datetime, request_id: str | None = None
    ) -> EnrollmentResponse:
        """Enroll a worker. ``request_id`` identifies the caller's request (partner + Idempotency-Key)."""
        today = now.astimezone(JAKARTA).date()
        _check_identity(request, today, self.rate_book)
        month = DuesMonth.of(today)
        dues = self.quote(request.monthly_income, request.sector, request.programs, month, request.payer_type)
        nik_hash = self.nik.index_key(request.nik)
        participant_id = new_participant_id()
        participant = Participant(
            participant_id=participant_id,
            partner_id=partner.partner_id,
            channel=partner.channel,
            agent_code=request.agent_code,
            nik_hash=nik_hash,
            nik_ciphertext=self.nik.encrypt(request.nik, participant_id),
            full_name=request.full_name.strip(),
            birth_date=request.birth_date,
            gender=request.gender,
            phone=request.phone,
            occupation=request.occupation.strip(),
            sector=request.sector,
            monthly_income=request.monthly_income,
            programs=request.programs,
            payer=request.payer,
            heir=request.heir,
            status="pending_payment",
            enrolled_at=now,
            first_dues_month=str(month),
            next_dues_month=str(month),
            enrollment_request=request_id,
        )
        try:
            self.store.create(participant, _enrolled_event(participant, dues, reactivated=False))
        except AlreadyEnrolled:
            existing_id = self.store.find_id_by_nik_hash(nik_hash)
            existing = self.store.get(existing_id) if existing_id else None
            if existing is not None and request_id is not None and existing.enrollment_request == request_id:
                # Our own earlier attempt committed but its answer was lost (e.g. the idempotency
                # record could not be completed): answer as it would have.
                return self._replay(existing)
            if existing is None or existing.status != "lapsed":
                raise
            return self._reactivate(existing, participant, dues)
        return _response(participant, dues, reactivated=False)

    def _reactivate(self, existing: Participant, fresh: Participant, dues: DuesQuote) -> EnrollmentResponse:
        # Policy (BPU_RULES: unconfirmed): a lapsed worker keeps their participant id and history;
        # the profile is refreshed from the new enrollment, the re-enrolling partner takes over,
        # and dues start again from the current month.
        revived = fresh.model_copy(
            update={
                "participant_id": existing.participant_id,
                "nik_ciphertext": existing.nik_ciphertext,
                "enrolled_at": existing.enrolled_at,
                "first_dues_month": existing.first_dues_month,
                "covered_through": existing.covered_through,
                "version": existing.version + 1,
            }
        )
        self.store.reactivate(revived, _enrolled_event(revived, dues, reactivated=True))
        return _response(revived, dues, reactivated=True)

    def _replay(self, existing: Participant) -> EnrollmentResponse:
        return _response(existing, self._dues_of(existing, existing.first_dues_month), reactivated=False)

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
        self, monthly_income: int, sector: str, programs: list[str], month: DuesMonth, payer_type: str = "self"
    ) -> DuesQuote:
        return quote_dues(
            monthly_income=monthly_income,
            sector=sector,  # type: ignore[arg-type]
            programs=programs,  # type: ignore[arg-type]
            month=month,
            payer_type=payer_type,  # type: ignore[arg-type]
            rate_book=self.rate_book,
        )

    def view(self, participant_id: str, partner: Partner) -> ParticipantView:
        participant = self.store.get(participant_id)
        # Another partner's participant is reported as absent, not forbidden: no existence leak.
        if participant is None or not (partner.is_backoffice or participant.partner_id == partner.partner_id):
            raise NotFound("participant")
        return ParticipantView(
            **participant.model_dump(include=_VIEW_FIELDS),
            next_dues=self._dues_of(participant, participant.next_dues_month),
        )

    def lookup_by_nik(self, nik: str) -> ParticipantLookup:
        participant_id = self.store.find_id_by_nik_hash(self.nik.index_key(nik))
        participant = self.store.get(participant_id) if participant_id else None
        if participant is None:
            raise NotFound("participant")
        return ParticipantLookup(participant_id=participant.participant_id, status=participant.status)


def _check_identity(request: EnrollmentRequest, today, rate_book: RateBook) -> None:  # type: ignore[no-untyped-def]
    problems: list[FieldError] = []
    for check in (
        lambda: check_nik_consistency(request.nik, request.birth_date, request.gender),
        lambda: check_min_age(request.birth_date, today, rate_book),
    ):
        try:
            check()
        except DomainValidationError as exc:
            problems.extend(exc.fields)
    if problems:
        raise DomainValidationError(problems)


def new_participant_id() -> str:
    return "PST-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))


def _enrolled_event(participant: Participant, dues: DuesQuote, *, reactivated: bool) -> ParticipantEnrolled:
    return ParticipantEnrolled(
        event_id=str(uuid.uuid4()),
        participant_id=participant.participant_id,
        partner_id=participant.partner_id,
        channel=participant.channel,
        agent_code=participant.agent_code,
        sector=participant.sector,
        programs=participant.programs,
        payer_type=participant.payer_type,
        first_dues_month=dues.month,
        first_dues_total=dues.total,
        enrolled_at=participant.enrolled_at,
        reactivated=reactivated,
    )


def _response(participant: Participant, dues: DuesQuote, *, reactivated: bool) -> EnrollmentResponse:
    return EnrollmentResponse(**participant.model_dump(include=_RESPONSE_FIELDS), reactivated=reactivated, dues=dues)

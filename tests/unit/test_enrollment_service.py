"""Enrollment rules with in-memory ports (no AWS, no mocks)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from perisai.api import Partner
from perisai.domain.dues import RateBook
from perisai.domain.errors import DomainValidationError
from perisai.enrollment.models import EnrollmentRequest, Participant, ParticipantEnrolled
from perisai.enrollment.service import EnrollmentService
from perisai.errors import AlreadyEnrolled, NotFound

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
AGENTS = Partner("agen-jabar", "agent_network", frozenset({"enroll", "pay"}))
INDOMARET = Partner("indomaret", "retailer", frozenset({"enroll", "pay"}))
BACKOFFICE = Partner("bo", "back_office", frozenset({"backoffice"}))


class MemoryStore:
    def __init__(self) -> None:
        self.participants: dict[str, Participant] = {}
        self.niks: dict[str, str] = {}
        self.events: list[ParticipantEnrolled] = []

    def create(self, participant: Participant, event: ParticipantEnrolled) -> None:
        if participant.nik_hash in self.niks:
            raise AlreadyEnrolled()
        self.niks[participant.nik_hash] = participant.participant_id
        self.participants[participant.participant_id] = participant
        self.events.append(event)

    def reactivate(self, participant: Participant, event: ParticipantEnrolled) -> None:
        if self.participants[participant.participant_id].status != "lapsed":
            raise AlreadyEnrolled()
        self.participants[participant.participant_id] = participant
        self.events.append(event)

    def get(self, participant_id: str) -> Participant | None:
        return self.participants.get(participant_id)

    def find_id_by_nik_hash(self, nik_hash: str) -> str | None:
        return self.niks.get(nik_hash)


class ReversibleNik:
    def index_key(self, nik: str) -> str:
        return "h:" + nik[::-1]

    def encrypt(self, nik: str, participant_id: str) -> str:
        return "enc:" + participant_id


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def service(store: MemoryStore) -> EnrollmentService:
    return EnrollmentService(store=store, nik=ReversibleNik(), rate_book=RateBook.load())


def request(**overrides: object) -> EnrollmentRequest:
    data = {
        "nik": "3171015708900001",  # a woman born 17 Aug 1990
        "full_name": "Siti Aminah",
        "birth_date": "1990-08-17",
        "gender": "F",
        "phone": "+62 813 1111 2222",
        "occupation": "pedagang sayur",
        "sector": "other",
        "monthly_income": 1_250_000,
        "programs": ["JKM", "JKK", "JHT"],
    }
    data.update(overrides)
    return EnrollmentRequest.model_validate(data)


def test_enrollment_stores_a_pending_participant_and_one_event(service: EnrollmentService, store: MemoryStore) -> None:
    result = service.enroll(request(agent_code="AG-9"), AGENTS, NOW)
    stored = store.participants[result.participant_id]
    assert stored.status == "pending_payment"
    assert stored.first_dues_month == stored.next_dues_month == "2026-11"
    assert stored.phone == "+6281311112222"
    assert stored.programs == ["JKK", "JKM", "JHT"]
    assert stored.nik_hash == "h:1000098075101713"
    assert "3171015708900001" not in stored.model_dump_json()
    assert [e.participant_id for e in store.events] == [result.participant_id]
    assert result.dues.jht == 24_000  # 2% of the 1.2 M bracket


def test_first_dues_month_is_the_jakarta_calendar_month(service: EnrollmentService) -> None:
    late_evening_utc = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)  # 1 Dec 01:00 in Jakarta
    assert service.enroll(request(), AGENTS, late_evening_utc).dues.month == "2026-12"


def test_second_enrollment_of_a_nik_conflicts(service: EnrollmentService, store: MemoryStore) -> None:
    service.enroll(request(), AGENTS, NOW)
    with pytest.raises(AlreadyEnrolled):
        service.enroll(request(phone="081299998888"), INDOMARET, NOW)
    assert len(store.participants) == 1


def test_lapsed_participant_is_reactivated_under_the_same_id(service: EnrollmentService, store: MemoryStore) -> None:
    first = service.enroll(request(), AGENTS, NOW)
    store.participants[first.participant_id] = store.participants[first.participant_id].model_copy(
        update={"status": "lapsed", "covered_through": "2026-06"}
    )
    again = service.enroll(request(), INDOMARET, datetime(2027, 2, 3, tzinfo=UTC))
    assert again.reactivated and again.participant_id == first.participant_id
    revived = store.participants[first.participant_id]
    assert revived.status == "pending_payment"
    assert revived.partner_id == "indomaret"
    assert revived.covered_through == "2026-06"
    assert revived.next_dues_month == "2027-02"


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"birth_date": "1990-08-18"}, ["birth_date"]),
        ({"gender": "M"}, ["gender"]),
        ({"birth_date": "1990-09-17", "gender": "M"}, ["birth_date", "gender"]),
    ],
)
def test_identity_must_agree_with_the_nik(service: EnrollmentService, overrides: dict, fields: list[str]) -> None:
    with pytest.raises(DomainValidationError) as raised:
        service.enroll(request(**overrides), AGENTS, NOW)
    assert set(fields) <= set(raised.value.field_names)


def test_view_hides_other_partners_participants(service: EnrollmentService) -> None:
    participant_id = service.enroll(request(), AGENTS, NOW).participant_id
    assert service.view(participant_id, AGENTS).next_dues.month == "2026-11"
    assert service.view(participant_id, BACKOFFICE).status == "pending_payment"
    with pytest.raises(NotFound):
        service.view(participant_id, INDOMARET)


def test_lookup_by_nik(service: EnrollmentService) -> None:
    participant_id = service.enroll(request(), AGENTS, NOW).participant_id
    assert service.lookup_by_nik("3171015708900001").participant_id == participant_id
    with pytest.raises(NotFound):
        service.lookup_by_nik("3171015708900002")


def test_a_retry_of_a_committed_request_gets_the_same_answer(service: EnrollmentService, store: MemoryStore) -> None:
    first = service.enroll(request(), AGENTS, NOW, request_id="agen-jabar:key-1")
    # The first answer was lost after the write committed; the partner retries with the same key.
    again = service.enroll(request(), AGENTS, NOW, request_id="agen-jabar:key-1")
    assert again == first
    assert len(store.participants) == 1 and len(store.events) == 1
    with pytest.raises(AlreadyEnrolled):
        service.enroll(request(), AGENTS, NOW, request_id="agen-jabar:key-2")

"""Enrollment rules with in-memory ports (no AWS, no mocks)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

import pytest

from perisai.agents.models import StoredAgent
from perisai.domain.errors import DomainValidationError
from perisai.domain.partners import Partner
from perisai.domain.rates import RateBook
from perisai.enrollment.models import EnrollmentRequest, ParticipantEnrolled
from perisai.enrollment.service import EnrollmentService
from perisai.errors import AlreadyEnrolled, NotFound, VersionConflict
from perisai.participants.models import Participant
from perisai.participants.repository import DomainEvent, index_keys

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
AGENTS = Partner("agen-jabar", "agent_network", frozenset({"enroll", "pay"}), "key-agen")
INDOMARET = Partner("indomaret", "retailer", frozenset({"enroll", "pay"}), "key-indomaret")
BACKOFFICE = Partner("bo", "back_office", frozenset({"backoffice"}), "key-bo")
PEMDA = Partner("pemda-bdg", "local_government", frozenset({"enroll", "pay"}), "key-pemda")


class MemoryStore:
    """The participant store's contract in memory: conditional create, version-checked replace."""

    def __init__(self) -> None:
        self.participants: dict[str, Participant] = {}
        self.niks: dict[str, str] = {}
        self.events: list[ParticipantEnrolled] = []
        self.lose_next_race = False

    def create(self, participant: Participant, events: Sequence[DomainEvent] = ()) -> None:
        if participant.nik_hash in self.niks:
            raise AlreadyEnrolled()
        self.niks[participant.nik_hash] = participant.participant_id
        self.participants[participant.participant_id] = participant.model_copy(update={"version": 1})
        self.events += [cast(ParticipantEnrolled, e.detail) for e in events]  # the service's only event

    def replace(self, participant: Participant, read_version: int, events: Sequence[DomainEvent] = ()) -> Participant:
        current = self.participants[participant.participant_id]
        if self.lose_next_race:  # another writer commits between our read and our write
            self.lose_next_race = False
            self.participants[participant.participant_id] = current.model_copy(update={"version": current.version + 1})
            raise VersionConflict(participant.participant_id)
        if current.version != read_version:
            raise VersionConflict(participant.participant_id)
        stored = participant.model_copy(update={"version": read_version + 1})
        self.participants[participant.participant_id] = stored
        self.events += [cast(ParticipantEnrolled, e.detail) for e in events]  # the service's only event
        return stored

    def get(self, participant_id: str) -> Participant | None:
        return self.participants.get(participant_id)

    def find_id_by_nik_hash(self, nik_hash: str) -> str | None:
        return self.niks.get(nik_hash)


class MemoryAudit:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, str, str]] = []

    def record(self, partner: Partner, action: str, nik_hash: str, at: datetime) -> None:
        self.records.append((partner.partner_id, partner.key_id, action, nik_hash))


class MemoryAgents:
    """The agent registry as enrollment reads it: (partner, CODE) -> agent."""

    def __init__(self, *registered: tuple[str, str]) -> None:
        self.agents = {(partner_id, code.upper()): _agent(partner_id, code) for partner_id, code in registered}

    def get(self, partner_id: str, agent_code: str) -> StoredAgent | None:
        return self.agents.get((partner_id, agent_code.upper()))

    def deactivate(self, partner_id: str, agent_code: str) -> None:
        key = (partner_id, agent_code.upper())
        self.agents[key] = self.agents[key].model_copy(update={"status": "inactive", "status_reason": "deactivated"})


def _agent(partner_id: str, code: str) -> StoredAgent:
    return StoredAgent(
        agent_code=code,
        partner_id=partner_id,
        name="Agen",
        phone="+6281311112222",
        home_regency="3273",
        status="active",
        status_reason="registered",
        registered_at=NOW,
        updated_at=NOW,
        last_activity_month="2026-11",
    )


class ReversibleNik:
    def index_key(self, nik: str) -> str:
        return "h:" + nik[::-1]

    def encrypt(self, nik: str, participant_id: str) -> str:
        return "enc:" + participant_id


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def audit() -> MemoryAudit:
    return MemoryAudit()


@pytest.fixture
def agents() -> MemoryAgents:
    # The agents these tests name, each registered by its partner.
    return MemoryAgents(("agen-jabar", "AG-9"), ("agen-jabar", "AG-1"), ("indomaret", "ALFA-7"), ("indomaret", "AG-1"))


@pytest.fixture
def service(store: MemoryStore, audit: MemoryAudit, agents: MemoryAgents) -> EnrollmentService:
    return EnrollmentService(store=store, nik=ReversibleNik(), rate_book=RateBook.load(), audit=audit, agents=agents)


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
    assert service.view(participant_id, AGENTS, NOW).next_dues.month == "2026-11"
    assert service.view(participant_id, BACKOFFICE, NOW).status == "pending_payment"
    with pytest.raises(NotFound):
        service.view(participant_id, INDOMARET, NOW)


def test_lookup_by_nik_is_audited_with_the_keyed_hash_only(service: EnrollmentService, audit: MemoryAudit) -> None:
    participant_id = service.enroll(request(), AGENTS, NOW).participant_id
    assert service.lookup_by_nik("3171015708900001", INDOMARET, NOW).participant_id == participant_id
    with pytest.raises(NotFound):
        service.lookup_by_nik("3171015708900002", INDOMARET, NOW)
    assert audit.records == [
        ("indomaret", "key-indomaret", "lookup", "h:1000098075101713"),
        ("indomaret", "key-indomaret", "lookup", "h:2000098075101713"),
    ]


def test_an_already_enrolled_answer_is_audited(service: EnrollmentService, audit: MemoryAudit) -> None:
    service.enroll(request(), AGENTS, NOW)
    assert audit.records == []
    with pytest.raises(AlreadyEnrolled):
        service.enroll(request(), INDOMARET, NOW)
    assert audit.records == [("indomaret", "key-indomaret", "already_enrolled", "h:1000098075101713")]


def test_a_retry_of_a_committed_request_gets_the_same_answer(service: EnrollmentService, store: MemoryStore) -> None:
    first = service.enroll(request(), AGENTS, NOW, request_id="agen-jabar:key-1")
    # The first answer was lost after the write committed; the partner retries with the same key.
    again = service.enroll(request(), AGENTS, NOW, request_id="agen-jabar:key-1")
    assert again == first
    assert len(store.participants) == 1 and len(store.events) == 1
    with pytest.raises(AlreadyEnrolled):
        service.enroll(request(), AGENTS, NOW, request_id="agen-jabar:key-2")


def test_a_retried_reactivation_answers_as_the_first_attempt(service: EnrollmentService, store: MemoryStore) -> None:
    first = service.enroll(request(), AGENTS, NOW, request_id="agen-jabar:key-1")
    lapse(store, first.participant_id)
    later = datetime(2027, 2, 3, tzinfo=UTC)
    reactivated = service.enroll(request(), INDOMARET, later, request_id="indomaret:key-9")
    # The answer was lost after the reactivation committed; the partner retries the same request.
    retried = service.enroll(request(), INDOMARET, later, request_id="indomaret:key-9")
    assert reactivated.reactivated and retried.reactivated
    assert retried == reactivated
    assert retried.dues.month == "2027-02"
    assert [e.reactivated for e in store.events] == [False, True]


def test_reactivation_keeps_the_recruiting_agent_and_records_who_reactivated(
    service: EnrollmentService, store: MemoryStore
) -> None:
    first = service.enroll(request(agent_code="ag-9"), AGENTS, NOW)
    lapse(store, first.participant_id)
    service.enroll(request(agent_code="ALFA-7"), INDOMARET, datetime(2027, 2, 3, tzinfo=UTC))
    revived = store.participants[first.participant_id]
    assert revived.recruited_by.partner_id == "agen-jabar"
    assert revived.recruited_by.agent_code == "AG-9"  # upper case, whatever the partner typed
    assert revived.recruited_by.at == NOW
    assert (revived.last_enrollment.partner_id, revived.last_enrollment.agent_code) == ("indomaret", "ALFA-7")
    assert index_keys(revived)["gsi3pk"] == "AGENT#agen-jabar#AG-9"


def test_agent_codes_are_scoped_by_partner(service: EnrollmentService, store: MemoryStore) -> None:
    a = service.enroll(request(agent_code="AG-1"), AGENTS, NOW)
    b = service.enroll(request(nik="3171011708900002", gender="M", agent_code="ag-1"), INDOMARET, NOW)
    keys = {index_keys(store.participants[p.participant_id])["gsi3pk"] for p in (a, b)}
    assert keys == {"AGENT#agen-jabar#AG-1", "AGENT#indomaret#AG-1"}


def test_reactivation_that_loses_a_race_is_applied_to_a_fresh_read(
    service: EnrollmentService, store: MemoryStore
) -> None:
    first = service.enroll(request(), AGENTS, NOW)
    lapse(store, first.participant_id)
    store.lose_next_race = True
    again = service.enroll(request(), INDOMARET, datetime(2027, 2, 3, tzinfo=UTC))
    assert again.reactivated
    assert store.participants[first.participant_id].partner_id == "indomaret"


def test_only_a_local_government_pays_as_government(service: EnrollmentService, store: MemoryStore) -> None:
    with pytest.raises(DomainValidationError) as raised:
        service.enroll(request(payer={"type": "government", "id": "pemda-bdg"}), INDOMARET, NOW)
    assert raised.value.field_names == ["payer.type"]
    assert store.participants == {}


def test_a_local_governments_workers_are_government_paid_without_the_discount(
    service: EnrollmentService, store: MemoryStore
) -> None:
    during_discount = datetime(2026, 3, 2, tzinfo=UTC)  # PP 50/2025 covers transport from 2026-01
    paid_by_pemda = service.enroll(request(sector="transport"), PEMDA, during_discount)
    stored = store.participants[paid_by_pemda.participant_id]
    assert stored.payer is not None
    assert (stored.payer.type, stored.payer.id) == ("government", "pemda-bdg")
    assert paid_by_pemda.dues.discount == 0
    self_paid = service.enroll(request(nik="3171011708900002", gender="M", sector="transport"), AGENTS, during_discount)
    assert self_paid.dues.discount > 0


def test_a_local_government_cannot_name_another_payer_id(service: EnrollmentService) -> None:
    with pytest.raises(DomainValidationError) as raised:
        service.enroll(request(payer={"type": "government", "id": "pemda-other"}), PEMDA, NOW)
    assert raised.value.field_names == ["payer.id"]


def lapse(store: MemoryStore, participant_id: str) -> None:
    current = store.participants[participant_id]
    store.participants[participant_id] = current.model_copy(
        update={"status": "lapsed", "covered_through": "2026-06", "version": current.version + 1}
    )


def test_an_enrollment_names_only_an_active_agent_of_its_partner(
    service: EnrollmentService, store: MemoryStore, agents: MemoryAgents
) -> None:
    for code, partner in (("AG-404", AGENTS), ("ALFA-7", AGENTS)):  # unknown; another partner's agent
        with pytest.raises(DomainValidationError) as refused:
            service.enroll(request(agent_code=code), partner, NOW)
        assert refused.value.field_names == ["agent_code"]
    agents.deactivate("agen-jabar", "AG-9")
    with pytest.raises(DomainValidationError) as inactive:
        service.enroll(request(agent_code="ag-9"), AGENTS, NOW)
    assert inactive.value.field_names == ["agent_code"]
    assert not store.participants and not store.events  # nothing written
    assert service.enroll(request(agent_code="ag-1"), AGENTS, NOW).agent_code == "AG-1"


def test_a_retry_of_a_committed_enrollment_is_answered_after_its_agent_was_deactivated(
    service: EnrollmentService, store: MemoryStore, agents: MemoryAgents
) -> None:
    first = service.enroll(request(agent_code="AG-9"), AGENTS, NOW, request_id="agen-jabar:key-1")
    agents.deactivate("agen-jabar", "AG-9")
    # Idempotency first: the same request (its answer lost) gets the same answer, nothing twice.
    assert service.enroll(request(agent_code="AG-9"), AGENTS, NOW, request_id="agen-jabar:key-1") == first
    assert len(store.events) == 1
    # Another request naming the deactivated agent is refused.
    with pytest.raises(DomainValidationError):
        service.enroll(request(agent_code="AG-9"), AGENTS, NOW, request_id="agen-jabar:key-2")

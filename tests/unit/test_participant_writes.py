"""The participant write path against a DynamoDB table (moto): version-checked writes that never
lose a concurrent change, and stored items read with types only."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from perisai.errors import VersionConflict
from perisai.participants.models import EnrollmentRecord, Participant, Recruitment
from perisai.participants.repository import ParticipantRepository, index_keys
from perisai.participants.service import modify
from tests.helpers.moto_table import participants_table

TABLE = "participants-test"
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[ParticipantRepository]:
    with participants_table(monkeypatch, TABLE) as client:
        yield ParticipantRepository(TABLE, client)


def participant(**overrides: Any) -> Participant:
    data: dict[str, Any] = {
        "participant_id": "PST-0000000000AB",
        "partner_id": "agen-jabar",
        "channel": "agent_network",
        "nik_hash": "a" * 64,
        "nik_ciphertext": "ciphertext",
        "full_name": "Siti Aminah",
        "birth_date": "1990-08-17",
        "gender": "F",
        "phone": "+6281311112222",
        "occupation": "pedagang",
        "sector": "other",
        "monthly_income": 1_250_000,
        "programs": ["JKK", "JKM"],
        "status": "pending_payment",
        "enrolled_at": NOW,
        "recruited_by": Recruitment(partner_id="agen-jabar", agent_code="AG-9", at=NOW),
        "last_enrollment": EnrollmentRecord(partner_id="agen-jabar", agent_code="AG-9", dues_month="2026-11", at=NOW),
        "first_dues_month": "2026-11",
        "next_dues_month": "2026-11",
    }
    data.update(overrides)
    return Participant.model_validate(data)


def test_two_concurrent_writers_lose_neither_change(store: ParticipantRepository) -> None:
    store.create(participant())
    both_read = threading.Barrier(2, timeout=10)
    calls = {"occupation": 0, "covered_through": 0}

    failures: list[BaseException] = []

    def writer(field: str, value: str) -> None:
        def change(current: Participant) -> tuple[Participant, list[Any]]:
            calls[field] += 1
            if calls[field] == 1:
                both_read.wait()  # both writers hold version 1 before either writes
            return current.model_copy(update={field: value}), []

        try:
            modify(store, "PST-0000000000AB", change)
        except BaseException as exc:  # a thread's exception would otherwise vanish
            failures.append(exc)

    threads = [
        threading.Thread(target=writer, args=("occupation", "nelayan")),
        threading.Thread(target=writer, args=("covered_through", "2026-11")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    stored = store.get("PST-0000000000AB")
    assert stored is not None
    assert (stored.occupation, stored.covered_through) == ("nelayan", "2026-11")
    assert stored.version == 3
    assert sorted(calls.values()) == [1, 2]  # the loser re-read and applied its change again


def test_a_write_over_a_stale_version_is_refused(store: ParticipantRepository) -> None:
    store.create(participant())
    store.replace(participant(occupation="nelayan"), read_version=1)
    with pytest.raises(VersionConflict):
        store.replace(participant(occupation="petani"), read_version=1)
    stored = store.get("PST-0000000000AB")
    assert stored is not None and stored.occupation == "nelayan"


def test_every_writer_stores_the_same_index_keys(store: ParticipantRepository) -> None:
    store.create(participant())
    lapsed = store.replace(participant(status="lapsed"), read_version=1)
    item = store._client.get_item(  # noqa: SLF001  # the raw item, to see the index attributes
        TableName=TABLE, Key={"pk": {"S": "PARTICIPANT#PST-0000000000AB"}, "sk": {"S": "PROFILE"}}
    )["Item"]
    stored_keys = {k: v["S"] for k, v in item.items() if k.startswith("gsi")}
    assert stored_keys == index_keys(lapsed)
    assert "gsi2pk" not in stored_keys  # a lapsed participant owes nothing: out of the due-month index
    assert stored_keys["gsi3pk"] == "AGENT#agen-jabar#AG-9"


def test_a_stored_phone_is_not_validated_again() -> None:
    stored = participant(phone="+62999", heir={"name": "Budi", "relationship": "spouse", "phone": "12"})
    assert stored.phone == "+62999"


def test_a_stored_model_error_never_carries_the_value() -> None:
    with pytest.raises(ValidationError) as raised:
        Participant.model_validate({"participant_id": "PST-1", "phone": ["+6281234567890"], "full_name": 7})
    assert "+6281234567890" not in str(raised.value)
    assert "input_value" not in str(raised.value)

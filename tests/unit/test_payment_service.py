"""Payment orders and callbacks against a participants table (moto): orders bill the next unpaid
months, and a payment is credited exactly once however the providers deliver it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from perisai.domain.partners import Partner
from perisai.domain.payment_codes import check_payment_code
from perisai.domain.rates import RateBook
from perisai.errors import NotFound
from perisai.participants.models import EnrollmentRecord, Participant, Recruitment
from perisai.participants.repository import ParticipantRepository
from perisai.payments.providers import ProviderEvent
from perisai.payments.providers_channel import parse_channel
from perisai.payments.providers_midtrans import parse_midtrans
from perisai.payments.repository import DynamoPaymentStore
from perisai.payments.service import PaymentService
from tests.helpers.moto_table import Atomic, participants_table

TABLE = "participants-payments-test"
ENROLLED = datetime(2026, 11, 3, 3, 0, tzinfo=UTC)  # 3 Nov 2026, 10:00 WIB
AGENTS = Partner("agen-jabar", "agent_network", frozenset({"enroll", "pay"}), "key-agen")
OTHER = Partner("indomaret", "retailer", frozenset({"enroll", "pay"}), "key-indomaret")
BACKOFFICE = Partner("bo", "back_office", frozenset({"backoffice"}), "key-bo")


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[PaymentService, ParticipantRepository, Atomic]]:
    with participants_table(monkeypatch, TABLE) as client:
        participants = ParticipantRepository(TABLE, client)
        store = DynamoPaymentStore(TABLE, participants, client)
        yield PaymentService(participants, store, RateBook.load()), participants, client


def enrolled(participants: ParticipantRepository, **overrides: Any) -> Participant:
    data: dict[str, Any] = {
        "participant_id": "PST-0000000000PY",
        "partner_id": "agen-jabar",
        "channel": "agent_network",
        "nik_hash": "b" * 64,
        "nik_ciphertext": "ciphertext",
        "full_name": "Siti Aminah",
        "birth_date": "1990-08-17",
        "gender": "F",
        "phone": "+6281311112222",
        "occupation": "pedagang",
        "sector": "other",
        "monthly_income": 1_000_000,
        "programs": ["JKK", "JKM"],
        "status": "pending_payment",
        "enrolled_at": ENROLLED,
        "recruited_by": Recruitment(partner_id="agen-jabar", agent_code="AG-9", at=ENROLLED),
        "last_enrollment": EnrollmentRecord(
            partner_id="agen-jabar", agent_code="AG-9", dues_month="2026-11", at=ENROLLED
        ),
        "first_dues_month": "2026-11",
        "next_dues_month": "2026-11",
    }
    data.update(overrides)
    participant = Participant.model_validate(data)
    participants.create(participant)
    return participant


def settlement(
    order_id: str, amount: int, *, status: str = "settlement", tx: str = "tx-1", **extra: Any
) -> ProviderEvent:
    body = {
        "transaction_status": status,
        "status_code": "200" if status in ("settlement", "capture", "refund", "partial_refund") else "201",
        "gross_amount": f"{amount}.00",
        "order_id": order_id,
        "transaction_id": tx,
        "payment_type": "cstore",
        "store": "indomaret",
        "currency": "IDR",
        "transaction_time": "2026-11-05 10:00:00",
        **extra,
    }
    return parse_midtrans(body)


NOW = datetime(2026, 11, 5, 3, 0, tzinfo=UTC)  # 5 Nov 2026, before the 15th


def test_an_order_bills_the_next_months_with_a_checked_payment_code(world: Any) -> None:
    service, participants, _ = world
    enrolled(participants)
    order, created = service.open_order("PST-0000000000PY", 3, AGENTS, NOW)
    assert created
    assert order.months == ["2026-11", "2026-12", "2027-01"]
    # other sector: PP 50/2025 halves JKK+JKM Apr-Dec 2026 only; January 2027 is full price
    assert order.amount == 8_400 + 8_400 + 16_800
    assert check_payment_code(order.payment_code) == order.payment_code
    assert order.status == "open"
    again, created_again = service.open_order("PST-0000000000PY", 3, AGENTS, NOW)
    assert (again, created_again) == (order, False)
    with pytest.raises(NotFound):
        service.open_order("PST-0000000000PY", 3, OTHER, NOW)


def test_a_settlement_credits_each_month_once_and_activates(world: Any) -> None:
    service, participants, _ = world
    enrolled(participants)
    order, _ = service.open_order("PST-0000000000PY", 3, AGENTS, NOW)
    answer = service.receive(settlement(order.order_id, order.amount), NOW)
    assert answer.outcome == "credited"
    again = service.receive(settlement(order.order_id, order.amount), NOW)
    assert again.outcome == "duplicate"
    participant = participants.get("PST-0000000000PY")
    assert participant is not None
    assert (participant.status, participant.covered_through, participant.next_dues_month) == (
        "active",
        "2027-01",
        "2027-02",
    )
    page = service.contributions("PST-0000000000PY", AGENTS, 10, None)
    assert [e.month for e in page.items] == ["2027-01", "2026-12", "2026-11"]
    assert sum(e.total for e in page.items) == order.amount
    assert service.order(order.order_id, BACKOFFICE).status == "paid"


def test_ten_concurrent_identical_settlements_credit_once(world: Any) -> None:
    service, participants, client = world
    enrolled(participants)
    order, _ = service.open_order("PST-0000000000PY", 1, AGENTS, NOW)
    answers: list[str] = []
    start = threading.Barrier(10, timeout=10)

    def deliver() -> None:
        start.wait()
        answers.append(service.receive(settlement(order.order_id, order.amount), NOW).outcome)

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(answers) == ["credited"] + ["duplicate"] * 9
    entries = client.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :d)",
        ExpressionAttributeValues={":pk": {"S": "PARTICIPANT#PST-0000000000PY"}, ":d": {"S": "DUES#"}},
    )["Items"]
    assert len(entries) == 1


def test_pending_and_a_late_expire_never_undo_a_payment(world: Any) -> None:
    service, participants, _ = world
    enrolled(participants)
    order, _ = service.open_order("PST-0000000000PY", 1, AGENTS, NOW)
    assert service.receive(settlement(order.order_id, order.amount, status="pending"), NOW).outcome == "recorded"
    assert service.receive(settlement(order.order_id, order.amount), NOW).outcome == "credited"
    assert service.receive(settlement(order.order_id, order.amount, status="expire"), NOW).outcome == "recorded"
    view = service.order(order.order_id, AGENTS)
    assert view.status == "paid"
    assert [p.outcome for p in view.payments] == ["recorded", "credited", "recorded"]


def test_an_amount_that_differs_is_not_credited(world: Any) -> None:
    service, participants, _ = world
    enrolled(participants)
    order, _ = service.open_order("PST-0000000000PY", 1, AGENTS, NOW)
    answer = service.receive(settlement(order.order_id, order.amount - 100), NOW)
    assert answer.outcome == "amount_mismatch"
    participant = participants.get("PST-0000000000PY")
    assert participant is not None and participant.covered_through is None


def test_the_same_order_paid_twice_credits_once_and_keeps_the_rest(world: Any) -> None:
    service, participants, _ = world
    enrolled(participants)
    first, _ = service.open_order("PST-0000000000PY", 1, AGENTS, NOW)
    second, _ = service.open_order("PST-0000000000PY", 1, BACKOFFICE, NOW)
    assert second.order_id == first.order_id  # an open order for exactly these months is reused
    assert service.receive(settlement(first.order_id, first.amount), NOW).outcome == "credited"
    later = service.receive(settlement(first.order_id, first.amount, tx="tx-2"), NOW)
    assert later.outcome == "overpayment"


def test_an_expired_order_paid_late_credits_its_months_if_still_unpaid(world: Any) -> None:
    service, participants, _ = world
    enrolled(participants)
    order, _ = service.open_order("PST-0000000000PY", 1, AGENTS, NOW)
    three_days_later = NOW + timedelta(hours=72)
    assert service.receive(settlement(order.order_id, order.amount), three_days_later).outcome == "credited"
    participant = participants.get("PST-0000000000PY")
    assert participant is not None and participant.covered_through == "2026-11"
    assert [i.kind for i in service.reconciliation("open", 10, None).items] == ["late_payment"]


def test_two_orders_paid_for_one_month_credit_it_once(world: Any) -> None:
    service, participants, _ = world
    enrolled(participants)
    expired, _ = service.open_order("PST-0000000000PY", 1, AGENTS, NOW)
    three_days_later = NOW + timedelta(hours=72)
    fresh, created = service.open_order("PST-0000000000PY", 1, AGENTS, three_days_later)
    assert created and fresh.order_id != expired.order_id and fresh.months == expired.months
    assert (
        service.receive(settlement(fresh.order_id, fresh.amount, tx="tx-new"), three_days_later).outcome == "credited"
    )
    # the worker also paid the expired order's code at another counter
    late = service.receive(settlement(expired.order_id, expired.amount, tx="tx-old"), three_days_later)
    assert late.outcome == "overpayment"
    assert [i.kind for i in service.reconciliation("open", 10, None).items] == ["overpayment"]
    assert len(service.contributions("PST-0000000000PY", AGENTS, 10, None).items) == 1


def test_a_channel_payment_by_code_credits_the_order(world: Any) -> None:
    service, participants, _ = world
    enrolled(participants)
    order, _ = service.open_order("PST-0000000000PY", 1, AGENTS, NOW)
    body = json.dumps(
        {
            "payment_code": order.payment_code,
            "amount": order.amount,
            "paid_at": "2026-11-05T10:00:00+07:00",
            "channel_reference": "POS-1",
        }
    ).encode()
    assert service.receive(parse_channel(body, "demo-channel"), NOW).outcome == "credited"
    assert service.receive(parse_channel(body, "demo-channel"), NOW).outcome == "duplicate"


def test_an_unknown_order_is_not_found(world: Any) -> None:
    service, participants, _ = world
    enrolled(participants)
    with pytest.raises(NotFound):
        service.receive(settlement("ORD-NOSUCHORDER00", 16_800), NOW)


def test_money_that_needs_a_person_is_listed_and_resolved_once(world: Any) -> None:
    service, participants, _ = world
    enrolled(participants)
    order, _ = service.open_order("PST-0000000000PY", 1, AGENTS, NOW)
    service.receive(settlement(order.order_id, order.amount + 500), NOW)
    page = service.reconciliation("open", 10, None)
    assert [(i.kind, i.order_id, i.amount) for i in page.items] == [
        ("amount_mismatch", order.order_id, order.amount + 500)
    ]
    resolved = service.resolve(page.items[0].item_id, "refunded at the counter", BACKOFFICE, NOW)
    assert (resolved.resolved_by, resolved.note) == ("bo", "refunded at the counter")
    assert service.reconciliation("open", 10, None).items == []
    assert [i.item_id for i in service.reconciliation("resolved", 10, None).items] == [resolved.item_id]
    with pytest.raises(NotFound):
        service.resolve(resolved.item_id, "again", BACKOFFICE, NOW)


def test_a_refund_takes_back_the_newest_months_it_covers(world: Any) -> None:
    service, participants, _ = world
    enrolled(participants)
    order, _ = service.open_order("PST-0000000000PY", 3, AGENTS, NOW)  # 8,400 + 8,400 + 16,800
    assert service.receive(settlement(order.order_id, order.amount), NOW).outcome == "credited"
    # a partial refund of one full-price month: the newest (January) goes back
    partial = settlement(order.order_id, order.amount, status="partial_refund", refund_amount=16_800)
    assert service.receive(partial, NOW).outcome == "reversed"
    participant = participants.get("PST-0000000000PY")
    assert participant is not None and participant.covered_through == "2026-12"
    page = service.contributions("PST-0000000000PY", AGENTS, 10, None)
    assert [e.month for e in page.items] == ["2026-12", "2026-11"]
    # the full refund later (cumulative amount): the rest goes back, the order is reversed
    full = settlement(order.order_id, order.amount, status="refund", refund_amount=order.amount)
    assert service.receive(full, NOW).outcome == "reversed"
    participant = participants.get("PST-0000000000PY")
    assert participant is not None and (participant.covered_through, participant.status) == (None, "pending_payment")
    assert service.order(order.order_id, AGENTS).status == "reversed"
    assert service.contributions("PST-0000000000PY", AGENTS, 10, None).items == []


def test_settlement_then_deny_reverses_the_payment(world: Any) -> None:
    service, participants, _ = world
    enrolled(participants)
    order, _ = service.open_order("PST-0000000000PY", 1, AGENTS, NOW)
    assert service.receive(settlement(order.order_id, order.amount), NOW).outcome == "credited"
    assert service.receive(settlement(order.order_id, order.amount, status="deny"), NOW).outcome == "reversed"
    participant = participants.get("PST-0000000000PY")
    assert participant is not None and participant.covered_through is None
    # a deny before any payment credits nothing and reverses nothing
    other, _ = service.open_order("PST-0000000000PY", 3, AGENTS, NOW)
    assert (
        service.receive(settlement(other.order_id, other.amount, status="deny", tx="tx-9"), NOW).outcome == "recorded"
    )


def test_a_month_a_later_regulation_discounts_is_credited_on_the_next_order_once(world: Any) -> None:
    service, participants, _ = world
    enrolled(participants, first_dues_month="2027-01", next_dues_month="2027-01")
    january = datetime(2027, 1, 5, 3, 0, tzinfo=UTC)
    paid, _ = service.open_order("PST-0000000000PY", 1, AGENTS, january)
    assert paid.amount == 16_800  # other sectors: full price in 2027 under the rules shipped
    assert service.receive(settlement(paid.order_id, paid.amount), january).outcome == "credited"
    # A regulation published later halves JKK+JKM for other sectors from January 2027.
    data = RateBook.default_data()
    later = {
        **data["discounts"][0],
        "id": "later-discount",
        "windows": {"other": {"from": "2027-01", "until": "2027-06"}},
    }
    data["discounts"].append(later)
    service.rate_book = RateBook.model_validate(data)
    one_month, _ = service.open_order("PST-0000000000PY", 1, AGENTS, datetime(2027, 2, 3, 3, 0, tzinfo=UTC))
    assert (one_month.rebate, one_month.amount) == (0, 8_400)  # a rebate never empties an order
    february, _ = service.open_order("PST-0000000000PY", 3, AGENTS, datetime(2027, 2, 3, 3, 0, tzinfo=UTC))
    assert (february.rebate, february.amount) == (8_400, 3 * 8_400 - 8_400)
    assert service.receive(settlement(february.order_id, february.amount, tx="tx-feb"), january).outcome == "credited"
    may, _ = service.open_order("PST-0000000000PY", 3, AGENTS, datetime(2027, 3, 3, 3, 0, tzinfo=UTC))
    assert may.months[0] == "2027-05" and may.rebate == 0  # January's rebate was taken once

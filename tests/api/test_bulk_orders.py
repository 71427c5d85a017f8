"""Payers' bulk orders through the local runtime: one code for many workers, paid through the
same provider callbacks as any order, each worker credited once through the crediting queue."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from tests.api.conftest import BACKOFFICE, PARTNER, Api, enrollment, scan_all
from tests.helpers.concurrency import fire
from tests.helpers.faults import Fault, inject

if TYPE_CHECKING:
    from local_runtime.runtime import LocalRuntime

SPONSOR = {"Authorization": "Bearer demo-sponsor-key"}
PEMDA = {"Authorization": "Bearer demo-pemda-key"}
SERVER_KEY = "local-midtrans-server-key"


def settle(api: Api, order: dict[str, Any], transaction_id: str, amount: int | None = None) -> dict[str, Any]:
    """Midtrans' settlement notification for ``order`` (signed with the local server key)."""
    gross = f"{order['amount'] if amount is None else amount}.00"
    signature = hashlib.sha512(f"{order['order_id']}200{gross}{SERVER_KEY}".encode()).hexdigest()
    answer = api.post(
        "/v1/payments/midtrans",
        {
            "transaction_status": "settlement",
            "status_code": "200",
            "transaction_id": transaction_id,
            "order_id": order["order_id"],
            "gross_amount": gross,
            "payment_type": "bank_transfer",
            "signature_key": signature,
        },
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def quote(api: Api, month: str, payer_type: str, income: int = 2_500_000, sector: str = "transport") -> int:
    answer = api.get(
        "/v1/dues/quote",
        PARTNER,
        params={"monthly_income": income, "sector": sector, "month": month, "payer_type": payer_type},
    )
    assert answer.status_code == 200, answer.text
    return int(answer.json()["total"])


def ledger(api: Api, participant_id: str) -> list[dict[str, Any]]:
    answer = api.get(f"/v1/participants/{participant_id}/contributions", BACKOFFICE)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def enroll(api: Api, headers: dict[str, str], **overrides: Any) -> str:
    answer = api.enroll(enrollment(**overrides), headers=headers)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["participant_id"])


def order_view(api: Api, order_id: str, headers: dict[str, str]) -> dict[str, Any]:
    answer = api.get(f"/v1/payment-orders/{order_id}", headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


@pytest.fixture
def december(frozen_clock: Callable[[str], None]) -> None:
    frozen_clock("2026-12-05T10:00:00+07:00")


def test_a_sponsor_pays_for_the_workers_it_enrolled_with_one_code(api: Api, december: None) -> None:
    workers = [enroll(api, SPONSOR) for _ in range(3)]
    opened = api.post("/v1/payers/demo-sponsor/payment-orders", {"months": 1, "participant_ids": workers}, SPONSOR)
    assert opened.status_code == 201, opened.text
    order = opened.json()
    # Each worker's December, sponsor-paid: the PP 50/2025 discount applies as to the worker's own.
    assert order["amount"] == 3 * quote(api, "2026-12", "sponsor") < 3 * quote(api, "2026-12", "government")
    assert order["status"] == "open" and order["months"] == 1
    assert order["participants"] == {"total": 3, "credited": 0, "skipped": []}
    assert len(order["payment_code"]) == 14

    answer = settle(api, order, "tx-sponsor-1")
    assert answer["outcome"] == "credited"
    api.post("/_local/drain")
    shown = order_view(api, order["order_id"], SPONSOR)
    assert shown["status"] == "paid"
    assert shown["participants"] == {"total": 3, "credited": 3, "skipped": []}
    for worker in workers:
        entries = ledger(api, worker)
        assert [(e["month"], e["payer_type"], e["payer_id"], e["order_id"]) for e in entries] == [
            ("2026-12", "sponsor", "demo-sponsor", order["order_id"])
        ]
        profile = api.get(f"/v1/participants/{worker}", SPONSOR).json()
        assert profile["status"] == "active" and profile["covered_through"] == "2026-12"

    # The same notification again, and a second payment for the paid order: nothing credited twice.
    assert settle(api, order, "tx-sponsor-1")["outcome"] == "duplicate"
    assert settle(api, order, "tx-sponsor-2")["outcome"] == "overpayment"
    api.post("/_local/drain")
    assert all(len(ledger(api, w)) == 1 for w in workers)
    held = api.get("/v1/reconciliation", BACKOFFICE, params={"limit": 100}).json()["items"]
    assert [i["amount"] for i in held if i["order_id"] == order["order_id"]] == [order["amount"]]


def test_asking_again_answers_the_same_open_order_and_a_worker_is_in_one_open_order(api: Api, december: None) -> None:
    workers = [enroll(api, SPONSOR) for _ in range(2)]
    first = api.post("/v1/payers/demo-sponsor/payment-orders", {"months": 3, "participant_ids": workers}, SPONSOR)
    again = api.post("/v1/payers/demo-sponsor/payment-orders", {"months": 3, "participant_ids": workers}, SPONSOR)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["order_id"] == first.json()["order_id"]
    # Three months each: December to February, every one in the transport discount window.
    assert first.json()["amount"] == 2 * sum(quote(api, m, "sponsor") for m in ("2026-12", "2027-01", "2027-02"))

    overlapping = api.post(
        "/v1/payers/demo-sponsor/payment-orders", {"months": 1, "participant_ids": workers[:1]}, SPONSOR
    )
    assert overlapping.status_code == 409, overlapping.text
    assert overlapping.json()["error"] == "participant_in_open_order"
    assert workers[0] in overlapping.json()["message"]

    key = {"Idempotency-Key": "bulk-order-key-1"}
    third = enroll(api, SPONSOR)
    once = api.post(
        "/v1/payers/demo-sponsor/payment-orders", {"months": 1, "participant_ids": [third]}, {**SPONSOR, **key}
    )
    replay = api.post(
        "/v1/payers/demo-sponsor/payment-orders", {"months": 1, "participant_ids": [third]}, {**SPONSOR, **key}
    )
    assert once.status_code == 201 and replay.status_code == 201 and replay.json() == once.json()
    reused = api.post("/v1/payers/demo-sponsor/payment-orders", {"months": 3}, {**SPONSOR, **key})
    assert reused.status_code == 422 and reused.json()["error"] == "idempotency_key_reused"


def test_a_worker_paid_meanwhile_is_skipped_and_the_money_kept_for_the_payer(
    api: Api, december: None, runtime: LocalRuntime
) -> None:
    workers = [enroll(api, SPONSOR) for _ in range(2)]
    order = api.post("/v1/payers/demo-sponsor/payment-orders", {"months": 1, "participant_ids": workers}, SPONSOR)
    assert order.status_code == 201, order.text
    # The first worker's December is paid through the worker's own order before the payer pays.
    own = api.post(f"/v1/participants/{workers[0]}/payment-orders", {"months": 1}, SPONSOR).json()
    assert settle(api, own, f"tx-own-{own['order_id']}")["outcome"] == "credited"

    settle(api, order.json(), f"tx-{order.json()['order_id']}")
    api.post("/_local/drain")
    shown = order_view(api, order.json()["order_id"], BACKOFFICE)
    assert shown["status"] == "paid"
    assert shown["participants"] == {
        "total": 2,
        "credited": 1,
        "skipped": [{"participant_id": workers[0], "reason": "already_paid"}],
    }
    assert [e["order_id"] for e in ledger(api, workers[0])] == [own["order_id"]]
    assert [e["order_id"] for e in ledger(api, workers[1])] == [order.json()["order_id"]]
    kept = [
        i
        for i in api.get("/v1/reconciliation", BACKOFFICE, params={"limit": 100}).json()["items"]
        if i["order_id"] == order.json()["order_id"]
    ]
    assert [(i["participant_id"], i["payer_id"], i["amount"]) for i in kept] == [
        (workers[0], "demo-sponsor", order.json()["amount"] // 2)
    ]
    outcomes = scan_all(
        runtime,
        FilterExpression="pk = :pk AND begins_with(sk, :credit)",
        ExpressionAttributeValues={":pk": {"S": f"ORDER#{order.json()['order_id']}"}, ":credit": {"S": "CREDIT#"}},
    )
    assert sorted(o["outcome"]["S"] for o in outcomes) == ["credited", "skipped"]


def test_only_the_payer_or_the_back_office_sees_its_orders(api: Api, december: None) -> None:
    worker = enroll(api, SPONSOR)
    for headers in (PARTNER, PEMDA):
        refused = api.post("/v1/payers/demo-sponsor/payment-orders", {"months": 1}, headers)
        assert refused.status_code == 404, refused.text
    opened = api.post("/v1/payers/demo-sponsor/payment-orders", {"months": 1, "participant_ids": [worker]}, BACKOFFICE)
    assert opened.status_code == 201, opened.text
    order_id = opened.json()["order_id"]
    assert api.get(f"/v1/payment-orders/{order_id}", PEMDA).status_code == 404
    assert api.get(f"/v1/payment-orders/{order_id}", SPONSOR).status_code == 200
    # The back office naming a partner that pays for nobody (an agent network, or no partner at
    # all) is told there is no such payer, and no order is opened.
    for payer_id in ("demo-partner", "no-such-payer"):
        refused = api.post(f"/v1/payers/{payer_id}/payment-orders", {"months": 1}, BACKOFFICE)
        assert refused.status_code == 404, refused.text
        assert refused.json() == {"error": "not_found", "message": "payer not found", "fields": []}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"months": 2}, "months"),
        ({"months": 1, "participant_ids": []}, "participant_ids"),
        ({"months": 1, "participant_ids": ["PST-A", "PST-A"]}, "participant_ids"),
        ({"months": 1, "participant_ids": ["PST-DOES-NOT-EXIST"]}, "participant_ids"),
        ({"participant_ids": ["PST-A"]}, "months"),
    ],
)
def test_a_bad_bulk_order_names_the_field_and_changes_nothing(
    api: Api, december: None, body: dict[str, Any], field: str
) -> None:
    answer = api.post("/v1/payers/demo-sponsor/payment-orders", body, SPONSOR)
    assert answer.status_code == 422, answer.text
    assert field in [f["field"] for f in answer.json()["fields"]]


def test_a_worker_the_payer_does_not_pay_for_is_refused(api: Api, december: None) -> None:
    own_payer = enroll(api, PARTNER)
    answer = api.post("/v1/payers/demo-sponsor/payment-orders", {"months": 1, "participant_ids": [own_payer]}, SPONSOR)
    assert answer.status_code == 422, answer.text
    assert own_payer in answer.json()["fields"][0]["message"]


def test_a_wrong_amount_credits_nobody(api: Api, december: None) -> None:
    worker = enroll(api, SPONSOR)
    order = api.post("/v1/payers/demo-sponsor/payment-orders", {"months": 1, "participant_ids": [worker]}, SPONSOR)
    answer = settle(api, order.json(), "tx-short", amount=order.json()["amount"] - 1)
    assert answer["outcome"] == "amount_mismatch"
    api.post("/_local/drain")
    assert ledger(api, worker) == []
    assert order_view(api, order.json()["order_id"], SPONSOR)["status"] == "open"


def test_single_orders_still_work_for_sponsored_workers(api: Api, december: None) -> None:
    worker = enroll(api, SPONSOR)
    own = api.post(f"/v1/participants/{worker}/payment-orders", {"months": 1}, SPONSOR).json()
    assert own["amount"] == quote(api, "2026-12", "sponsor")
    assert settle(api, own, f"tx-{own['order_id']}")["outcome"] == "credited"
    assert ledger(api, worker)[0]["payer_id"] == "demo-sponsor"


def _midtrans_body(order: dict[str, Any], transaction_id: str) -> dict[str, Any]:
    gross = f"{order['amount']}.00"
    return {
        "transaction_status": "settlement",
        "status_code": "200",
        "transaction_id": transaction_id,
        "order_id": order["order_id"],
        "gross_amount": gross,
        "payment_type": "bank_transfer",
        "signature_key": hashlib.sha512(f"{order['order_id']}200{gross}{SERVER_KEY}".encode()).hexdigest(),
    }


def _books_agree(api: Api, runtime: LocalRuntime, order_id: str, workers: list[str]) -> list[str]:
    """Every worker is whole: credited by this order in the ledger, the profile and its outcome
    alike, or in none of them. Returns the workers credited."""
    outcomes = {
        o["sk"]["S"].removeprefix("CREDIT#")
        for o in scan_all(
            runtime,
            FilterExpression="pk = :pk AND begins_with(sk, :credit)",
            ExpressionAttributeValues={":pk": {"S": f"ORDER#{order_id}"}, ":credit": {"S": "CREDIT#"}},
        )
    }
    credited = []
    for worker in workers:
        entries = [e for e in ledger(api, worker) if e["order_id"] == order_id]
        covered = api.get(f"/v1/participants/{worker}", BACKOFFICE).json()["covered_through"]
        assert len(entries) <= 1
        assert (len(entries) == 1) == (covered == "2026-12") == (worker in outcomes), worker
        if entries:
            credited.append(worker)
    return credited


def test_concurrent_and_duplicated_callbacks_and_tasks_credit_each_worker_once(
    api: Api, december: None, runtime: LocalRuntime
) -> None:
    workers = [enroll(api, SPONSOR) for _ in range(4)]
    order = api.post(
        "/v1/payers/demo-sponsor/payment-orders", {"months": 1, "participant_ids": workers}, SPONSOR
    ).json()
    body = _midtrans_body(order, "tx-concurrent")
    answers = fire(8, lambda: api.post("/v1/payments/midtrans", body))
    assert sorted(a.json()["outcome"] for a in answers) == ["credited"] + ["duplicate"] * 7
    # The queue delivers a task twice (at-least-once): the second delivery changes nothing.
    queue = runtime.cloud.client("sqs")
    url = next(u for u in queue.list_queues()["QueueUrls"] if "BulkCreditingQueue" in u and "Dead" not in u)
    for _ in range(2):
        queue.send_message(QueueUrl=url, MessageBody=json.dumps({"order_id": order["order_id"], "chunk": 0}))
    api.post("/_local/drain")
    assert sorted(_books_agree(api, runtime, order["order_id"], workers)) == sorted(workers)
    assert order_view(api, order["order_id"], SPONSOR)["participants"] == {"total": 4, "credited": 4, "skipped": []}


@pytest.mark.parametrize("kind", [Fault.THROTTLING, Fault.LOST_RESPONSE], ids=lambda k: str(k.value))
def test_a_dynamodb_failure_mid_crediting_leaves_nobody_half_credited_and_the_retry_credits_the_rest(
    api: Api, frozen_clock: Callable[[str], None], runtime: LocalRuntime, kind: Fault
) -> None:
    frozen_clock("2026-12-05T10:00:00+07:00")
    workers = [enroll(api, SPONSOR) for _ in range(5)]
    order = api.post(
        "/v1/payers/demo-sponsor/payment-orders", {"months": 1, "participant_ids": workers}, SPONSOR
    ).json()
    assert settle(api, order, f"tx-{order['order_id']}")["outcome"] == "credited"
    # The third worker's transaction fails (or commits but its answer is lost): the task fails.
    with inject(kind, at=3, match=("dynamodb", "TransactWriteItems"), functions="payment_callback") as faults:
        api.post("/_local/drain")
    assert len(faults.injected) == 1
    # Whatever the failed task had done before the fault is whole (the queue may already have
    # redelivered it): no worker has a ledger entry without its profile moving, or the reverse.
    _books_agree(api, runtime, order["order_id"], workers)
    # The queue redelivers a failed task once its visibility timeout has passed.
    frozen_clock("2026-12-05T10:15:00+07:00")
    api.post("/_local/drain")
    assert sorted(_books_agree(api, runtime, order["order_id"], workers)) == sorted(workers)
    shown = order_view(api, order["order_id"], SPONSOR)
    assert shown["status"] == "paid"
    assert shown["participants"] == {"total": 5, "credited": 5, "skipped": []}


def _statement(api: Api, payer: str, month: str, headers: dict[str, str]) -> dict[str, Any]:
    answer = api.get(f"/v1/payers/{payer}/statement", headers, params={"month": month})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_end_to_end_a_sponsor_and_a_local_government_each_pay_one_bulk_order(
    api: Api, frozen_clock: Callable[[str], None], runtime: LocalRuntime
) -> None:
    """The issue's walk-through: a sponsor enrolls three workers, a local government takes over
    two enrolled workers from next month, each pays one bulk order through Midtrans."""
    frozen_clock("2026-12-07T09:00:00+07:00")
    sponsored = [enroll(api, SPONSOR) for _ in range(3)]
    # Two workers who pay for themselves this month (their own orders), then the regency pays.
    taken_over = [enroll(api, PARTNER) for _ in range(2)]
    for worker in taken_over:
        own = api.post(f"/v1/participants/{worker}/payment-orders", {"months": 1}, PARTNER).json()
        assert settle(api, own, f"tx-{own['order_id']}")["outcome"] == "credited"
        moved = api.put(
            f"/v1/participants/{worker}/payer", {"payer_id": "demo-pemda", "from_month": "2027-01"}, headers=PEMDA
        )
        assert moved.status_code == 200, moved.text

    sponsor_order = api.post("/v1/payers/demo-sponsor/payment-orders", {"months": 1}, SPONSOR)
    pemda_order = api.post("/v1/payers/demo-pemda/payment-orders", {"months": 1}, PEMDA)
    assert (sponsor_order.status_code, pemda_order.status_code) == (201, 201), (sponsor_order.text, pemda_order.text)
    sponsor_order_body, pemda_order_body = sponsor_order.json(), pemda_order.json()
    # The default selection: every worker the payer pays for with an unpaid month it pays for (the
    # shared runtime holds other tests' sponsored workers too; the pemda's are only these two).
    assert pemda_order_body["participants"]["total"] == 2
    # The discount only where it applies: the sponsor's December as the worker's own would be,
    # the regency's January at full price (dues paid from APBD are excluded from PP 50/2025).
    assert pemda_order_body["amount"] == 2 * quote(api, "2027-01", "government")
    assert quote(api, "2027-01", "government") > quote(api, "2027-01", "sponsor")
    assert settle(api, sponsor_order_body, "tx-e2e-sponsor")["outcome"] == "credited"
    assert settle(api, pemda_order_body, "tx-e2e-pemda")["outcome"] == "credited"
    api.post("/_local/drain")

    for order, headers in ((sponsor_order_body, SPONSOR), (pemda_order_body, PEMDA)):
        shown = order_view(api, order["order_id"], headers)
        assert shown["status"] == "paid"
        assert (
            shown["participants"]["credited"] + len(shown["participants"]["skipped"]) == shown["participants"]["total"]
        )
    for worker in sponsored:
        assert [(e["month"], e["payer_type"], e["total"]) for e in ledger(api, worker)] == [
            ("2026-12", "sponsor", quote(api, "2026-12", "sponsor"))
        ]
    for worker in taken_over:
        months = sorted((e["month"], e["payer_type"], e["payer_id"]) for e in ledger(api, worker))
        assert months == [("2026-12", "self", None), ("2027-01", "government", "demo-pemda")]
        assert api.get(f"/v1/participants/{worker}", BACKOFFICE).json()["covered_through"] == "2027-01"

    # The statements hold exactly what the ledger holds for each payer and month.
    december = _statement(api, "demo-sponsor", "2026-12", SPONSOR)
    rows = {r["participant_id"]: r for r in december["rows"]}
    assert set(sponsored) <= set(rows)
    assert all(rows[w]["order_id"] == sponsor_order_body["order_id"] for w in sponsored)
    ledger_total = sum(
        e["total"] for w in rows for e in ledger(api, w) if e["month"] == "2026-12" and e["payer_id"] == "demo-sponsor"
    )
    assert december["total"] == ledger_total == sum(r["amount"] for r in december["rows"])
    january = _statement(api, "demo-pemda", "2027-01", PEMDA)
    assert sorted(r["participant_id"] for r in january["rows"]) == sorted(taken_over)
    assert (
        january["total"]
        == pemda_order_body["amount"]
        == sum(e["total"] for w in taken_over for e in ledger(api, w) if e["month"] == "2027-01")
    )
    assert _statement(api, "demo-pemda", "2026-12", PEMDA)["rows"] == []
    csv = api.get("/v1/payers/demo-pemda/statement", {**PEMDA, "Accept": "text/csv"}, params={"month": "2027-01"})
    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
    assert all(worker in csv.text for worker in taken_over) and str(january["total"]) in csv.text

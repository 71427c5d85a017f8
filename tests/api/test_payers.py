"""Sponsors and local governments (payers) over HTTP through the local runtime: who pays which
month, the workers a payer pays for, and its monthly statement. Each test uses payer partners of
its own, so what a payer sees is exactly what the test did."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tests.api.conftest import BACKOFFICE, PARTNER, Api, enrollment, partner_key, pay_by_midtrans

if TYPE_CHECKING:
    from local_runtime.runtime import LocalRuntime

NOW = "2026-05-05T10:00:00+07:00"  # May 2026: sector "other" is in the PP 50/2025 discount window


def _payer(runtime: LocalRuntime, channel: str) -> tuple[str, dict[str, str]]:
    partner_id = f"{'pemda' if channel == 'local_government' else 'sponsor'}-{uuid.uuid4().hex[:8]}"
    headers, _ = partner_key(runtime, partner_id, ["enroll", "pay"], channel=channel)  # type: ignore[arg-type]  # a payer channel, given as text
    return partner_id, headers


def _enrolled(api: Api, headers: dict[str, str] = PARTNER) -> str:
    response = api.enroll(enrollment(sector="other"), headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["participant_id"])


def _put(api: Api, participant_id: str, payer_id: str, from_month: str, headers: dict[str, str]) -> Any:
    return api.http.put(
        f"{api.base}/v1/participants/{participant_id}/payer",
        json={"payer_id": payer_id, "from_month": from_month},
        headers=headers,
        timeout=30,
    )


def _delete(api: Api, participant_id: str, from_month: str, headers: dict[str, str]) -> Any:
    return api.http.delete(
        f"{api.base}/v1/participants/{participant_id}/payer",
        params={"from_month": from_month},
        headers=headers,
        timeout=30,
    )


def _workers(api: Api, payer_id: str, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = api.get(f"/v1/payers/{payer_id}/participants", headers, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _raw(runtime: LocalRuntime, pk: str, sk: str) -> dict[str, Any] | None:
    from perisai.dynamo import from_item

    item = (
        runtime.cloud.client("dynamodb")
        .get_item(TableName=runtime.outputs()["ParticipantsTableName"], Key={"pk": {"S": pk}, "sk": {"S": sk}})
        .get("Item")
    )
    return from_item(item) if item else None


def _ledger(runtime: LocalRuntime, participant_id: str) -> dict[str, dict[str, Any]]:
    from perisai.dynamo import from_item

    page = runtime.cloud.client("dynamodb").query(
        TableName=runtime.outputs()["ParticipantsTableName"],
        KeyConditionExpression="pk = :pk AND begins_with(sk, :dues)",
        ExpressionAttributeValues={":pk": {"S": f"PARTICIPANT#{participant_id}"}, ":dues": {"S": "DUES#"}},
    )
    return {entry["month"]: entry for entry in (from_item(i) for i in page["Items"])}


def test_a_sponsor_enrollment_is_sponsor_paid_and_listed_for_the_sponsor(
    api: Api, runtime: LocalRuntime, frozen_clock: Callable[[str], None]
) -> None:
    frozen_clock(NOW)
    sponsor, headers = _payer(runtime, "sponsor")
    participant_id = _enrolled(api, headers)

    listed = _workers(api, sponsor, headers)
    shown = api.get(f"/v1/participants/{participant_id}", headers).json()
    assert listed["items"] == [
        {
            "participant_id": participant_id,
            "status": shown["status"],
            "months_owed": shown["months_owed"],
            "covered_through": None,
            "next_dues_month": "2026-05",
            "paid_from": "2026-05",
            "paid_until": None,
        }
    ]
    assert listed["next_token"] is None
    # The link the bulk orders read: written with the enrollment, open-ended.
    link = _raw(runtime, f"PAYER#{sponsor}", f"WORKER#{participant_id}")
    assert link is not None and link["participant_id"] == participant_id and "until_month" not in link
    # The sponsor's own order for the worker is priced as sponsor-paid (discounted: not a government).
    view = _put(api, participant_id, sponsor, "2026-05", headers)
    assert view.status_code == 200, view.text
    assert view.json()["payer"] == {"payer_id": sponsor, "type": "sponsor"}
    assert view.json()["changes"] == [{"from_month": "2026-05", "payer_id": sponsor, "type": "sponsor"}]


def test_a_local_government_takes_over_from_next_month_and_pays_those_months_in_full(
    api: Api, runtime: LocalRuntime, frozen_clock: Callable[[str], None]
) -> None:
    frozen_clock(NOW)
    pemda, headers = _payer(runtime, "local_government")
    participant_id = _enrolled(api)  # enrolled by an agent: the worker pays

    response = _put(api, participant_id, pemda, "2026-06", headers)
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["payer"] is None  # May: still the worker
    assert view["changes"] == [
        {"from_month": "2026-05", "payer_id": None, "type": "self"},
        {"from_month": "2026-06", "payer_id": pemda, "type": "government"},
    ]
    assert "full_name" not in response.text and "nik" not in view
    version = _raw(runtime, f"PARTICIPANT#{participant_id}", "PROFILE")["version"]  # type: ignore[index]  # the profile exists: it was just written
    again = _put(api, participant_id, pemda, "2026-06", headers)
    assert again.json() == view
    assert _raw(runtime, f"PARTICIPANT#{participant_id}", "PROFILE")["version"] == version  # type: ignore[index]  # no second write

    listed = _workers(api, pemda, headers)["items"]
    assert [(w["participant_id"], w["paid_from"], w["paid_until"]) for w in listed] == [
        (participant_id, "2026-06", None)
    ]

    # The worker's own single order for three months: May theirs, June and July the government's.
    order = pay_by_midtrans(api, participant_id, 3)
    assert order["months"] == ["2026-05", "2026-06", "2026-07"]
    ledger = _ledger(runtime, participant_id)
    assert (ledger["2026-05"]["payer_type"], ledger["2026-05"].get("payer_id")) == ("self", None)
    assert ledger["2026-05"]["discount"] > 0  # sector "other" in May 2026: PP 50/2025
    for month in ("2026-06", "2026-07"):
        assert (ledger[month]["payer_type"], ledger[month]["payer_id"]) == ("government", pemda)
        assert ledger[month]["discount"] == 0  # APBD-paid dues are excluded from the discount
        assert ledger[month]["total"] > ledger["2026-05"]["total"]

    # June's statement: exactly the ledger's government-paid June entry, as JSON and as CSV.
    statement = api.get(f"/v1/payers/{pemda}/statement", headers, params={"month": "2026-06"})
    assert statement.status_code == 200, statement.text
    body = statement.json()
    june = ledger["2026-06"]
    assert body["count"] == 1 and body["total"] == june["total"]
    (row,) = body["rows"]
    assert row["participant_id"] == participant_id and row["amount"] == june["total"]
    assert row["months"] == ["2026-05", "2026-06", "2026-07"] and row["month"] == "2026-06"
    assert row["order_id"] == order["order_id"] and row["provider"] == "midtrans"
    assert row["masked_name"] == "B*** S******" and row["regency"] == "3171"
    assert "Budi" not in statement.text

    as_csv = api.get(f"/v1/payers/{pemda}/statement", {**headers, "Accept": "text/csv"}, params={"month": "2026-06"})
    assert as_csv.status_code == 200, as_csv.text
    assert as_csv.headers["Content-Type"].startswith("text/csv")
    assert f"statement-{pemda}-2026-06.csv" in as_csv.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(as_csv.text)))
    assert lines[0][:6] == ["participant_id", "masked_name", "regency", "month", "months", "amount"]
    assert lines[1][0] == participant_id and lines[1][4] == "2026-05 2026-06 2026-07"
    assert lines[1][5] == str(june["total"])
    assert lines[-1][0] == "TOTAL" and lines[-1][5] == str(june["total"])
    # May was the worker's own month: not on the government's statement.
    may = api.get(f"/v1/payers/{pemda}/statement", headers, params={"month": "2026-05"}).json()
    assert (may["count"], may["total"], may["rows"], may["next_token"]) == (0, 0, [], None)


def test_the_statement_pages_with_the_whole_months_count_and_total_and_the_csv_is_whole(
    api: Api, runtime: LocalRuntime, frozen_clock: Callable[[str], None]
) -> None:
    frozen_clock(NOW)
    pemda, headers = _payer(runtime, "local_government")
    workers = sorted(_enrolled(api) for _ in range(3))
    for participant_id in workers:
        assert _put(api, participant_id, pemda, "2026-05", headers).status_code == 200
        pay_by_midtrans(api, participant_id, 1)  # May, the government's
    amounts = {w: _ledger(runtime, w)["2026-05"]["total"] for w in workers}
    whole = (3, sum(amounts.values()))

    def page(**params: Any) -> dict[str, Any]:
        response = api.get(f"/v1/payers/{pemda}/statement", headers, params={"month": "2026-05", **params})
        assert response.status_code == 200, response.text
        return dict(response.json())

    first = page(limit=2)
    assert [r["participant_id"] for r in first["rows"]] == workers[:2]
    assert (first["count"], first["total"]) == whole  # the whole month's, not the page's
    assert first["next_token"] == workers[1]  # the last row's participant id
    rest = page(limit=2, next_token=first["next_token"])
    assert [r["participant_id"] for r in rest["rows"]] == workers[2:]
    assert (rest["count"], rest["total"], rest["next_token"]) == (*whole, None)
    exact = page(limit=3)  # a page that ends with the month hands out no token to an empty page
    assert [r["participant_id"] for r in exact["rows"]] == workers and exact["next_token"] is None
    assert (exact["count"], exact["total"]) == whole
    default = page()  # limit 1000
    assert [r["amount"] for r in default["rows"]] == [amounts[w] for w in workers]
    assert (default["count"], default["total"], default["next_token"]) == (*whole, None)
    past_the_end = page(next_token=workers[2])
    assert (past_the_end["rows"], past_the_end["count"], past_the_end["total"]) == ([], *whole)

    # The CSV is the whole month in one response, whatever limit says.
    as_csv = api.get(
        f"/v1/payers/{pemda}/statement", {**headers, "Accept": "text/csv"}, params={"month": "2026-05", "limit": 1}
    )
    assert as_csv.status_code == 200, as_csv.text
    lines = list(csv.reader(io.StringIO(as_csv.text)))
    assert [line[0] for line in lines[1:-1]] == workers
    assert lines[-1][0] == "TOTAL" and (int(lines[-1][4]), int(lines[-1][5])) == whole


def test_a_payer_cannot_displace_another_payers_months_but_the_back_office_can(
    api: Api, runtime: LocalRuntime, frozen_clock: Callable[[str], None]
) -> None:
    frozen_clock(NOW)
    pemda, pemda_headers = _payer(runtime, "local_government")
    sponsor, sponsor_headers = _payer(runtime, "sponsor")
    participant_id = _enrolled(api)
    assert _put(api, participant_id, pemda, "2026-07", pemda_headers).status_code == 200
    before = api.get(f"/v1/participants/{participant_id}", PARTNER).json()

    for from_month, named in (("2026-05", "2026-07"), ("2026-07", "2026-07"), ("2026-09", "2026-09")):
        refused = _put(api, participant_id, sponsor, from_month, sponsor_headers)
        assert refused.status_code == 422, refused.text
        (field,) = refused.json()["fields"]
        assert field["field"] == "from_month" and f"another payer pays from month {named}" in field["message"]
    assert api.get(f"/v1/participants/{participant_id}", PARTNER).json() == before  # nothing written
    assert _workers(api, sponsor, sponsor_headers)["items"] == []

    # The government stops from September: the sponsor may take over from then, not before.
    assert _delete(api, participant_id, "2026-09", pemda_headers).status_code == 200
    assert _put(api, participant_id, sponsor, "2026-08", sponsor_headers).status_code == 422
    taken = _put(api, participant_id, sponsor, "2026-09", sponsor_headers)
    assert taken.status_code == 200, taken.text
    assert [(c["from_month"], c["payer_id"]) for c in taken.json()["changes"]] == [
        ("2026-05", None),
        ("2026-07", pemda),
        ("2026-09", sponsor),
    ]
    # The government cannot take September back either; the back office decides between payers.
    assert _put(api, participant_id, pemda, "2026-08", pemda_headers).status_code == 422
    replaced = _put(api, participant_id, pemda, "2026-08", BACKOFFICE)
    assert replaced.status_code == 200, replaced.text
    assert [(c["from_month"], c["payer_id"]) for c in replaced.json()["changes"]] == [
        ("2026-05", None),
        ("2026-07", pemda),
    ]
    assert _workers(api, sponsor, sponsor_headers)["items"] == []


def test_delete_stops_the_payer_from_a_month(
    api: Api, runtime: LocalRuntime, frozen_clock: Callable[[str], None]
) -> None:
    frozen_clock(NOW)
    pemda, headers = _payer(runtime, "local_government")
    participant_id = _enrolled(api)
    assert _put(api, participant_id, pemda, "2026-06", headers).status_code == 200

    stopped = _delete(api, participant_id, "2026-08", headers)
    assert stopped.status_code == 200, stopped.text
    assert [(c["from_month"], c["type"]) for c in stopped.json()["changes"]] == [
        ("2026-05", "self"),
        ("2026-06", "government"),
        ("2026-08", "self"),
    ]
    link = _raw(runtime, f"PAYER#{pemda}", f"WORKER#{participant_id}")
    assert link is not None and link["until_month"] == "2026-08"
    assert link["periods"] == [{"from_month": "2026-06", "until_month": "2026-08"}]
    (worker,) = _workers(api, pemda, headers)["items"]
    assert (worker["paid_from"], worker["paid_until"]) == ("2026-06", "2026-07")
    # Another local government cannot stop it.
    other, other_headers = _payer(runtime, "local_government")
    assert _delete(api, participant_id, "2026-06", other_headers).status_code == 404

    # From June on: the government pays no month any more; its link is gone and it lists nobody.
    assert _delete(api, participant_id, "2026-06", headers).status_code == 200
    assert _raw(runtime, f"PAYER#{pemda}", f"WORKER#{participant_id}") is None
    assert _workers(api, pemda, headers)["items"] == []
    view = api.get(f"/v1/participants/{participant_id}", PARTNER).json()
    assert view["next_dues"]["discount"] > 0  # the worker's own month again


def test_delete_also_takes_the_puts_body(api: Api, runtime: LocalRuntime, frozen_clock: Callable[[str], None]) -> None:
    frozen_clock(NOW)
    pemda, headers = _payer(runtime, "local_government")
    sponsor, _ = _payer(runtime, "sponsor")
    participant_id = _enrolled(api)
    assert _put(api, participant_id, pemda, "2026-06", headers).status_code == 200
    url = f"{api.base}/v1/participants/{participant_id}/payer"

    def delete(headers: dict[str, str], body: Any = None, **params: str) -> Any:
        return api.http.delete(url, json=body, params=params, headers=headers, timeout=30)

    def refused_field(response: Any, status: int = 422) -> list[str]:
        assert response.status_code == status, response.text
        return [f["field"] for f in response.json()["fields"]]

    assert refused_field(delete(headers)) == ["from_month"]  # neither in the query nor in the body
    assert refused_field(delete(headers, {"payer_id": pemda})) == ["from_month"]
    assert refused_field(delete(headers, {"from_month": "2026-08"}, from_month="2026-09")) == ["from_month"]
    assert refused_field(delete(headers, {"from_month": "Aug"})) == ["from_month"]
    assert refused_field(delete(headers, {"payer_id": "Not A Payer", "from_month": "2026-08"})) == ["payer_id"]
    # The back office names the payer it stops: one that pays none of those months is refused.
    assert refused_field(delete(BACKOFFICE, {"payer_id": sponsor, "from_month": "2026-08"})) == ["payer_id"]
    # A body that is not JSON is refused before it is parsed, as on POST and PUT.
    form = {**headers, "Content-Type": "multipart/form-data"}
    not_json = api.http.delete(url, data=b'{"from_month": "2026-08"}', headers=form, timeout=30)
    assert not_json.status_code == 415 and not_json.json()["error"] == "unsupported_media_type"
    # A payer naming another payer is told there is none, as for PUT.
    assert refused_field(delete(headers, {"payer_id": sponsor, "from_month": "2026-08"}), 404) == []
    assert _workers(api, pemda, headers)["items"][0]["paid_until"] is None

    stopped = delete(headers, {"payer_id": pemda, "from_month": "2026-08"})
    assert stopped.status_code == 200, stopped.text
    assert [(c["from_month"], c["type"]) for c in stopped.json()["changes"]] == [
        ("2026-05", "self"),
        ("2026-06", "government"),
        ("2026-08", "self"),
    ]
    assert delete(headers, {"payer_id": pemda, "from_month": "2026-08"}).json() == stopped.json()  # a retry
    # The same month in the query and the body agrees; the back office may stop from an earlier month.
    again = delete(BACKOFFICE, {"payer_id": pemda, "from_month": "2026-07"}, from_month="2026-07")
    assert again.status_code == 200, again.text
    assert [(c["from_month"], c["type"]) for c in again.json()["changes"]][-1] == ("2026-07", "self")


def test_the_back_office_asking_for_a_partner_that_is_no_payer_gets_404(api: Api) -> None:
    for payer_id in ("demo-partner", "no-such-payer"):
        for response in (
            api.get(f"/v1/payers/{payer_id}/participants", BACKOFFICE),
            api.get(f"/v1/payers/{payer_id}/statement", BACKOFFICE, params={"month": "2026-06"}),
            api.get(
                f"/v1/payers/{payer_id}/statement", {**BACKOFFICE, "Accept": "text/csv"}, params={"month": "2026-06"}
            ),
        ):
            assert response.status_code == 404, response.text
            assert response.json()["message"] == "payer not found"


def test_the_back_office_sets_a_payer_and_the_list_pages(
    api: Api, runtime: LocalRuntime, frozen_clock: Callable[[str], None]
) -> None:
    frozen_clock(NOW)
    sponsor, headers = _payer(runtime, "sponsor")
    workers = sorted(_enrolled(api) for _ in range(3))
    for participant_id in workers:
        response = _put(api, participant_id, sponsor, "2026-07", BACKOFFICE)
        assert response.status_code == 200, response.text
        assert response.json()["changes"][-1] == {"from_month": "2026-07", "payer_id": sponsor, "type": "sponsor"}
    first = _workers(api, sponsor, headers, limit=2)
    assert [w["participant_id"] for w in first["items"]] == workers[:2] and first["next_token"]
    rest = _workers(api, sponsor, BACKOFFICE, limit=2, next_token=first["next_token"])
    assert [w["participant_id"] for w in rest["items"]] == workers[2:] and rest["next_token"] is None


def test_another_partner_gets_404_everywhere(
    api: Api, runtime: LocalRuntime, frozen_clock: Callable[[str], None]
) -> None:
    frozen_clock(NOW)
    pemda, headers = _payer(runtime, "local_government")
    participant_id = _enrolled(api)
    assert _put(api, participant_id, pemda, "2026-06", headers).status_code == 200
    _, nosy = _payer(runtime, "sponsor")
    for response in (
        _put(api, participant_id, pemda, "2026-07", nosy),  # acting as another payer
        _delete(api, participant_id, "2026-07", nosy),  # stopping a payer it is not
        api.get(f"/v1/payers/{pemda}/participants", nosy),
        api.get(f"/v1/payers/{pemda}/statement", nosy, params={"month": "2026-06"}),
        _delete(api, participant_id, "2026-07", PARTNER),  # the enrolling agent is no payer either
        # A partner that is no payer, even naming itself, has no payer list or statement.
        api.get("/v1/payers/demo-partner/participants", PARTNER),
        api.get("/v1/payers/demo-partner/statement", PARTNER, params={"month": "2026-06"}),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "not_found" and participant_id not in response.text
    assert _put(api, "PST-000000000000", pemda, "2026-07", headers).status_code == 404


def test_bad_input_is_422_naming_the_field(
    api: Api, runtime: LocalRuntime, frozen_clock: Callable[[str], None]
) -> None:
    frozen_clock(NOW)
    pemda, headers = _payer(runtime, "local_government")
    participant_id = _enrolled(api)
    pay_by_midtrans(api, participant_id, 3)  # covered through July

    def field_of(response: Any) -> list[str]:
        assert response.status_code == 422, response.text
        return [f["field"] for f in response.json()["fields"]]

    assert field_of(_put(api, participant_id, pemda, "2026-13", headers)) == ["from_month"]
    assert field_of(_put(api, participant_id, pemda, "2026-04", headers)) == ["from_month"]  # before enrollment
    assert field_of(_put(api, participant_id, pemda, "2026-07", headers)) == ["from_month"]  # already paid
    assert field_of(_put(api, participant_id, pemda, "2027-06", headers)) == ["from_month"]  # > 12 months ahead
    assert field_of(_put(api, participant_id, "no-such-partner", "2026-08", BACKOFFICE)) == ["payer_id"]
    assert field_of(_put(api, participant_id, "demo-partner", "2026-08", BACKOFFICE)) == ["payer_id"]  # an agent
    assert field_of(_put(api, participant_id, "demo-partner", "2026-08", PARTNER)) == ["payer_id"]
    assert field_of(_delete(api, participant_id, "August", headers)) == ["from_month"]
    assert field_of(api.get(f"/v1/payers/{pemda}/participants", headers, params={"limit": 101})) == ["limit"]
    assert field_of(api.get(f"/v1/payers/{pemda}/statement", headers, params={"month": "2026-6"})) == ["month"]
    statement = f"/v1/payers/{pemda}/statement"
    for limit in (0, 5001):
        assert field_of(api.get(statement, headers, params={"month": "2026-06", "limit": limit})) == ["limit"]
    for token in ("PST-abc", "WORKER#PST-1", "x" * 40, "PST-" + "A" * 33):
        assert field_of(api.get(statement, headers, params={"month": "2026-06", "next_token": token})) == ["next_token"]
    # Nothing changed: the worker still pays every month.
    assert _put(api, participant_id, pemda, "2026-08", headers).json()["changes"][0]["type"] == "self"

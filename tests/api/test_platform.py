"""The platform seen from outside: health, OpenAPI, partner authentication, unbuilt capabilities,
local control routes. Everything goes over HTTP through the emulated API Gateway."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from tests.api.conftest import BACKOFFICE, PARTNER, Api, partner_key

if TYPE_CHECKING:
    from local_runtime.runtime import LocalRuntime


def test_health_answers_without_a_key(api: Api) -> None:
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_openapi_document_is_served_without_a_key(api: Api) -> None:
    response = api.get("/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert "/v1/participants" in document["paths"]
    assert document["components"]["securitySchemes"]["PartnerKey"]["scheme"] == "bearer"


QUOTE = "/v1/dues/quote?monthly_income=1500000&sector=other"


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "unauthorized"),
        ({"Authorization": "Bearer not-a-real-key"}, 401, "unauthorized"),
        ({"Authorization": "demo-partner-key"}, 401, "unauthorized"),  # no Bearer scheme
        ({"Authorization": "Bearer demo-partner-key"}, 200, None),
        ({"Authorization": "Bearer demo-backoffice-key"}, 200, None),
    ],
)
def test_partner_key_is_required_on_v1_routes(api: Api, headers: dict[str, str], status: int, code: str | None) -> None:
    response = api.get(QUOTE, headers=headers)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/json")
    if code:
        assert response.json()["error"] == code


def test_a_key_without_the_scope_gets_403_with_json(api: Api, runtime: LocalRuntime) -> None:
    headers, _ = partner_key(runtime, "claims-desk", ["claims"], channel="back_office")
    response = api.get(QUOTE, headers=headers)
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


def test_revoked_key_stops_working(api: Api, runtime: LocalRuntime) -> None:
    from perisai.partners.repository import PartnerKeyRepository

    headers, record = partner_key(runtime, "pos-jakarta", ["pay"], channel="post_office")
    assert api.get(QUOTE, headers=headers).status_code == 200
    PartnerKeyRepository(runtime.outputs()["PartnersTableName"]).revoke("pos-jakarta", record.key_id)
    api.delete("/_local/authorizer-cache")  # what the admin command does after revoking
    response = api.get(QUOTE, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_unknown_route_is_a_json_404(api: Api) -> None:
    response = api.get("/v1/no-such-thing", headers=PARTNER)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_schedules_come_from_the_stack(api: Api) -> None:
    schedules = {s["name"]: s for s in api.get("/_local/schedules").json()}
    assert {name: s["target"] for name, s in schedules.items()} == {
        "dues-reminders": "reminders.run_job",
        "lapse-detection": "reminders.run_job",
        "agent-inactivity": "agents.inactivity",
    }
    for schedule in schedules.values():
        assert schedule["timezone"] == "Asia/Jakarta"
        assert schedule["expression"].startswith("cron(")


def test_running_a_job_moves_the_clock_and_reports_its_invocations(api: Api) -> None:
    try:
        # The 11th: no reminder's day, and no round left open, so the run fans out nothing.
        response = api.post("/_local/schedules/dues-reminders/run", {"at": "2031-03-11T09:00:00+07:00"})
        assert response.status_code == 200
        summary = response.json()
        assert summary["succeeded"] is True
        assert [i["function"] for i in summary["invocations"]] == ["reminders.run_job"]
        assert all(i["ok"] for i in summary["invocations"])
        assert api.get("/_local/clock").json()["now"].startswith("2031-03-11T02:00")
        assert api.post("/_local/schedules/no-such-job/run", {"at": "2031-03-11T09:00:00+07:00"}).status_code == 404
    finally:
        api.delete("/_local/clock")


def test_clock_moves_what_handlers_see(api: Api, frozen_clock: Callable[[str], None]) -> None:
    frozen_clock("2026-03-20T10:00:00+07:00")
    assert api.get(QUOTE, headers=PARTNER).json()["month"] == "2026-03"
    frozen_clock("2026-04-01T00:30:00+07:00")  # already April in Jakarta, still March in UTC
    assert api.get(QUOTE, headers=PARTNER).json()["month"] == "2026-04"


def test_bad_clock_request_names_the_field(api: Api) -> None:
    response = api.put("/_local/clock", {"now": "next tuesday"})
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "now"


def test_sms_outbox_is_listed(api: Api) -> None:
    response = api.get("/_local/sms")
    assert response.status_code == 200
    assert isinstance(response.json(), list)


def test_oversized_body_is_rejected_before_anything_is_written(api: Api) -> None:
    huge = {"nik": "3171011708900001", "full_name": "x" * 100_000}
    response = api.post("/v1/participants", huge, headers={**BACKOFFICE, "Idempotency-Key": "oversized-1"})
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


def test_each_partner_is_throttled_by_its_usage_plan(api: Api, runtime: LocalRuntime) -> None:
    trial, _ = partner_key(runtime, "desa-pilot", ["pay"], channel="local_government", usage_plan="trial")
    statuses = [api.get(QUOTE, headers=trial).status_code for _ in range(6)]
    # trial: 1 request/s, burst 2. Six back-to-back requests cannot all pass.
    assert statuses[:2] == [200, 200]
    assert 429 in statuses
    throttled = api.get(QUOTE, headers=trial)
    if throttled.status_code == 429:
        assert throttled.json()["error"] == "too_many_requests"
    # Another partner is not slowed down by the first one's burst.
    assert api.get(QUOTE, headers=PARTNER).status_code == 200


def test_a_handler_calling_aws_outside_its_role_is_refused_as_on_aws(runtime: LocalRuntime) -> None:
    from botocore.exceptions import ClientError

    authorizer = next(k for k, s in runtime.model.functions.items() if s.source == "functions/authorizer")
    outputs = runtime.outputs()
    dynamodb = runtime.cloud.client("dynamodb")
    key = {"pk": {"S": "KEY#nothing"}, "sk": {"S": "KEY"}}
    roles = runtime.functions.roles
    before = len(roles.refused)
    with roles.acting_as("authorizer.handler", lambda: runtime.functions.statements(authorizer)):
        dynamodb.get_item(TableName=outputs["PartnersTableName"], Key=key)  # allowed: it reads keys
        with pytest.raises(ClientError) as wrong_action:
            dynamodb.put_item(TableName=outputs["PartnersTableName"], Item={**key, "forged": {"BOOL": True}})
        with pytest.raises(ClientError) as wrong_table:
            dynamodb.get_item(TableName=outputs["ParticipantsTableName"], Key=key)
    assert wrong_action.value.response["Error"]["Code"] == "AccessDeniedException"
    assert wrong_table.value.response["Error"]["Code"] == "AccessDeniedException"
    assert [action.split(" on ")[0] for _, action in roles.refused[before:]] == ["dynamodb:PutItem", "dynamodb:GetItem"]
    del roles.refused[before:]  # provoked here on purpose
    assert "Item" not in dynamodb.get_item(TableName=outputs["PartnersTableName"], Key=key)


@pytest.mark.parametrize("key", ["demo-pemda-key", "demo-sponsor-key"])
def test_the_seeded_demo_partners_authenticate(api: Api, runtime: LocalRuntime, key: str) -> None:
    from local_runtime.runtime import DEMO_PARTNERS

    seeded = {k: (partner, channel, scopes) for k, partner, _, channel, scopes in DEMO_PARTNERS}
    assert seeded[key] == (
        {"demo-pemda-key": "demo-pemda", "demo-sponsor-key": "demo-sponsor"}[key],
        {"demo-pemda-key": "local_government", "demo-sponsor-key": "sponsor"}[key],
        ["enroll", "pay"],
    )
    response = api.get(QUOTE, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    # A scope they lack is refused at the gateway (the key authenticated, its policy decides).
    assert api.get("/v1/claims/CLM-1", headers={"Authorization": f"Bearer {key}"}).status_code == 403


def test_a_failing_authorizer_is_a_retryable_503_not_a_500(api: Api, runtime: LocalRuntime) -> None:
    """Defect 10: a throttled partners table makes the authorizer raise; the gateway response
    AUTHORIZER_CONFIGURATION_ERROR / AUTHORIZER_FAILURE of the stack answers 503 + Retry-After."""
    from tests.helpers.faults import Fault, inject

    headers, _ = partner_key(runtime, "kantor-pos-bogor", ["pay"], channel="post_office")  # not cached yet
    with inject(Fault.THROTTLING, match=("dynamodb", "GetItem"), functions="authorizer") as faults:
        response = api.get(QUOTE, headers=headers)
    assert len(faults.injected) == 1
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"] == "service_unavailable" and response.json()["fields"] == []
    assert api.get(QUOTE, headers=headers).status_code == 200  # the failure was not cached


def test_the_notifier_may_write_only_its_own_items(runtime: LocalRuntime) -> None:
    """Its role allows writes whose partition key is NOTIFICATION#*; the local guard evaluates
    dynamodb:LeadingKeys, so a write to a participant's profile is refused here as on AWS."""
    from botocore.exceptions import ClientError

    notifier = next(k for k, s in runtime.model.functions.items() if s.source == "functions/notifier")
    table = runtime.outputs()["ParticipantsTableName"]
    dynamodb = runtime.cloud.client("dynamodb")
    own = {"pk": {"S": "NOTIFICATION#role-test"}, "sk": {"S": "SMS"}}
    profile = {"pk": {"S": "PARTICIPANT#PST-ROLETEST0001"}, "sk": {"S": "PROFILE"}}
    roles = runtime.functions.roles
    before = len(roles.refused)
    with roles.acting_as("notifier.handler", lambda: runtime.functions.statements(notifier)):
        dynamodb.put_item(TableName=table, Item=own)
        dynamodb.delete_item(TableName=table, Key=own)
        dynamodb.get_item(TableName=table, Key=profile)
        with pytest.raises(ClientError) as write:
            dynamodb.put_item(TableName=table, Item={**profile, "status": {"S": "active"}})
        with pytest.raises(ClientError) as read:
            dynamodb.get_item(TableName=table, Key=own | {"pk": {"S": "NIK#0000"}})
    assert write.value.response["Error"]["Code"] == "AccessDeniedException"
    assert read.value.response["Error"]["Code"] == "AccessDeniedException"
    assert [what.split(" on ")[0] for _, what in roles.refused[before:]] == ["dynamodb:PutItem", "dynamodb:GetItem"]
    del roles.refused[before:]  # provoked here on purpose
    assert "Item" not in dynamodb.get_item(TableName=table, Key=profile)


# The local values issue 10 fixes, so providers' callbacks can be signed from outside against `make dev`.
LOCAL_PROVIDER_SECRETS = {
    "MidtransServerKeySecretArn": "local-midtrans-server-key",
    "XenditCallbackTokenSecretArn": "local-xendit-callback-token",
    "ChannelSecretsArn": '{"demo-channel": "local-channel-secret"}',
}


def test_the_local_provider_secrets_hold_the_fixed_local_values(runtime: LocalRuntime) -> None:
    import json
    import os

    outputs = runtime.outputs()
    secretsmanager = runtime.cloud.client("secretsmanager")
    for output, value in LOCAL_PROVIDER_SECRETS.items():
        assert secretsmanager.get_secret_value(SecretId=outputs[output])["SecretString"] == value, output
    assert json.loads(LOCAL_PROVIDER_SECRETS["ChannelSecretsArn"]) == {"demo-channel": "local-channel-secret"}
    # The payment function is given exactly these secrets.
    assert os.environ["MIDTRANS_SERVER_KEY_SECRET_ARN"] == outputs["MidtransServerKeySecretArn"]
    assert os.environ["XENDIT_CALLBACK_TOKEN_SECRET_ARN"] == outputs["XenditCallbackTokenSecretArn"]
    assert os.environ["CHANNEL_SECRETS_ARN"] == outputs["ChannelSecretsArn"]
    # Other secrets (the NIK index key) stay random.
    nik = secretsmanager.get_secret_value(SecretId=os.environ["NIK_HMAC_SECRET_ARN"])["SecretString"]
    assert nik not in LOCAL_PROVIDER_SECRETS.values() and len(nik) >= 32


def test_the_payment_function_reads_its_secrets_and_the_base_table_only(runtime: LocalRuntime) -> None:
    """Its role: the three provider secrets (not the NIK index key), GetItem/PutItem/Query on the
    participants table (no index), DeleteItem on participants' and reconciliation items only, the
    idempotency records."""
    import os

    from botocore.exceptions import ClientError

    payments = next(
        k
        for k, s in runtime.model.functions.items()
        if s.source == "functions/payment_callback" and s.handler == "handler.handler"
    )
    outputs = runtime.outputs()
    table = outputs["ParticipantsTableName"]
    dynamodb = runtime.cloud.client("dynamodb")
    secretsmanager = runtime.cloud.client("secretsmanager")
    roles = runtime.functions.roles
    before = len(roles.refused)
    with roles.acting_as("payment_callback.handler", lambda: runtime.functions.statements(payments)):
        for output in LOCAL_PROVIDER_SECRETS:
            secretsmanager.get_secret_value(SecretId=outputs[output])
        dynamodb.query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "PARTICIPANT#PST-ROLETEST0002"}},
        )
        dynamodb.get_item(TableName=table, Key={"pk": {"S": "PARTICIPANT#PST-ROLETEST0002"}, "sk": {"S": "PROFILE"}})
        # Deletes (items moved under another key): reversed ledger entries, resolved reconciliation items.
        dynamodb.delete_item(TableName=table, Key={"pk": {"S": "RECON#open"}, "sk": {"S": "RCN-role-test"}})
        dynamodb.delete_item(
            TableName=table, Key={"pk": {"S": "PARTICIPANT#PST-ROLETEST0002"}, "sk": {"S": "DUES#2026-01"}}
        )
        with pytest.raises(ClientError) as delete_code:
            dynamodb.delete_item(TableName=table, Key={"pk": {"S": "PAYCODE#12345678901234"}, "sk": {"S": "CODE"}})
        with pytest.raises(ClientError) as nik_secret:
            secretsmanager.get_secret_value(SecretId=os.environ["NIK_HMAC_SECRET_ARN"])
        with pytest.raises(ClientError) as index:
            dynamodb.query(
                TableName=table,
                IndexName="by_partner",
                KeyConditionExpression="gsi1pk = :pk",
                ExpressionAttributeValues={":pk": {"S": "PARTNER#demo-partner"}},
            )
        with pytest.raises(ClientError) as partners:
            dynamodb.get_item(TableName=outputs["PartnersTableName"], Key={"pk": {"S": "KEY#x"}, "sk": {"S": "KEY"}})
    for refused in (delete_code, nik_secret, index, partners):
        assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert [what.split(" on ")[0] for _, what in roles.refused[before:]] == [
        "dynamodb:DeleteItem",
        "secretsmanager:GetSecretValue",
        "dynamodb:Query",
        "dynamodb:GetItem",
    ]
    del roles.refused[before:]  # provoked here on purpose

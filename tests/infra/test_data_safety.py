"""Data safety and abuse limits in the stack."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match, Template


def _of(template_json: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in template_json["Resources"].items() if v["Type"] == kind}


def test_every_table_is_in_a_backup_plan(template_json: dict[str, Any]) -> None:
    tables = set(_of(template_json, "AWS::DynamoDB::Table"))
    selections = _of(template_json, "AWS::Backup::BackupSelection")
    selected = {
        part["Fn::GetAtt"][0]
        for selection in selections.values()
        for part in selection["Properties"]["BackupSelection"]["Resources"]
        if isinstance(part, dict) and "Fn::GetAtt" in part
    }
    assert tables <= selected
    vaults = _of(template_json, "AWS::Backup::BackupVault")
    assert vaults and all(v["DeletionPolicy"] == "Retain" for v in vaults.values())
    rules = next(iter(_of(template_json, "AWS::Backup::BackupPlan").values()))["Properties"]["BackupPlan"][
        "BackupPlanRule"
    ]
    assert any(r["Lifecycle"]["DeleteAfterDays"] >= 365 for r in rules)


def test_partners_are_metered_by_usage_plans_keyed_by_the_authorizer(template_json: dict[str, Any]) -> None:
    template = Template.from_json(template_json)
    template.has_resource_properties("AWS::ApiGateway::RestApi", {"ApiKeySourceType": "AUTHORIZER"})
    plans = _of(template_json, "AWS::ApiGateway::UsagePlan")
    assert {p["Properties"]["UsagePlanName"] for p in plans.values()} == {
        "perisai-trial",
        "perisai-standard",
        "perisai-bulk",
    }
    for plan in plans.values():
        assert plan["Properties"]["Throttle"]["RateLimit"] > 0
        assert plan["Properties"]["Quota"]["Period"] == "DAY"
    for method in _of(template_json, "AWS::ApiGateway::Method").values():
        props = method["Properties"]
        assert props.get("ApiKeyRequired", False) == (props["AuthorizationType"] == "CUSTOM")
    template.has_resource_properties(
        "AWS::ApiGateway::GatewayResponse",
        {"ResponseType": "THROTTLED", "StatusCode": "429", "ResponseTemplates": Match.any_value()},
    )

"""The local runtime's reading of IAM: what a call needs authorized, and whether a role allows it."""

from __future__ import annotations

from local_runtime.iam import RoleGuard, Statement, allows, requests_of_call
from local_runtime.template import Permission, role_permissions

REGION, ACCOUNT = "ap-southeast-3", "123456789012"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/participants"
PARTITION_KEYS = {"participants": "pk"}


def needs(service: str, operation: str, params: dict) -> list[tuple[str, str | None]]:
    return [(r.action, r.resource) for r in requests_of_call(service, operation, params, REGION, ACCOUNT)]


def leading_keys(operation: str, params: dict) -> list[tuple[str, tuple[str, ...] | None]]:
    return [
        (r.action, r.leading_keys)
        for r in requests_of_call("dynamodb", operation, params, REGION, ACCOUNT, PARTITION_KEYS)
    ]


def test_a_transaction_needs_each_kind_of_item_on_its_table() -> None:
    items = [
        {"Put": {"TableName": "participants"}},
        {"ConditionCheck": {"TableName": "participants"}},
        {"Put": {"TableName": "participants"}},
    ]
    assert needs("dynamodb", "TransactWriteItems", {"TransactItems": items}) == [
        ("dynamodb:PutItem", TABLE),
        ("dynamodb:ConditionCheckItem", TABLE),
    ]


def test_calls_name_their_resources() -> None:
    assert needs("dynamodb", "Query", {"TableName": "participants", "IndexName": "by_partner"}) == [
        ("dynamodb:Query", f"{TABLE}/index/by_partner")
    ]
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234"
    assert needs("kms", "GenerateDataKey", {"KeyId": key}) == [("kms:GenerateDataKey", key)]
    assert needs("events", "PutEvents", {"Entries": [{"EventBusName": "DomainEvents"}]}) == [
        ("events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/DomainEvents")
    ]
    assert needs("sns", "Publish", {"PhoneNumber": "+6281100001111"}) == [("sns:Publish", None)]


def test_statements_decide_as_iam_does() -> None:
    role = (
        Statement(True, ("dynamodb:GetItem", "dynamodb:Query"), (TABLE, f"{TABLE}/index/*")),
        Statement(True, ("kms:GenerateDataKey*",), ("*",)),
        Statement(False, ("kms:GenerateDataKeyWithoutPlaintext",), ("*",)),
    )
    assert allows(role, "DynamoDB:getitem", TABLE)  # actions are case-insensitive
    assert allows(role, "dynamodb:Query", f"{TABLE}/index/by_partner")
    assert not allows(role, "dynamodb:GetItem", TABLE.replace("participants", "partners"))  # another table
    assert not allows(role, "dynamodb:PutItem", TABLE)
    assert allows(role, "kms:GenerateDataKey", "arn:aws:kms:x")
    assert not allows(role, "kms:GenerateDataKeyWithoutPlaintext", "arn:aws:kms:x")  # a Deny wins
    assert allows(role, "dynamodb:GetItem", None)  # a call naming no resource: by action only
    assert not allows((), "dynamodb:GetItem", None)


def test_role_permissions_read_inline_and_attached_policies() -> None:
    resources = {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Policies": [{"PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage"}]}}]
            },
        },
        "Attached": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "Roles": [{"Ref": "Role"}],
                "PolicyDocument": {
                    "Statement": [
                        {"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": {"Fn::GetAtt": ["T", "Arn"]}},
                        {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "*"},
                    ]
                },
            },
        },
        "Elsewhere": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "Roles": [{"Ref": "OtherRole"}],
                "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt"}]},
            },
        },
    }
    assert role_permissions(resources, "Role") == (
        Permission(True, ("sqs:SendMessage",), "*"),
        Permission(True, ("dynamodb:GetItem",), {"Fn::GetAtt": ["T", "Arn"]}),
        Permission(False, ("dynamodb:DeleteItem",), "*"),
    )


def _key(pk: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": "X"}}


def test_calls_carry_the_partition_keys_of_the_items_they_touch() -> None:
    assert leading_keys("GetItem", {"TableName": "participants", "Key": _key("PARTICIPANT#1")}) == [
        ("dynamodb:GetItem", ("PARTICIPANT#1",))
    ]
    assert leading_keys(
        "PutItem", {"TableName": "participants", "Item": {**_key("NOTIFICATION#e"), "a": {"N": "1"}}}
    ) == [("dynamodb:PutItem", ("NOTIFICATION#e",))]
    transaction = [
        {"Put": {"TableName": "participants", "Item": _key("PARTICIPANT#1")}},
        {"Put": {"TableName": "participants", "Item": _key("NIK#h")}},
        {"Update": {"TableName": "participants", "Key": _key("PARTICIPANT#1")}},
    ]
    assert leading_keys("TransactWriteItems", {"TransactItems": transaction}) == [
        ("dynamodb:PutItem", ("PARTICIPANT#1",)),
        ("dynamodb:PutItem", ("NIK#h",)),
        ("dynamodb:UpdateItem", ("PARTICIPANT#1",)),
    ]
    # A base-table query reads the partition its key condition names.
    query = {
        "TableName": "participants",
        "KeyConditionExpression": "pk = :p AND begins_with(sk, :c)",
        "ExpressionAttributeValues": {":p": {"S": "REMINDERS#OPEN"}, ":c": {"S": "CLAIM#"}},
    }
    assert leading_keys("Query", query) == [("dynamodb:Query", ("REMINDERS#OPEN",))]
    named = {**query, "KeyConditionExpression": "#k = :p", "ExpressionAttributeNames": {"#k": "pk"}}
    assert leading_keys("Query", named) == [("dynamodb:Query", ("REMINDERS#OPEN",))]
    # Without a value to read (or on an index), nothing is claimed: a LeadingKeys condition denies.
    assert leading_keys("Query", {"TableName": "participants", "KeyConditionExpression": "pk = :p"}) == [
        ("dynamodb:Query", None)
    ]


# The notifier's statements as the stack writes them (infra/perisai_infra/stack.py).
NOTIFIER = (
    Statement(
        True, ("dynamodb:GetItem",), (TABLE,), {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["PARTICIPANT#*"]}}
    ),
    Statement(
        True,
        ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
        (TABLE,),
        {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["NOTIFICATION#*"]}},
    ),
)


def test_leading_keys_conditions_decide_as_iam_does() -> None:
    assert allows(NOTIFIER, "dynamodb:PutItem", TABLE, ("NOTIFICATION#e1",))
    assert allows(NOTIFIER, "dynamodb:GetItem", TABLE, ("PARTICIPANT#1",))
    assert not allows(NOTIFIER, "dynamodb:PutItem", TABLE, ("PARTICIPANT#1",))  # a profile: not its own item
    assert not allows(NOTIFIER, "dynamodb:GetItem", TABLE, ("NIK#h",))
    assert not allows(NOTIFIER, "dynamodb:PutItem", TABLE, None)  # keys unknown: the condition cannot be read
    equals = (
        Statement(True, ("dynamodb:GetItem",), (TABLE,), {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": "A"}}),
    )
    assert allows(equals, "dynamodb:GetItem", TABLE, ("A",))
    assert not allows(equals, "dynamodb:GetItem", TABLE, ("A*",))
    deny = (
        Statement(True, ("dynamodb:*Item",), (TABLE,)),
        Statement(
            False, ("dynamodb:DeleteItem",), (TABLE,), {"ForAnyValue:StringLike": {"dynamodb:LeadingKeys": ["NIK#*"]}}
        ),
    )
    assert allows(deny, "dynamodb:DeleteItem", TABLE, ("PARTICIPANT#1",))
    assert not allows(deny, "dynamodb:DeleteItem", TABLE, ("NIK#h",))
    unreadable = (Statement(True, ("dynamodb:GetItem",), (TABLE,), {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),)
    assert not allows(unreadable, "dynamodb:GetItem", TABLE, ("A",))


def test_the_guard_refuses_a_notifier_write_to_a_participant_item() -> None:
    import boto3
    import pytest
    from botocore.exceptions import ClientError
    from botocore.stub import Stubber

    guard = RoleGuard(REGION, ACCOUNT, PARTITION_KEYS)
    client = boto3.client("dynamodb", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    guard.install()
    try:
        with Stubber(client) as stub, guard.acting_as("notifier.handler", lambda: NOTIFIER):
            stub.add_response("put_item", {})
            client.put_item(TableName="participants", Item=_key("NOTIFICATION#e1"))  # its own claim item
            with pytest.raises(ClientError) as refused:
                client.put_item(TableName="participants", Item=_key("PARTICIPANT#1"))
            with pytest.raises(ClientError):
                client.transact_write_items(
                    TransactItems=[
                        {"Put": {"TableName": "participants", "Item": _key("NOTIFICATION#e2")}},
                        {"Delete": {"TableName": "participants", "Key": _key("PARTICIPANT#1")}},
                    ]
                )
    finally:
        guard.uninstall()
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert guard.refused == [
        ("notifier.handler", f"dynamodb:PutItem on {TABLE} (partition key PARTICIPANT#1)"),
        ("notifier.handler", f"dynamodb:DeleteItem on {TABLE} (partition key PARTICIPANT#1)"),
    ]

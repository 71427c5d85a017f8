"""The local runtime's reading of IAM: what a call needs authorized, and whether a role allows it."""

from __future__ import annotations

from local_runtime.iam import Statement, allows, requests_of_call
from local_runtime.template import Permission, role_permissions

REGION, ACCOUNT = "ap-southeast-3", "123456789012"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/participants"


def needs(service: str, operation: str, params: dict) -> list[tuple[str, str | None]]:
    return requests_of_call(service, operation, params, REGION, ACCOUNT)


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

"""The local runtime's reading of IAM: which action a call needs, and whether a role allows it."""

from __future__ import annotations

from local_runtime.iam import actions_of_call, allows
from local_runtime.template import role_actions


def test_a_transaction_needs_the_action_of_each_kind_of_item_in_it() -> None:
    items = [{"Put": {}}, {"ConditionCheck": {}}, {"Put": {}}]
    assert actions_of_call("dynamodb", "TransactWriteItems", {"TransactItems": items}) == [
        "dynamodb:ConditionCheckItem",
        "dynamodb:PutItem",
    ]
    assert actions_of_call("dynamodb", "TransactGetItems", {}) == ["dynamodb:GetItem"]
    assert actions_of_call("sns", "Publish", {}) == ["sns:Publish"]


def test_action_patterns_match_as_iam_does() -> None:
    patterns = ("kms:GenerateDataKey*", "dynamodb:GetItem")
    assert allows(patterns, "kms:GenerateDataKeyWithoutPlaintext")
    assert allows(patterns, "DynamoDB:getitem")  # IAM actions are case-insensitive
    assert not allows(patterns, "dynamodb:PutItem")
    assert not allows((), "dynamodb:GetItem")
    assert not allows(("dynamodb:*", "!dynamodb:DeleteItem"), "dynamodb:DeleteItem")  # a Deny wins
    assert allows(("dynamodb:*", "!dynamodb:DeleteItem"), "dynamodb:Query")


def test_role_actions_read_inline_and_attached_policies_with_their_denies() -> None:
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
                        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"]},
                        {"Effect": "Deny", "Action": "dynamodb:DeleteItem"},
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
    actions = role_actions(resources, "Role")
    assert actions == ("sqs:SendMessage", "dynamodb:GetItem", "dynamodb:PutItem", "!dynamodb:DeleteItem")
    assert not allows(actions, "kms:Decrypt")  # another role's policy

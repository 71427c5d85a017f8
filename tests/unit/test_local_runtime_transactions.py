"""The local runtime's transactions: rolled back from a journal of their items, as DynamoDB would."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from local_runtime.patching import MethodPatch
from local_runtime.transactions import journaled

TABLE = "ledger"


@pytest.fixture
def client() -> Iterator[Any]:
    patch = MethodPatch(DynamoDBBackend, "transact_write_items", journaled)
    with mock_aws():
        patch.install()
        try:
            client = boto3.client("dynamodb", region_name="ap-southeast-3")
            client.create_table(
                TableName=TABLE,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                AttributeDefinitions=[
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ],
                BillingMode="PAY_PER_REQUEST",
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            )
            client.create_table(
                TableName="keys",
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            client.put_item(TableName=TABLE, Item={"pk": {"S": "P#1"}, "sk": {"S": "PROFILE"}, "version": {"N": "1"}})
            client.put_item(TableName=TABLE, Item={"pk": {"S": "P#2"}, "sk": {"S": "PROFILE"}, "version": {"N": "4"}})
            yield client
        finally:
            patch.uninstall()


def _item(client: Any, pk: str, sk: str = "PROFILE") -> dict[str, Any] | None:
    return client.get_item(TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True).get("Item")


def _stream_records(client: Any) -> list[dict[str, Any]]:
    # Read from moto's model: its DynamoDB Streams API is not served under mock_aws in every region.
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    shard = dynamodb_backends[DEFAULT_ACCOUNT_ID]["ap-southeast-3"].tables[TABLE].stream_shard
    return [record.to_json() for record in shard.items]


def _bump(pk: str, version: int) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": TABLE,
            "Key": {"pk": {"S": pk}, "sk": {"S": "PROFILE"}},
            "UpdateExpression": "SET version = version + :one",
            "ConditionExpression": "version = :read",
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":read": {"N": str(version)}},
        }
    }


def _new_entry(sk: str) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": TABLE,
            "Item": {"pk": {"S": "P#1"}, "sk": {"S": sk}, "amount": {"N": "16800"}},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def test_a_transaction_whose_last_condition_fails_leaves_every_item_and_the_stream_as_they_were(client: Any) -> None:
    before = _stream_records(client)
    with pytest.raises(ClientError) as cancelled:
        client.transact_write_items(
            TransactItems=[
                _new_entry("ENTRY#2026-01"),
                _bump("P#1", 1),
                {"Put": {"TableName": "keys", "Item": {"id": {"S": "order-7"}}}},
                _bump("P#2", 3),  # P#2 is at version 4: someone else wrote it since
            ]
        )
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "None", "ConditionalCheckFailed"]
    assert _item(client, "P#1", "ENTRY#2026-01") is None
    assert _item(client, "P#1")["version"] == {"N": "1"}
    assert _item(client, "P#2")["version"] == {"N": "4"}
    assert "Item" not in client.get_item(TableName="keys", Key={"id": {"S": "order-7"}})
    assert len(_stream_records(client)) == len(before)


def test_a_write_that_fails_after_others_were_applied_rolls_them_back(client: Any) -> None:
    with pytest.raises(ClientError) as cancelled:
        client.transact_write_items(
            TransactItems=[
                _new_entry("ENTRY#2026-02"),
                {
                    "Update": {  # ADD to a string: refused only when it is applied
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "P#2"}, "sk": {"S": "PROFILE"}},
                        "UpdateExpression": "SET label = :text ADD version :one",
                        "ExpressionAttributeValues": {":text": {"S": "x"}, ":one": {"S": "one"}},
                    }
                },
            ]
        )
    assert cancelled.value.response["Error"]["Code"] in {"TransactionCanceledException", "ValidationException"}
    assert _item(client, "P#1", "ENTRY#2026-02") is None
    assert _item(client, "P#2") == {"pk": {"S": "P#2"}, "sk": {"S": "PROFILE"}, "version": {"N": "4"}}


def test_a_transaction_that_holds_is_applied_whole_with_its_stream_records(client: Any) -> None:
    before = len(_stream_records(client))
    client.transact_write_items(TransactItems=[_new_entry("ENTRY#2026-03"), _bump("P#1", 1), _bump("P#2", 4)])
    assert _item(client, "P#1", "ENTRY#2026-03")["amount"] == {"N": "16800"}
    assert _item(client, "P#1")["version"] == {"N": "2"}
    assert _item(client, "P#2")["version"] == {"N": "5"}
    records = _stream_records(client)[before:]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "MODIFY"]
    assert records[1]["dynamodb"]["OldImage"]["version"] == {"N": "1"}
    assert records[1]["dynamodb"]["NewImage"]["version"] == {"N": "2"}


def test_a_failed_condition_can_return_the_item_it_read(client: Any) -> None:
    stale = _bump("P#2", 2)
    stale["Update"]["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    with pytest.raises(ClientError) as cancelled:
        client.transact_write_items(TransactItems=[_bump("P#1", 1), stale])
    assert cancelled.value.response["CancellationReasons"][1]["Item"]["version"] == {"N": "4"}
    assert _item(client, "P#1")["version"] == {"N": "1"}


def test_the_tables_are_not_copied_for_a_transaction(client: Any) -> None:
    import moto.dynamodb.models as models
    from moto.dynamodb.models.table import Table

    copied: list[Any] = []
    deepcopy = models.copy.deepcopy

    def watching(value: Any, memo: Any = None) -> Any:
        copy = deepcopy(value, memo)
        if isinstance(value, Table) and copy is not value:
            copied.append(value.name)
        return copy

    models.copy.deepcopy = watching
    try:
        client.transact_write_items(TransactItems=[_bump("P#1", 1)])
        with pytest.raises(ClientError):
            client.transact_write_items(TransactItems=[_bump("P#1", 1)])
    finally:
        models.copy.deepcopy = deepcopy
    assert copied == []

"""Partner keys in DynamoDB. Items: ``pk=KEY#<sha256>`` (read by the authorizer) and
``pk=PARTNER#<id>, sk=KEY#<key_id>`` (lets an operator list and revoke by key id)."""

from __future__ import annotations

from typing import Any

from perisai import aws
from perisai.clock import clock
from perisai.dynamo import DynamoRepository, cancellation_codes, error_code, from_item, to_item
from perisai.errors import DependencyUnavailable, NotFound
from perisai.partners.models import PartnerKey


class PartnerKeyRepository(DynamoRepository):
    def find_by_hash(self, key_hash: str) -> PartnerKey | None:
        # Strongly consistent: right after a revocation (and cache flush) the old item must not be read.
        try:
            item = self._client.get_item(
                TableName=self._table, Key={"pk": {"S": f"KEY#{key_hash}"}, "sk": {"S": "KEY"}}, ConsistentRead=True
            ).get("Item")
        except aws.CALL_ERRORS as exc:
            raise DependencyUnavailable("partners table unavailable") from exc
        return _from_item(item) if item else None

    def save(self, key: PartnerKey) -> None:
        data = key.model_dump(mode="json", exclude_none=True)
        lookup = {"pk": f"KEY#{key.key_hash}", "sk": "KEY", **data}
        listing = {"pk": f"PARTNER#{key.partner_id}", "sk": f"KEY#{key.key_id}", **data}
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": _to_item(lookup),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {"Put": {"TableName": self._table, "Item": _to_item(listing)}},
                ]
            )
        except aws.CALL_ERRORS as exc:
            conflict = error_code(exc) == "TransactionCanceledException" and cancellation_codes(exc)[:1] == [
                "ConditionalCheckFailed"
            ]
            if conflict and self._stored_already(key):
                return  # our own earlier attempt committed but its answer was lost (a timeout): done
            raise DependencyUnavailable("could not store partner key") from exc

    def _stored_already(self, key: PartnerKey) -> bool:
        """The same key (partner, channel, scopes, plan; any creation time) is stored and active."""
        existing = self.find_by_hash(key.key_hash)
        volatile = {"created_at", "revoked_at"}
        return (
            existing is not None
            and existing.active
            and existing.model_dump(exclude=volatile) == key.model_dump(exclude=volatile)
        )

    def list_keys(self, partner_id: str) -> list[PartnerKey]:
        """Operator listing of one partner's keys (admin tool only)."""
        keys: list[PartnerKey] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :key)",
            "ExpressionAttributeValues": {":pk": {"S": f"PARTNER#{partner_id}"}, ":key": {"S": "KEY#"}},
        }
        while True:
            page = self._client.query(**kwargs)
            keys.extend(_from_item(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return keys
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def revoke(self, partner_id: str, key_id: str) -> PartnerKey:
        try:
            listing = self._client.get_item(
                TableName=self._table,
                Key={"pk": {"S": f"PARTNER#{partner_id}"}, "sk": {"S": f"KEY#{key_id}"}},
                ConsistentRead=True,
            ).get("Item")
        except aws.CALL_ERRORS as exc:
            raise DependencyUnavailable("partners table unavailable") from exc
        if not listing:
            raise NotFound(f"key {key_id} of partner {partner_id}")
        key = _from_item(listing)
        if key.status == "revoked":
            return key  # revoking twice changes nothing
        now = clock.now()
        update = {
            "UpdateExpression": "SET #s = :revoked, revoked_at = :now",
            "ConditionExpression": "#s = :active",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {
                ":revoked": {"S": "revoked"},
                ":active": {"S": "active"},
                ":now": {"S": now.isoformat()},
            },
        }
        keys = [
            {"pk": {"S": f"KEY#{key.key_hash}"}, "sk": {"S": "KEY"}},
            {"pk": {"S": f"PARTNER#{partner_id}"}, "sk": {"S": f"KEY#{key_id}"}},
        ]
        try:
            self._client.transact_write_items(
                TransactItems=[{"Update": {"TableName": self._table, "Key": k, **update}} for k in keys]
            )
        except aws.CALL_ERRORS as exc:
            raise DependencyUnavailable("could not revoke partner key") from exc
        return key.model_copy(update={"status": "revoked", "revoked_at": now})


def _to_item(data: dict[str, Any]) -> dict[str, Any]:
    return to_item(data)


def _from_item(item: dict[str, Any]) -> PartnerKey:
    return PartnerKey.model_validate(from_item(item))

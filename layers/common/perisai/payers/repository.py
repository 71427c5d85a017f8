"""Payers' data: the partners table (is a partner a payer?), the payer links
(``PAYER#<payer_id> / WORKER#<participant_id>``, written with the participant by
``perisai.participants.repository``) and the by_payer_month index of the ledger. The only
boto3 access of this capability; AWS failures become DependencyUnavailable."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from perisai import aws
from perisai.dynamo import DynamoRepository, error_code, from_item
from perisai.errors import DependencyUnavailable
from perisai.payers.models import PayerLink, StatementEntry
from perisai.payments.repository import statement_partition

STATEMENT_INDEX = "by_payer_month"
# A list page whose links have mostly ended (filtered out) reads on for at most this many Queries,
# then answers what it has with a next_token: no request runs long whatever a payer's history.
LINK_QUERIES_PER_PAGE = 5


class PayerRepository(DynamoRepository):
    def __init__(self, participants_table: str, partners_table: str, dynamodb: Any | None = None) -> None:
        super().__init__(participants_table, dynamodb)
        self._partners_table = partners_table

    def partner_channel(self, partner_id: str) -> str | None:
        """The channel of a partner (from its key items ``PARTNER#<id> / KEY#...``, revoked keys
        included: a payer that rotated its keys is still that payer); None for an unknown partner.
        Active keys are preferred should two keys ever disagree."""
        kwargs: dict[str, Any] = {
            "TableName": self._partners_table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :key)",
            "ExpressionAttributeValues": {":pk": {"S": f"PARTNER#{partner_id}"}, ":key": {"S": "KEY#"}},
            "ProjectionExpression": "channel, #s",
            "ExpressionAttributeNames": {"#s": "status"},
            "ConsistentRead": True,
        }
        channels: list[tuple[bool, str]] = []
        while True:
            try:
                page = self._client.query(**kwargs)
            except aws.CALL_ERRORS as exc:
                raise DependencyUnavailable(f"partners table: {error_code(exc)}") from exc
            for item in page.get("Items", []):
                key = from_item(item)
                if "channel" in key:
                    channels.append((key.get("status") == "active", str(key["channel"])))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        if not channels:
            return None
        return sorted(channels, key=lambda c: not c[0])[0][1]

    def links(
        self, payer_id: str, current_month: str, limit: int, after: str | None
    ) -> tuple[list[PayerLink], str | None]:
        """The payer's links that pay ``current_month`` or a later month (no ``until_month``, or
        one after the current month), by participant id, from after ``after`` (a participant id)."""
        found: list[PayerLink] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :worker)",
            "FilterExpression": "attribute_not_exists(until_month) OR until_month > :month",
            "ExpressionAttributeValues": {
                ":pk": {"S": f"PAYER#{payer_id}"},
                ":worker": {"S": "WORKER#"},
                ":month": {"S": current_month},
            },
        }
        if after:
            kwargs["ExclusiveStartKey"] = {"pk": {"S": f"PAYER#{payer_id}"}, "sk": {"S": f"WORKER#{after}"}}
        for _ in range(LINK_QUERIES_PER_PAGE):
            page = self._query(Limit=limit - len(found), **kwargs)
            found += [PayerLink.model_validate(from_item(item)) for item in page.get("Items", [])]
            last = page.get("LastEvaluatedKey")
            if last is None:
                return found, None
            kwargs["ExclusiveStartKey"] = last
            if len(found) >= limit:
                break
        return found, str(kwargs["ExclusiveStartKey"]["sk"]["S"]).removeprefix("WORKER#")

    def statement_entries(self, payer_id: str, month: str) -> list[StatementEntry]:
        """Every ledger entry ``payer_id`` paid for dues month ``month`` (the whole index
        partition, page by page), by participant id: the CSV statement."""
        entries: list[StatementEntry] = []
        for page in self._statement_pages(payer_id, month):
            entries += [StatementEntry.model_validate(from_item(item)) for item in page.get("Items", [])]
        return entries

    def statement_page(
        self, payer_id: str, month: str, limit: int, after: str | None
    ) -> tuple[list[StatementEntry], str | None]:
        """At most ``limit`` of those entries, by participant id, from after participant ``after``
        (the index sort key ``gsi4sk``), and the participant id to go on from (None: no more).
        Reads one entry past the page so the last page never hands out a token to an empty one."""
        entries: list[StatementEntry] = []
        for page in self._statement_pages(payer_id, month, after, limit + 1):
            entries += [StatementEntry.model_validate(from_item(item)) for item in page.get("Items", [])]
            if len(entries) > limit:
                return entries[:limit], entries[limit - 1].participant_id
        return entries, None

    def statement_totals(self, payer_id: str, month: str) -> tuple[int, int]:
        """(count, total) of the whole month: every entry of the index partition with only its
        ``total`` projected (DynamoDB still reads each entry whole, but returns a few bytes of it)."""
        count = total = 0
        for page in self._statement_pages(payer_id, month, projection="#total"):
            for item in page.get("Items", []):
                count += 1
                total += int(item["total"]["N"])
        return count, total

    def _statement_pages(
        self,
        payer_id: str,
        month: str,
        after: str | None = None,
        limit: int | None = None,
        projection: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The by_payer_month partition of (payer, month), Query page by Query page (at most
        ``limit`` entries in all when given)."""
        values: dict[str, Any] = {":pk": {"S": statement_partition(payer_id, month)}}
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": STATEMENT_INDEX,
            "KeyConditionExpression": "gsi4pk = :pk",
            "ExpressionAttributeValues": values,
        }
        if after is not None:
            kwargs["KeyConditionExpression"] = "gsi4pk = :pk AND gsi4sk > :after"
            values[":after"] = {"S": after}
        if projection is not None:
            kwargs["ProjectionExpression"] = projection
            kwargs["ExpressionAttributeNames"] = {"#total": "total"}
        read = 0
        while True:
            if limit is not None:
                kwargs["Limit"] = limit - read
            try:
                page = self._client.query(**kwargs)
            except aws.CALL_ERRORS as exc:
                raise DependencyUnavailable(f"{self._table}: {error_code(exc)}") from exc
            yield page
            read += len(page.get("Items", []))
            if "LastEvaluatedKey" not in page or (limit is not None and read >= limit):
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

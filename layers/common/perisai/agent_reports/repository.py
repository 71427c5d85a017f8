"""What the agent reports read, besides one agent (``perisai.agents``), counter partitions and
agent lines (``perisai.coverage``) and profiles (``ParticipantRepository.batch_get``):

- the registry, one page at a time: ``Query pk = "AGENTS"`` (a partner's: ``begins_with(sk,
  "<partner_id>#")``), in sort-key order, from an exclusive start sort key;
- a page of agents' counter items: ``BatchGetItem`` of ``<counter partition>#<YYYY> / <partner>/<CODE>``
  (one item per agent of the page and year, never one per participant);
- an agent's recruits: the ``by_agent`` index (``gsi3pk = AGENT#<partner_id>#<CODE>``, keys only).

Reads only; AWS failures become DependencyUnavailable."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from perisai import aws
from perisai.agents.models import StoredAgent
from perisai.agents.repository import AGENTS_PK
from perisai.coverage.repository import CoverageRepository
from perisai.domain.months import DuesMonth
from perisai.dynamo import DynamoRepository, error_code, from_item
from perisai.errors import DependencyUnavailable

RECRUITS_INDEX = "by_agent"


def recruits_partition(partner_id: str, agent_code: str) -> str:
    """The agent's partition of the by_agent index (codes are stored upper case on participants)."""
    return f"AGENT#{partner_id}#{agent_code.upper()}"


class AgentReportsRepository(DynamoRepository):
    def agents_page(
        self, partner_id: str | None, after_sk: str | None, limit: int
    ) -> tuple[list[tuple[str, StoredAgent]], bool]:
        """Up to ``limit`` registered agents (sort key, agent) after ``after_sk``, and whether the
        registry may hold more after them."""
        values: dict[str, Any] = {":pk": {"S": AGENTS_PK}}
        condition = "pk = :pk"
        if partner_id is not None:
            condition += " AND begins_with(sk, :partner)"
            values[":partner"] = {"S": f"{partner_id}#"}
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "Limit": limit,
        }
        if after_sk is not None:
            kwargs["ExclusiveStartKey"] = {"pk": {"S": AGENTS_PK}, "sk": {"S": after_sk}}
        page = self._query(**kwargs)
        agents = []
        for item in page.get("Items", []):
            plain = from_item(item)
            agents.append((str(plain["sk"]), StoredAgent.model_validate(plain)))
        return agents, "LastEvaluatedKey" in page

    def counters_of(self, partition: str, keys: Sequence[str], upto: DuesMonth) -> dict[str, dict[str, int]]:
        """The counters of ``keys`` in one counter partition, years up to ``upto`` merged
        (``CoverageRepository.counters_of``; absent keys: no figures yet)."""
        return CoverageRepository(self._table, self._dynamodb).counters_of(partition, keys, upto)

    def recruit_ids(self, partner_id: str, agent_code: str) -> Iterator[str]:
        """The participant ids of the agent's recruits, oldest recruitment first (index pages)."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": RECRUITS_INDEX,
            "KeyConditionExpression": "gsi3pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": recruits_partition(partner_id, agent_code)}},
        }
        while True:
            try:
                page = self._client.query(**kwargs)
            except aws.CALL_ERRORS as exc:
                raise DependencyUnavailable(f"{self._table}: {error_code(exc)}") from exc
            for item in page.get("Items", []):
                # gsi3sk = "<recruited at, ISO 8601>#<participant id>"
                yield str(item["gsi3sk"]["S"]).rpartition("#")[2]
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

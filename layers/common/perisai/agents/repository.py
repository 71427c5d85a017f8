"""Agents' data: the agent items of the participants table and its inactivity index. The only
boto3 access of the registry; AWS failures become DependencyUnavailable, a lost race
VersionConflict, a taken code AgentExists.

Layout (a contract the aggregator and the reports code against):

- ``pk = "AGENTS"``, ``sk = "<partner_id>#<AGENT_CODE>"`` (code upper case): ``entity = "agent"``,
  ``agent_code`` (as registered), ``partner_id``, ``name``, ``phone`` (E.164), ``home_regency``,
  ``cooperative``, ``status`` (active|inactive), ``status_reason``, ``status_note``,
  ``registered_at``, ``updated_at``, ``last_activity_month`` (YYYY-MM, Asia/Jakarta) and ``version``.
- Only while active: ``gsi1pk = "AGENTLAST#<last_activity_month>"``, ``gsi1sk = "<partner_id>#<CODE>"``
  (index ``by_partner``, keys only): the daily inactivity job reads the partitions of the months
  that qualify, never a scan.
- Always: ``gsi3pk = "AGENTCODE#<CODE>"``, ``gsi3sk = "<partner_id>#<CODE>"`` (index ``by_agent``,
  keys only): the partners that have an agent of a code, for the back office naming a code alone.

Every write is conditional: a new agent on its absence, a change on the version read, an
activity on the month only moving forward (and it bumps the version, so a concurrent change
read before it is retried rather than undoing it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from perisai import aws
from perisai.agents.models import StoredAgent
from perisai.domain.agents import agent_sort_key, normalize_agent_code
from perisai.domain.months import DuesMonth
from perisai.dynamo import DynamoRepository, error_code, from_item, to_item
from perisai.errors import AgentExists, DependencyUnavailable, VersionConflict

AGENTS_PK = "AGENTS"
INACTIVITY_INDEX = "by_partner"
INACTIVITY_PREFIX = "AGENTLAST#"
CODE_INDEX = "by_agent"
CODE_PREFIX = "AGENTCODE#"


def agent_key(partner_id: str, agent_code: str) -> dict[str, Any]:
    """The DynamoDB key of an agent item (the code in any case)."""
    return {"pk": {"S": AGENTS_PK}, "sk": {"S": agent_sort_key(partner_id, agent_code)}}


def agent_item(agent: StoredAgent) -> dict[str, Any]:
    """The whole item of an agent, with the inactivity index keys only while it is active."""
    item: dict[str, Any] = {
        "pk": AGENTS_PK,
        "sk": agent_sort_key(agent.partner_id, agent.agent_code),
        "entity": "agent",
        **agent.model_dump(mode="json"),
    }
    if agent.status == "active":
        item["gsi1pk"] = f"{INACTIVITY_PREFIX}{agent.last_activity_month}"
        item["gsi1sk"] = item["sk"]
    item["gsi3pk"] = f"{CODE_PREFIX}{normalize_agent_code(agent.agent_code)}"
    item["gsi3sk"] = item["sk"]
    return item


class AgentRepository(DynamoRepository):
    def __init__(self, participants_table: str, partners_table: str | None = None, dynamodb: Any | None = None) -> None:
        super().__init__(participants_table, dynamodb)
        self._partners_table = partners_table

    def get(self, partner_id: str, agent_code: str) -> StoredAgent | None:
        item = self._get(agent_key(partner_id, agent_code))
        return StoredAgent.model_validate(from_item(item)) if item else None

    def create(self, agent: StoredAgent) -> None:
        """Store a new agent; AgentExists when the partner has one under this code (any case)."""
        try:
            self._client.put_item(
                TableName=self._table, Item=to_item(agent_item(agent)), ConditionExpression="attribute_not_exists(pk)"
            )
        except aws.CALL_ERRORS as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise AgentExists() from exc
            raise DependencyUnavailable(f"{self._table}: {error_code(exc)}") from exc

    def replace(self, agent: StoredAgent, read_version: int) -> StoredAgent:
        """Store ``agent`` over the version read (its version becomes ``read_version + 1``)."""
        stored = agent.model_copy(update={"version": read_version + 1})
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(agent_item(stored)),
                ConditionExpression="attribute_exists(pk) AND version = :read",
                ExpressionAttributeValues={":read": {"N": str(read_version)}},
            )
        except aws.CALL_ERRORS as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise VersionConflict("agent") from exc
            raise DependencyUnavailable(f"{self._table}: {error_code(exc)}") from exc
        return stored

    def partner_exists(self, partner_id: str) -> bool:
        """Whether a partner has (or had) a key: its listing items ``PARTNER#<id> / KEY#...``."""
        if self._partners_table is None:
            raise RuntimeError("AgentRepository built without the partners table")
        try:
            page = self._client.query(
                TableName=self._partners_table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :key)",
                ExpressionAttributeValues={":pk": {"S": f"PARTNER#{partner_id}"}, ":key": {"S": "KEY#"}},
                ProjectionExpression="pk",
                Limit=1,
            )
        except aws.CALL_ERRORS as exc:
            raise DependencyUnavailable(f"partners table: {error_code(exc)}") from exc
        return bool(page.get("Items"))

    def last_active_in(self, month: str) -> Iterator[tuple[str, str]]:
        """(partner_id, AGENT_CODE) of every active agent whose last activity month is ``month``:
        one partition of the by_partner index (keys only), page by page."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": INACTIVITY_INDEX,
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"{INACTIVITY_PREFIX}{month}"}},
        }
        while True:
            try:
                page = self._client.query(**kwargs)
            except aws.CALL_ERRORS as exc:
                raise DependencyUnavailable(f"{self._table}: {error_code(exc)}") from exc
            for item in page.get("Items", []):
                partner_id, _, code = str(item["gsi1sk"]["S"]).rpartition("#")
                yield partner_id, code
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def partners_with_code(self, agent_code: str, at_most: int = 10) -> list[str]:
        """The partners that have an agent of ``agent_code`` (any case): one Query of the code's
        partition of the by_agent index, at most ``at_most`` of them."""
        try:
            page = self._client.query(
                TableName=self._table,
                IndexName=CODE_INDEX,
                KeyConditionExpression="gsi3pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"{CODE_PREFIX}{normalize_agent_code(agent_code)}"}},
                Limit=at_most,
            )
        except aws.CALL_ERRORS as exc:
            raise DependencyUnavailable(f"{self._table}: {error_code(exc)}") from exc
        return [str(item["gsi3sk"]["S"]).rpartition("#")[0] for item in page.get("Items", [])]

    def activity_update(self, partner_id: str, agent_code: str, month: str) -> None:
        """Record an acquisition or a collection in ``month`` (YYYY-MM, Asia/Jakarta) for the agent.

        Moves ``last_activity_month`` forward only (an older or equal month, a redelivered event,
        changes nothing) and bumps ``version``. An active agent moves to the index partition of
        that month (the first UpdateItem, conditional on ``status = active``); an inactive agent
        only gets the month (the second, conditional on the opposite status), so it stays out of
        the index: activity does not reactivate an agent, a partner or the back office does.
        No agent, or a month not newer: nothing happens (ConditionalCheckFailed is swallowed)."""
        DuesMonth.parse(month)  # a caller's bug, not data: YYYY-MM only
        key = agent_key(partner_id, agent_code)
        values: dict[str, Any] = {":m": {"S": month}, ":active": {"S": "active"}, ":one": {"N": "1"}}
        names = {"#status": "status"}
        fresher = "attribute_exists(pk) AND last_activity_month < :m"
        moved = self._update(
            Key=key,
            UpdateExpression="SET last_activity_month = :m, gsi1pk = :g ADD version :one",
            ConditionExpression=f"{fresher} AND #status = :active",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={**values, ":g": {"S": f"{INACTIVITY_PREFIX}{month}"}},
        )
        if moved is not None:
            return
        self._update(
            Key=key,
            UpdateExpression="SET last_activity_month = :m ADD version :one",
            ConditionExpression=f"{fresher} AND #status <> :active",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )


def activity_update(table_name: str, partner_id: str, agent_code: str, month: str) -> None:
    """``AgentRepository(table_name).activity_update(...)``: what the aggregator calls whenever a
    recruit of the agent is acquired or pays (``month``: of the acquisition or payment, YYYY-MM)."""
    AgentRepository(table_name).activity_update(partner_id, agent_code, month)

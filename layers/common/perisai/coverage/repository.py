"""Coverage data: each participant's aggregator record and the counters, in the participants
table. The only boto3 access of this capability; AWS failures become DependencyUnavailable.

- ``AGG#PARTICIPANT#<id> / RECORD``: the record (facts seen, by event id), versioned;
- ``AGG#ALL#<dimension>#<YYYY> / <key>`` and ``AGG#PARTNER#<partner>#<dimension>#<YYYY> / <key>``:
  counters, one numeric attribute per month and field (``YYYY-MM|active``...), kept by ADD, one
  item per key and year (an item, and each update's cost, stays bounded over the years);
- ``AGG#AGENTLINES#<partner>/<CODE>#<YYYY-MM> / <participant id>``: what each recruit of an agent
  paid in a month (the agent's statement).
A report reads one counter partition per year since the counters began: a Query each, whatever
the number of participants. Readers get a key's attributes of every year merged (attribute names
carry their month, so merging is a union)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from perisai.clock import clock
from perisai.coverage.models import StoredRecord
from perisai.domain import coverage as rules
from perisai.domain.months import DuesMonth
from perisai.dynamo import DynamoRepository, from_item
from perisai.errors import VersionConflict


def counter_values(item: dict[str, Any]) -> dict[str, int]:
    """A counter item's ``YYYY-MM|field`` attributes (a count that went up and back down to 0 is
    the same as none, and left out)."""
    plain = from_item(item)
    return {k: int(v) for k, v in plain.items() if isinstance(v, (int, float)) and "|" in k and v}


def record_key(participant_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"AGG#PARTICIPANT#{participant_id}"}, "sk": {"S": "RECORD"}}


def counter_partition(dimension: str, partner_id: str | None) -> str:
    """The partition of one report: every key of a dimension, whole scheme or one partner."""
    return f"AGG#PARTNER#{partner_id}#{dimension}" if partner_id else f"AGG#ALL#{dimension}"


def year_partitions(partition: str, upto: DuesMonth) -> list[str]:
    """The yearly partitions holding the months up to ``upto`` of one counter partition."""
    today = DuesMonth.of(clock.today_jakarta())
    return [f"{partition}#{year}" for year in rules.counter_years(upto, today)]


def agent_lines_partition(agent: str, month: str) -> str:
    return f"AGG#AGENTLINES#{agent}#{month}"


class CoverageRepository(DynamoRepository):
    def record(self, participant_id: str) -> StoredRecord | None:
        item = self._get(record_key(participant_id))
        return StoredRecord.model_validate(from_item(item)) if item else None

    def apply(
        self,
        record: StoredRecord,
        read_version: int,
        counters: Mapping[tuple[str, str], rules.Counts],
        lines: Mapping[tuple[str, str], tuple[int, int]],
    ) -> None:
        """Write the record over the version read, and add ``counters`` ((partition, key) ->
        {(month, field): n}) and the agents' ``lines`` ((partition, participant) -> (rupiah,
        months)) in the same transaction. VersionConflict when the record changed meanwhile."""
        item = {"pk": f"AGG#PARTICIPANT#{record.participant_id}", "sk": "RECORD", "entity": "coverage_record"}
        item.update(record.model_dump(mode="json"))
        condition = "attribute_not_exists(pk)" if read_version == 0 else "version = :read"
        put: dict[str, Any] = self._put(item, condition)
        if read_version:
            put["Put"]["ExpressionAttributeValues"] = {":read": {"N": str(read_version)}}
        writes = [put]
        for (partition, key), counts in sorted(counters.items()):
            by_year: dict[int, dict[str, int]] = {}
            for (month, name), n in counts.items():
                by_year.setdefault(rules.counter_year(month), {})[rules.counter_attribute(month, name)] = n
            for year, values in sorted(by_year.items()):
                writes.append(self._add(f"{partition}#{year}", key, values))
        for (partition, participant_id), (amount, months) in sorted(lines.items()):
            writes.append(self._add(partition, participant_id, {"dues": amount, "months": months}))
        # 1 record + 10 counter items (20 when a change spans a new year) + a few months of agent
        # lines: well inside a transaction's 100 items.
        if self._transact(writes):
            raise VersionConflict("coverage record")

    def _add(self, partition: str, key: str, values: Mapping[str, int]) -> dict[str, Any]:
        names = {f"#a{i}": name for i, name in enumerate(values)}
        numbers = {f":v{i}": {"N": str(value)} for i, value in enumerate(values.values())}
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"pk": {"S": partition}, "sk": {"S": key}},
                "UpdateExpression": "ADD " + ", ".join(f"#a{i} :v{i}" for i in range(len(values))),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": numbers,
            }
        }

    def counters(self, partition: str, upto: DuesMonth) -> Iterator[tuple[str, dict[str, int]]]:
        """Every key of one counter partition with its attributes (``YYYY-MM|field`` -> n) of
        the years up to ``upto``, merged: one Query per year (in 1 MB pages)."""
        merged: dict[str, dict[str, int]] = {}
        for yearly in year_partitions(partition, upto):
            kwargs: dict[str, Any] = {
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": yearly}},
            }
            while True:
                page = self._query(**kwargs)
                for item in page.get("Items", []):
                    merged.setdefault(str(item["sk"]["S"]), {}).update(counter_values(item))
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        yield from merged.items()

    def counters_of(self, partition: str, keys: Sequence[str], upto: DuesMonth) -> dict[str, dict[str, int]]:
        """The counters of ``keys`` (years up to ``upto`` merged), in BatchGetItems: absent keys
        have no figures yet."""
        wanted = [
            {"pk": {"S": yearly}, "sk": {"S": key}}
            for key in dict.fromkeys(keys)
            for yearly in year_partitions(partition, upto)
        ]
        merged: dict[str, dict[str, int]] = {}
        for item in self._batch_get(wanted):
            merged.setdefault(str(item["sk"]["S"]), {}).update(counter_values(item))
        return merged

    def counter(self, partition: str, key: str, upto: DuesMonth) -> dict[str, int]:
        return self.counters_of(partition, [key], upto).get(key, {})

    def agent_lines(self, agent: str, month: str) -> Iterator[tuple[str, int, int]]:
        """(participant id, rupiah, months) an agent's recruits paid in ``month``."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": agent_lines_partition(agent, month)}},
        }
        while True:
            page = self._query(**kwargs)
            for item in page.get("Items", []):
                plain = from_item(item)
                yield str(plain["sk"]), int(plain.get("dues", 0)), int(plain.get("months", 0))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

"""Bulk order items in the participants table. Items:

- ``ORDER#<id> / ORDER`` (``kind = bulk``): the order; its code is ``PAYCODE#<code> / CODE``
  as for any order, so providers and channels pay it alike
- ``ORDER#<id> / WORKERS#<nnnn>``: a chunk of its workers with their priced months
- ``PAYER#<payer> / OPENBULK#<months>#<selection>``: the open order for this payer, month count
  and selection of workers, so asking again answers the same order
- ``PARTICIPANT#<id> / BULKHOLD``: the open bulk order a worker is in (one at a time)
- ``ORDER#<id> / CREDIT#<participant>``: the worker's outcome; written only if absent, so each
  worker is credited (or skipped) once per order
- ``ORDER#<id> / PROGRESS#<nnnn>``: credited and skipped counts of a chunk
- ``ORDER#<id> / CREDITING``: the chunks whose every worker is done

A worker's credit is one transaction: its outcome, its chunk's progress, its ledger entries,
the participant on the version read, and the events.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from perisai.bulk_orders.models import BulkChunk, BulkOrder, BulkWorker, SkipReason
from perisai.dynamo import DynamoRepository, from_item, to_item
from perisai.errors import DependencyUnavailable, VersionConflict
from perisai.participants.models import Participant
from perisai.participants.repository import DomainEvent, ParticipantRepository
from perisai.payments.crediting import CreditPlan
from perisai.payments.repository import (
    AlreadyHandled,
    DynamoPaymentStore,
    MonthAlreadyCredited,
    PaymentCodeTaken,
    entry_item,
)

BATCH = 100  # items in one transaction
WRITE_ATTEMPTS = 5


class WorkerDone(Exception):
    """This worker already has its outcome for this order (a retried or duplicate task)."""


class BulkOrderRepository(DynamoRepository):
    def __init__(self, table_name: str, participants: ParticipantRepository, dynamodb: Any | None = None) -> None:
        super().__init__(table_name, dynamodb)
        self._participants = participants
        self._codes = DynamoPaymentStore(table_name, participants, dynamodb)

    # -- opening --------------------------------------------------------------

    def open_order_id(self, payer_id: str, selection: str) -> str | None:
        item = self._get({"pk": {"S": f"PAYER#{payer_id}"}, "sk": {"S": f"OPENBULK#{selection}"}})
        return str(from_item(item)["order_id"]) if item else None

    def payer_workers(self, payer_id: str, month: str) -> list[str]:
        """Workers the payer pays for in ``month`` or later (its links), one paged Query."""
        ids: list[str] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :worker)",
            "ExpressionAttributeValues": {":pk": {"S": f"PAYER#{payer_id}"}, ":worker": {"S": "WORKER#"}},
            "ProjectionExpression": "participant_id, until_month",
        }
        while True:
            page = self._query(**kwargs)
            for item in page.get("Items", []):
                link = from_item(item)
                if link.get("until_month") is None or str(link["until_month"]) > month:
                    ids.append(str(link["participant_id"]))
            if "LastEvaluatedKey" not in page:
                return ids
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def participants(self, participant_ids: Sequence[str]) -> dict[str, Participant]:
        return self._participants.batch_get(participant_ids)

    def hold(self, order_id: str, participant_ids: Sequence[str], payable_until: datetime, now: datetime) -> list[str]:
        """Put the workers in this order (``BULKHOLD``), 100 a transaction; returns the workers
        held by another order still payable (not held here)."""
        taken: list[str] = []
        for start in range(0, len(participant_ids), BATCH):
            batch = list(participant_ids[start : start + BATCH])
            for _ in range(WRITE_ATTEMPTS):
                reasons = self._transact([self._hold_put(order_id, pid, payable_until, now) for pid in batch])
                if not reasons:
                    break
                refused = {
                    pid for pid, reason in zip(batch, reasons, strict=False) if reason == "ConditionalCheckFailed"
                }
                taken += sorted(refused)
                batch = [pid for pid in batch if pid not in refused]
                if not batch:
                    break
            else:
                raise DependencyUnavailable("bulk order holds kept conflicting; retry")
        return taken

    def holders(self, participant_ids: Sequence[str]) -> dict[str, tuple[str, datetime]]:
        """Who holds each of these workers: participant -> (order id, when the hold was taken)."""
        items = self._batch_get(
            [{"pk": {"S": f"PARTICIPANT#{pid}"}, "sk": {"S": "BULKHOLD"}} for pid in dict.fromkeys(participant_ids)]
        )
        holds = [from_item(item) for item in items]
        return {
            str(h["pk"]).removeprefix("PARTICIPANT#"): (str(h["order_id"]), datetime.fromisoformat(str(h["taken_at"])))
            for h in holds
        }

    def take_over_holds(
        self, stale: dict[str, str], order_id: str, payable_until: datetime, now: datetime
    ) -> list[str]:
        """Hold workers for ``order_id`` whose hold still names the stale order given for each
        (participant -> order id no longer holding), 100 a transaction; returns those taken."""
        taken: list[str] = []
        pending = list(stale.items())
        for _ in range(WRITE_ATTEMPTS):
            if not pending:
                break
            refused: set[str] = set()
            for start in range(0, len(pending), BATCH):
                batch = pending[start : start + BATCH]
                puts = [
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": to_item(_hold_item(order_id, pid, payable_until, now)),
                            "ConditionExpression": "order_id = :stale",
                            "ExpressionAttributeValues": {":stale": {"S": old}},
                        }
                    }
                    for pid, old in batch
                ]
                reasons = self._transact(puts)
                if not reasons:
                    taken += [pid for pid, _ in batch]
                else:
                    refused |= {
                        pid for (pid, _), r in zip(batch, reasons, strict=False) if r == "ConditionalCheckFailed"
                    }
            # A refused worker was taken by somebody else meanwhile; the rest of its batch is retried.
            pending = [(pid, old) for pid, old in pending if pid not in refused and pid not in taken]
        return taken

    def release(self, participant_ids: Sequence[str]) -> None:
        """Let workers go that this request held but will not bill (its order was not stored,
        or it bills fewer): their holds are deleted, 25 a call. Only the request that took the
        holds releases them, within its own lifetime, so no other order's hold is touched."""
        self._batch_delete([{"pk": {"S": f"PARTICIPANT#{pid}"}, "sk": {"S": "BULKHOLD"}} for pid in participant_ids])

    def store_chunks(self, chunks: Sequence[BulkChunk], payable_until: datetime) -> None:
        # Kept a year after the order stops being payable: statements and support read the ledger.
        expires = int((payable_until + timedelta(days=400)).timestamp())
        self._batch_put(
            [
                {
                    "pk": f"ORDER#{chunk.order_id}",
                    "sk": f"WORKERS#{chunk.chunk:04d}",
                    "entity": "bulk_order_workers",
                    "expires_at": expires,
                    **chunk.model_dump(mode="json"),
                }
                for chunk in chunks
            ]
        )

    def create(self, order: BulkOrder, selection: str, now: datetime) -> None:
        """The order, its payment code and the payer's pointer, in one transaction."""
        pointer = {
            "pk": f"PAYER#{order.payer_id}",
            "sk": f"OPENBULK#{selection}",
            "entity": "open_bulk_order",
            "order_id": order.order_id,
            "expires_at": int((order.payable_until + timedelta(days=1)).timestamp()),
        }
        reasons = self._transact(
            [
                self._put(_order_item(order), "attribute_not_exists(pk)"),
                self._codes.code_put(order.order_id, order.payment_code, order.payable_until, now),
                {"Put": {"TableName": self._table, "Item": to_item(pointer)}},
            ]
        )
        if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
            raise PaymentCodeTaken()
        if reasons:
            raise VersionConflict(f"order {order.order_id}")

    # -- reading --------------------------------------------------------------

    def get(self, order_id: str) -> BulkOrder | None:
        item = self._get({"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}})
        if not item or from_item(item).get("kind") != "bulk":
            return None
        return BulkOrder.model_validate(from_item(item))

    def chunk(self, order_id: str, chunk: int) -> BulkChunk | None:
        item = self._get({"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": f"WORKERS#{chunk:04d}"}})
        return BulkChunk.model_validate(from_item(item)) if item else None

    def progress(self, order_id: str) -> tuple[int, list[tuple[str, str]]]:
        """(workers credited, [(worker, reason) skipped]) over every chunk: one paged Query."""
        credited, skipped = 0, []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :progress)",
            "ExpressionAttributeValues": {":pk": {"S": f"ORDER#{order_id}"}, ":progress": {"S": "PROGRESS#"}},
        }
        while True:
            page = self._query(**kwargs)
            for item in page.get("Items", []):
                data = from_item(item)
                credited += int(data.get("credited", 0))
                skipped += [(str(s["participant_id"]), str(s["reason"])) for s in data.get("skipped", [])]
            if "LastEvaluatedKey" not in page:
                return credited, skipped
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # -- the callback ---------------------------------------------------------

    def record(
        self,
        order: BulkOrder,
        read_version: int,
        received_key: str,
        events: Sequence[DomainEvent] = (),
        recon: dict[str, Any] | None = None,
    ) -> None:
        """The order as the callback left it, the received-event item, and its events or note
        for a person, in one transaction."""
        items = [
            self._order_update(order, read_version),
            self._codes.received_put(received_key),
            *(self._participants.outbox_item(e) for e in events),
        ]
        if recon is not None:
            items.append(self._put(recon, "attribute_not_exists(pk)"))
        reasons = self._transact(items)
        if not reasons:
            return
        if reasons[1] == "ConditionalCheckFailed":
            raise AlreadyHandled()
        raise VersionConflict(f"order {order.order_id}")

    # -- crediting ------------------------------------------------------------

    def credit(
        self, order: BulkOrder, chunk: int, worker: BulkWorker, plan: CreditPlan, read_participant_version: int
    ) -> None:
        """One worker credited: outcome, progress, ledger, participant, events in one transaction.
        WorkerDone when it already has its outcome; MonthAlreadyCredited when a month was paid
        meanwhile; VersionConflict when the participant changed since it was read."""
        entries = [self._put(entry_item(e), "attribute_not_exists(pk)") for e in plan.entries]
        items = [
            self._outcome(order.order_id, worker, "credited", None),
            self._progress(order.order_id, chunk, None),
            self._participants.replace_item(
                plan.participant.model_copy(update={"version": read_participant_version + 1}),
                read_participant_version,
            ),
            *entries,
            *(self._participants.outbox_item(e) for e in plan.events),
        ]
        reasons = self._transact(items)
        if not reasons:
            return
        if reasons[0] == "ConditionalCheckFailed":
            raise WorkerDone()
        if "ConditionalCheckFailed" in reasons[3 : 3 + len(entries)]:
            raise MonthAlreadyCredited()
        raise VersionConflict(f"participant {worker.participant_id}")

    def skip(self, order: BulkOrder, chunk: int, worker: BulkWorker, reason: SkipReason, recon: dict[str, Any]) -> None:
        """One worker not credited: outcome, progress and the amount kept for the payer in
        reconciliation, in one transaction (WorkerDone if it already has its outcome)."""
        reasons = self._transact(
            [
                self._outcome(order.order_id, worker, "skipped", reason),
                self._progress(order.order_id, chunk, {"participant_id": worker.participant_id, "reason": reason}),
                self._put(recon, "attribute_not_exists(pk)"),
            ]
        )
        if not reasons:
            return
        if reasons[0] == "ConditionalCheckFailed":
            raise WorkerDone()
        raise VersionConflict(f"order {order.order_id}")

    def chunk_done(self, order_id: str, chunk: int) -> int:
        """Note the chunk done (idempotent: a set); how many chunks are done."""
        answer = self._update(
            Key={"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "CREDITING"}},
            UpdateExpression="ADD done_chunks :chunk SET entity = :entity",
            ExpressionAttributeValues={":chunk": {"NS": [str(chunk)]}, ":entity": {"S": "bulk_order_crediting"}},
            ReturnValues="ALL_NEW",
        )
        return len(answer["Attributes"]["done_chunks"]["NS"]) if answer else 0

    def mark_paid(self, order_id: str) -> None:
        """Every worker is done: the order is paid (once; a later call changes nothing)."""
        self._update(
            Key={"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}},
            UpdateExpression="SET #status = :paid, version = version + :one",
            ConditionExpression="#status = :crediting",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":paid": {"S": "paid"}, ":crediting": {"S": "crediting"}, ":one": {"N": "1"}},
        )

    def participant(self, participant_id: str) -> Participant | None:
        return self._participants.get(participant_id)

    # -- plumbing -------------------------------------------------------------

    def _hold_put(self, order_id: str, participant_id: str, payable_until: datetime, now: datetime) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table,
                "Item": to_item(_hold_item(order_id, participant_id, payable_until, now)),
                "ConditionExpression": "attribute_not_exists(pk) OR payable_until < :now OR order_id = :order",
                "ExpressionAttributeValues": {":now": {"S": now.isoformat()}, ":order": {"S": order_id}},
            }
        }

    def _outcome(self, order_id: str, worker: BulkWorker, outcome: str, reason: str | None) -> dict[str, Any]:
        item = {
            "pk": f"ORDER#{order_id}",
            "sk": f"CREDIT#{worker.participant_id}",
            "entity": "bulk_order_outcome",
            "outcome": outcome,
            "reason": reason,
            "amount": worker.amount,
        }
        return self._put(item, "attribute_not_exists(pk)")

    def _progress(self, order_id: str, chunk: int, skipped: dict[str, str] | None) -> dict[str, Any]:
        """The chunk's progress: one more worker credited, or this one skipped (with its reason)."""
        values: dict[str, Any] = {":entity": {"S": "bulk_order_progress"}}
        if skipped is None:
            expression = "ADD credited :one SET entity = :entity"
            values[":one"] = {"N": "1"}
        else:
            expression = "SET entity = :entity, skipped = list_append(if_not_exists(skipped, :none), :this)"
            values[":none"] = {"L": []}
            values[":this"] = {"L": [{"M": to_item(skipped)}]}
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": f"PROGRESS#{chunk:04d}"}},
                "UpdateExpression": expression,
                "ExpressionAttributeValues": values,
            }
        }

    def _order_update(self, order: BulkOrder, read_version: int) -> dict[str, Any]:
        stored = order.model_copy(update={"version": read_version + 1})
        return {
            "Put": {
                "TableName": self._table,
                "Item": to_item(_order_item(stored)),
                "ConditionExpression": "version = :read",
                "ExpressionAttributeValues": {":read": {"N": str(read_version)}},
            }
        }


def _hold_item(order_id: str, participant_id: str, payable_until: datetime, now: datetime) -> dict[str, Any]:
    return {
        "pk": f"PARTICIPANT#{participant_id}",
        "sk": "BULKHOLD",
        "entity": "bulk_order_hold",
        "order_id": order_id,
        "payable_until": payable_until.isoformat(),
        # When it was taken: a hold whose order was never stored is taken over only once the
        # request that took it can no longer be running (its creation lease).
        "taken_at": now.isoformat(),
        "expires_at": int((payable_until + timedelta(days=1)).timestamp()),
    }


def _order_item(order: BulkOrder) -> dict[str, Any]:
    return {"pk": f"ORDER#{order.order_id}", "sk": "ORDER", "entity": "payment_order", **order.model_dump(mode="json")}

"""Payment items in the participants table. Items:

- ``ORDER#<order id> / ORDER``: a payment order (``version`` for conditional changes)
- ``PAYCODE#<code> / CODE``: the order a payment code names; unique among orders still payable
  (a code is reused only after its order's payable time; TTL removes it 90 days later)
- ``PARTICIPANT#<id> / OPENORDER#<first month>#<last month>``: the open order billing exactly
  these months, so asking again answers the same order
- ``PARTICIPANT#<id> / DUES#<YYYY-MM>``: a contribution entry; written only if absent, so a dues
  month is credited at most once
- ``RECEIVED#<provider>#<reference> / CALLBACK``: a provider event already handled (duplicates)
- ``RECON#open / <time>#<id>``: money that needs a person (mismatch, overpayment, reversal)

A credit is one transaction: the order, the ledger entries, the participant (on its version),
the received-event item and the outbox events.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from perisai.bulk_orders.models import BulkOrder
from perisai.dynamo import DynamoRepository, from_item, to_item
from perisai.errors import VersionConflict
from perisai.participants.models import Participant
from perisai.participants.repository import DomainEvent, ParticipantRepository
from perisai.payments.models import ContributionEntry, PaymentOrder, ReconciliationItem

PAYCODE_RETENTION = timedelta(days=90)
RECEIVED_RETENTION_SECONDS = 400 * 24 * 3600


class PaymentCodeTaken(Exception):
    """The drawn payment code names an order that can still be paid: draw another."""


class AlreadyHandled(Exception):
    """This provider event (provider + reference) was handled before."""


class RebateTaken(Exception):
    """A rebate this order counted on was taken by another order paid first."""


class MonthAlreadyCredited(Exception):
    """A dues month of the credit has a ledger entry already (paid through another order)."""


class DynamoPaymentStore(DynamoRepository):
    def __init__(self, table_name: str, participants: ParticipantRepository, dynamodb: Any | None = None) -> None:
        super().__init__(table_name, dynamodb)
        self._participants = participants

    # -- orders ---------------------------------------------------------------

    def create_order(self, order: PaymentOrder, now: datetime) -> None:
        pointer = {
            "pk": f"PARTICIPANT#{order.participant_id}",
            "sk": _pointer_sk(order.months),
            "entity": "open_order",
            "order_id": order.order_id,
            "payable_until": order.payable_until.isoformat(),
            # Useless once the order can no longer be paid: TTL removes it a day later.
            "expires_at": int((order.payable_until + timedelta(days=1)).timestamp()),
        }
        items = [
            self._put(_order_item(order), "attribute_not_exists(pk)"),
            self.code_put(order.order_id, order.payment_code, order.payable_until, now),
            {"Put": {"TableName": self._table, "Item": to_item(pointer)}},
        ]
        reasons = self._transact(items)
        if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
            raise PaymentCodeTaken()
        if reasons:
            raise VersionConflict(f"order {order.order_id}")

    def code_put(self, order_id: str, payment_code: str, payable_until: datetime, now: datetime) -> dict[str, Any]:
        """The transaction item claiming ``payment_code`` for an order: refused while another
        order it names can still be paid (PaymentCodeTaken for the caller to draw again)."""
        code = {
            "pk": f"PAYCODE#{payment_code}",
            "sk": "CODE",
            "entity": "payment_code",
            "order_id": order_id,
            "payable_until": payable_until.isoformat(),
            "expires_at": int((payable_until + PAYCODE_RETENTION).timestamp()),
        }
        return {
            "Put": {
                "TableName": self._table,
                "Item": to_item(code),
                "ConditionExpression": "attribute_not_exists(pk) OR payable_until < :now",
                "ExpressionAttributeValues": {":now": {"S": now.isoformat()}},
            }
        }

    def get_order(self, order_id: str) -> PaymentOrder | BulkOrder | None:
        item = self._get({"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}})
        if not item:
            return None
        data = from_item(item)
        # A payer's bulk order shares the order keys, so any callback finds it by id or code.
        return BulkOrder.model_validate(data) if data.get("kind") == "bulk" else PaymentOrder.model_validate(data)

    def order_id_for_code(self, payment_code: str) -> str | None:
        item = self._get({"pk": {"S": f"PAYCODE#{payment_code}"}, "sk": {"S": "CODE"}})
        return str(from_item(item)["order_id"]) if item else None

    def open_order_for(self, participant_id: str, months: Sequence[str]) -> str | None:
        item = self._get({"pk": {"S": f"PARTICIPANT#{participant_id}"}, "sk": {"S": _pointer_sk(months)}})
        return str(from_item(item)["order_id"]) if item else None

    # -- ledger ---------------------------------------------------------------

    def contributions(
        self, participant_id: str, limit: int, after: str | None
    ) -> tuple[list[ContributionEntry], str | None]:
        """The ledger newest first; ``after`` is the month the previous page ended with."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :dues)",
            "ExpressionAttributeValues": {":pk": {"S": f"PARTICIPANT#{participant_id}"}, ":dues": {"S": "DUES#"}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if after:
            kwargs["ExclusiveStartKey"] = {"pk": {"S": f"PARTICIPANT#{participant_id}"}, "sk": {"S": f"DUES#{after}"}}
        page = self._query(**kwargs)
        entries = [ContributionEntry.model_validate(from_item(i)) for i in page.get("Items", [])]
        last = page.get("LastEvaluatedKey")
        return entries, (str(last["sk"]["S"]).removeprefix("DUES#") if last else None)

    # -- callbacks ------------------------------------------------------------

    def credit(
        self,
        order: PaymentOrder,
        read_order_version: int,
        participant: Participant,
        read_participant_version: int,
        entries: Sequence[ContributionEntry],
        received_key: str,
        events: Sequence[DomainEvent],
        recon: dict[str, Any] | None = None,
    ) -> None:
        """Everything a credited payment changes, in one transaction (the order's rebates are
        taken from their ledger entries, each once; ``recon`` notes it for a person)."""
        rebates = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {"pk": {"S": f"PARTICIPANT#{order.participant_id}"}, "sk": {"S": f"DUES#{r.month}"}},
                    "UpdateExpression": "SET rebate_order_id = :order",
                    "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(rebate_order_id)",
                    "ExpressionAttributeValues": {":order": {"S": order.order_id}},
                }
            }
            for r in order.rebates
        ]
        entry_puts = [self._put(entry_item(e), "attribute_not_exists(pk)") for e in entries]
        notes = [self._put(recon, "attribute_not_exists(pk)")] if recon is not None else []
        reasons = self._settle(
            order,
            read_order_version,
            participant,
            read_participant_version,
            received_key,
            [*entry_puts, *rebates, *notes],
            events,
        )
        if not reasons:
            return
        changes = reasons[3:]
        if "ConditionalCheckFailed" in changes[: len(entry_puts)]:
            raise MonthAlreadyCredited()
        if "ConditionalCheckFailed" in changes[len(entry_puts) : len(entry_puts) + len(rebates)]:
            raise RebateTaken()
        raise VersionConflict(f"order {order.order_id}")

    def reverse(
        self,
        order: PaymentOrder,
        read_order_version: int,
        participant: Participant,
        read_participant_version: int,
        entries: Sequence[ContributionEntry],
        received_key: str,
        events: Sequence[DomainEvent],
    ) -> None:
        """Take credited months back: each ledger entry moves to ``REVERSED#<month>#<reference>``
        (kept for the record; the month can be paid again), with the participant and the order."""
        moves: list[dict[str, Any]] = []
        for entry in entries:
            moves.append(
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": {"pk": {"S": f"PARTICIPANT#{entry.participant_id}"}, "sk": {"S": f"DUES#{entry.month}"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                }
            )
            # Off the payer's statement: a reversed month was not paid.
            kept = {k: v for k, v in entry_item(entry).items() if k not in ("gsi4pk", "gsi4sk")}
            reversed_item = {
                **kept,
                "sk": f"REVERSED#{entry.month}#{received_key}",
                "entity": "reversed_contribution",
            }
            moves.append(self._put(reversed_item, "attribute_not_exists(pk)"))
        if self._settle(order, read_order_version, participant, read_participant_version, received_key, moves, events):
            raise VersionConflict(f"order {order.order_id}")

    def _settle(
        self,
        order: PaymentOrder,
        read_order_version: int,
        participant: Participant,
        read_participant_version: int,
        received_key: str,
        changes: Sequence[dict[str, Any]],
        events: Sequence[DomainEvent],
    ) -> list[str]:
        """One transaction for a callback that changes money: the order and the participant on
        the versions read, the received-event item, ``changes`` (ledger items), the events.
        AlreadyHandled when the event was handled before; else the cancellation reasons (empty
        when it committed), ``changes`` from index 3."""
        items = [
            self._order_update(order, read_order_version),
            self._participants.replace_item(
                participant.model_copy(update={"version": read_participant_version + 1}), read_participant_version
            ),
            self.received_put(received_key),
            *changes,
            *(self._participants.outbox_item(e) for e in events),
        ]
        reasons = self._transact(items)
        if reasons and reasons[2] == "ConditionalCheckFailed":
            raise AlreadyHandled()
        return reasons

    def ledger_range(self, participant_id: str, first: str, last: str) -> list[ContributionEntry]:
        """The ledger entries from month ``first`` to ``last`` (one Query, paged)."""
        entries: list[ContributionEntry] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :first AND :last",
            "ExpressionAttributeValues": {
                ":pk": {"S": f"PARTICIPANT#{participant_id}"},
                ":first": {"S": f"DUES#{first}"},
                ":last": {"S": f"DUES#{last}"},
            },
        }
        while True:
            page = self._query(**kwargs)
            entries += [ContributionEntry.model_validate(from_item(i)) for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return entries
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def record(
        self, order: PaymentOrder, read_order_version: int, received_key: str, recon: dict[str, Any] | None
    ) -> None:
        """A callback that credits nothing: noted on the order (and for a person, if ``recon``)."""
        items = [self._order_update(order, read_order_version), self.received_put(received_key)]
        if recon is not None:
            items.append(self._put(recon, "attribute_not_exists(pk)"))
        reasons = self._transact(items)
        if not reasons:
            return
        if reasons[1] == "ConditionalCheckFailed":
            raise AlreadyHandled()
        raise VersionConflict(f"order {order.order_id}")

    # -- reconciliation -------------------------------------------------------

    def reconciliation(self, state: str, limit: int, after: str | None) -> tuple[list[ReconciliationItem], str | None]:
        """Open (or resolved) items, oldest first: one Query on their partition."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"RECON#{state}"}},
            "Limit": limit,
        }
        if after:
            kwargs["ExclusiveStartKey"] = {"pk": {"S": f"RECON#{state}"}, "sk": {"S": after}}
        page = self._query(**kwargs)
        items = [ReconciliationItem.model_validate(from_item(i)) for i in page.get("Items", [])]
        last = page.get("LastEvaluatedKey")
        return items, (str(last["sk"]["S"]) if last else None)

    def get_reconciliation(self, item_id: str) -> ReconciliationItem | None:
        item = self._get({"pk": {"S": "RECON#open"}, "sk": {"S": item_id}})
        return ReconciliationItem.model_validate(from_item(item)) if item else None

    def resolve(self, item: ReconciliationItem) -> None:
        """Move an open item to resolved with its note; VersionConflict if it is no longer open."""
        items = [
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": {"pk": {"S": "RECON#open"}, "sk": {"S": item.item_id}},
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
            self._put(_recon_item(item, "resolved"), "attribute_not_exists(pk)"),
        ]
        if self._transact(items):
            raise VersionConflict(f"reconciliation item {item.item_id}")

    def was_handled(self, received_key: str) -> bool:
        return self._get({"pk": {"S": f"RECEIVED#{received_key}"}, "sk": {"S": "CALLBACK"}}) is not None

    # -- plumbing -------------------------------------------------------------

    def _order_update(self, order: PaymentOrder, read_version: int) -> dict[str, Any]:
        stored = order.model_copy(update={"version": read_version + 1})
        return {
            "Put": {
                "TableName": self._table,
                "Item": to_item(_order_item(stored)),
                "ConditionExpression": "version = :read",
                "ExpressionAttributeValues": {":read": {"N": str(read_version)}},
            }
        }

    def received_put(self, received_key: str) -> dict[str, Any]:
        item = {
            "pk": f"RECEIVED#{received_key}",
            "sk": "CALLBACK",
            "entity": "received_callback",
            "expires_at": int(time.time()) + RECEIVED_RETENTION_SECONDS,
        }
        return self._put(item, "attribute_not_exists(pk)")


def _pointer_sk(months: Sequence[str]) -> str:
    return f"OPENORDER#{months[0]}#{months[-1]}"


def _order_item(order: PaymentOrder) -> dict[str, Any]:
    return {"pk": f"ORDER#{order.order_id}", "sk": "ORDER", "entity": "payment_order", **order.model_dump(mode="json")}


def recon_item(item: ReconciliationItem) -> dict[str, Any]:
    return _recon_item(item, "open")


def _recon_item(item: ReconciliationItem, state: str) -> dict[str, Any]:
    return {
        "pk": f"RECON#{state}",
        "sk": item.item_id,
        "entity": "reconciliation",
        **item.model_dump(mode="json", exclude_none=True),
    }


def entry_item(entry: ContributionEntry) -> dict[str, Any]:
    item = {
        "pk": f"PARTICIPANT#{entry.participant_id}",
        "sk": f"DUES#{entry.month}",
        "entity": "contribution",
        **entry.model_dump(mode="json", exclude_none=True),
    }
    if entry.payer_type != "self" and entry.payer_id:
        # A month a sponsor or a local government paid: on its statement for that month.
        item["gsi4pk"] = statement_partition(entry.payer_id, entry.month)
        item["gsi4sk"] = entry.participant_id
    return item


def statement_partition(payer_id: str, month: str) -> str:
    """The by_payer_month index partition of the months ``payer_id`` paid for dues month ``month``."""
    return f"PAYERDUES#{payer_id}#{month}"

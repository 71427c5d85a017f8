"""moto's TransactWriteItems rolled back by a journal of the items it touches.

moto backs up every table a transaction names with a whole-table ``copy.deepcopy`` before it
writes, so each transaction costs time in proportion to the table's size (DynamoDB's does not),
and a rollback puts back the whole table, losing what other threads wrote meanwhile. Here the
transaction keeps the tables as they are and journals only the items it names (at most 100) and
the length of each table's stream; a cancelled transaction puts those items back and drops the
stream records its partial writes left. What a transaction does (applied, or cancelled with
its reasons) is unchanged: the original method still checks and writes every item.
"""

from __future__ import annotations

import copy as real_copy
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

_inside = threading.local()


def journaled(original: Callable[..., Any]) -> Callable[..., Any]:
    """A wrapper for ``DynamoDBBackend.transact_write_items`` (see the module's docstring)."""
    import moto.dynamodb.models as models
    from moto.dynamodb.models.table import Table

    def deepcopy(value: Any, memo: Any = None) -> Any:
        if getattr(_inside, "active", False) and isinstance(value, Table):
            return value  # the journal below is the backup
        return real_copy.deepcopy(value, memo)

    # Also used to copy an item before an update: that copy stays real.
    models.copy = SimpleNamespace(deepcopy=deepcopy, copy=real_copy.copy)  # type: ignore[attr-defined]  # moto's module-level `copy`

    def transact_write_items(backend: Any, transact_items: list[dict[str, Any]], *args: Any, **kwargs: Any) -> Any:
        journal = _Journal.of(backend, transact_items)
        _inside.active = True
        try:
            return original(backend, transact_items, *args, **kwargs)
        except Exception:
            journal.restore()
            raise
        finally:
            _inside.active = False

    transact_write_items.journaled = True  # type: ignore[attr-defined]  # read by install_for_process
    return transact_write_items


def install_for_process() -> None:
    """For a process that runs moto without the local runtime (the bench): patched once, for good."""
    from moto.dynamodb.models import DynamoDBBackend

    if not getattr(DynamoDBBackend.transact_write_items, "journaled", False):
        DynamoDBBackend.transact_write_items = journaled(DynamoDBBackend.transact_write_items)  # type: ignore[method-assign]  # for the whole process


class _Journal:
    def __init__(self) -> None:
        self.items: list[tuple[Any, Any, Any, Any]] = []  # (table, hash key, range key, item before)
        self.streams: dict[int, tuple[Any, int]] = {}  # id(table) -> (table, stream records before)

    @classmethod
    def of(cls, backend: Any, transact_items: list[dict[str, Any]]) -> _Journal:
        from moto.dynamodb.models.dynamo_type import DynamoType

        journal = cls()
        for entry in transact_items[:100]:  # moto refuses more before writing anything
            if not isinstance(entry, dict) or len(entry) != 1:
                continue
            (op,) = entry.values()
            table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            if table is None:
                continue
            key = op.get("Key") or op.get("Item") or {}
            if table.hash_key_attr not in key or (table.range_key_attr and table.range_key_attr not in key):
                continue  # moto rejects the transaction before writing
            try:
                hash_key = DynamoType(key[table.hash_key_attr])
                range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
                before = table.get_item(hash_key, range_key)
            except Exception:  # noqa: S112  # a malformed key: moto rejects it before writing it
                continue
            journal.items.append((table, hash_key, range_key, real_copy.deepcopy(before)))
            if table.stream_shard is not None and id(table) not in journal.streams:
                journal.streams[id(table)] = (table, len(table.stream_shard.items))
        return journal

    def restore(self) -> None:
        for table, hash_key, range_key, before in reversed(self.items):
            if range_key is None:
                if before is None:
                    table.items.pop(hash_key, None)
                else:
                    table.items[hash_key] = before
            elif before is None:
                table.items.get(hash_key, {}).pop(range_key, None)
            else:
                table.items[hash_key][range_key] = before
        for table, length in self.streams.values():
            if table.stream_shard is not None and len(table.stream_shard.items) >= length:
                del table.stream_shard.items[length:]

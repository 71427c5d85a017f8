"""Growth with table size: enrollment and lookup by NIK with 1,000 and with 100,000 participants
already in the participants table (profile item + NIK index item each, in the table's own item
format: clones of a real enrolled participant with the ids and the NIK's keyed hash replaced).

The first 1,000 go through moto's HTTP API (BatchWriteItem, 25 items a call); moto's HTTP path is
too slow for 100,000 in a few-minute bench, so the rest go straight into moto's in-process
backend (same items, without its per-item validation and without stream records: a bulk load is
not an enrollment). The garbage collector then freezes those objects: they live in this process
only because moto does, and would otherwise slow every later collection.
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import os
import time
from datetime import date
from typing import Any
from urllib.parse import quote

from bench.common import median, progress
from bench.stack import AUTH, Niks, Stack

SIZES = (1_000, 100_000)
SAMPLES = 100  # enrollments and lookups per phase
ROUNDS = 5  # phases per size, alternating small and large
WARMUP = 15
BATCH = 25


class Loader:
    def __init__(self, stack: Stack, template_participant_id: str) -> None:
        from moto.dynamodb.models import dynamodb_backends

        from local_runtime.cloud import ACCOUNT, REGION

        self._stack = stack
        self.table_name = os.environ["PARTICIPANTS_TABLE"]
        self._table = dynamodb_backends[ACCOUNT][REGION].get_table(self.table_name)
        secret_arn = os.environ["NIK_HMAC_SECRET_ARN"]
        secret = stack.runtime.cloud.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
        self._hmac_key = str(secret).encode()
        self.niks = Niks(date(1960, 1, 1))  # disjoint from the bench's enrollments (born 1985 on)
        self.loaded = 0
        self._bulk: list[Any] = []  # items put straight into the backend (detach/attach)
        self._template_id = template_participant_id
        self._profile = stack.meter._stored(
            self.table_name, {"pk": {"S": f"PARTICIPANT#{template_participant_id}"}, "sk": {"S": "PROFILE"}}
        )
        self._template_hash = self._profile["nik_hash"]["S"]
        self._nik_item = stack.meter._stored(
            self.table_name, {"pk": {"S": f"NIK#{self._template_hash}"}, "sk": {"S": "NIK"}}
        )
        assert self._profile and self._nik_item, "the template participant is not in the table"

    def nik_hash(self, nik: str) -> str:
        return hmac.new(self._hmac_key, nik.encode(), hashlib.sha256).hexdigest()

    def participant_id(self, index: int) -> str:
        return f"PST-L{index:011d}"  # L is not in the id alphabet: never collides with a real id

    def items(self, index: int) -> list[dict[str, Any]]:
        nik, _ = self.niks.nik_at(index)
        replace = {self._template_id: self.participant_id(index), self._template_hash: self.nik_hash(nik)}
        return [_substitute(self._profile, replace), _substitute(self._nik_item, replace)]

    def load_http(self, count: int) -> float:
        client = self._stack.runtime.cloud.client("dynamodb")
        started = time.perf_counter()
        pending: list[dict[str, Any]] = []
        for index in range(self.loaded, self.loaded + count):
            pending.extend({"PutRequest": {"Item": item}} for item in self.items(index))
        for start in range(0, len(pending), BATCH):
            requests = {self.table_name: pending[start : start + BATCH]}
            while requests:
                requests = client.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}
        self.loaded += count
        return time.perf_counter() - started

    def load_backend(self, count: int) -> float:
        from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

        table = self._table
        started = time.perf_counter()
        stream, table.stream_shard = table.stream_shard, None
        try:
            for index in range(self.loaded, self.loaded + count):
                for attrs in self.items(index):
                    item = Item.__new__(Item)
                    item.hash_key = DynamoType(attrs["pk"])
                    item.range_key = DynamoType(attrs["sk"])
                    stored = LimitedSizeDict.__new__(LimitedSizeDict)
                    dict.__init__(stored)
                    for name, value in attrs.items():
                        dict.__setitem__(stored, name, DynamoType(value))
                    item.attrs = stored
                    table.items[item.hash_key][item.range_key] = item
                    self._bulk.append(item)
        finally:
            table.stream_shard = stream
        self.loaded += count
        return time.perf_counter() - started

    def detach(self) -> None:
        """Take the bulk-loaded items out of the table (kept in memory to put back)."""
        for item in self._bulk:
            self._table.items[item.hash_key].pop(item.range_key, None)
            if not self._table.items[item.hash_key]:
                del self._table.items[item.hash_key]

    def attach(self) -> None:
        for item in self._bulk:
            self._table.items[item.hash_key][item.range_key] = item

    def participants(self) -> int:
        """Participant profiles in the table right now (loaded and enrolled)."""
        return sum(1 for hash_key in self._table.items if str(hash_key.value).startswith("PARTICIPANT#"))


def _substitute(item: dict[str, Any], replace: dict[str, str]) -> dict[str, Any]:
    out = {}
    for name, value in item.items():
        if "S" in value:
            text = value["S"]
            for old, new in replace.items():
                text = text.replace(old, new)
            out[name] = {"S": text}
        else:
            out[name] = value
    return out


def _requests(stack: Stack, loader: Loader, count: int, offset: int, population: int) -> tuple[list[Any], list[Any]]:
    meter = stack.meter
    enroll_runs, lookup_runs = [], []
    for _ in range(count):
        with meter.recording() as tally:
            status, payload, _ = stack.enroll()
        assert status == 201, payload
        enroll_runs.append((tally.of("enroll"), stack.wall["enroll"], stack.cpu["enroll"]))
    for i in range(offset, offset + count):
        index = (i * 7919) % population  # spread over the whole loaded range
        nik, _ = loader.niks.nik_at(index)
        with meter.recording() as tally:
            status, payload = stack.call("GET", f"/v1/participants?nik={quote(nik)}", None, AUTH)
        assert status == 200 and payload["participant_id"] == loader.participant_id(index), payload
        lookup_runs.append((tally.of("enroll"), stack.wall["enroll"], stack.cpu["enroll"]))
    return enroll_runs, lookup_runs


def _figures(runs: list[Any]) -> dict[str, Any]:
    counts = runs[0][0].counts()
    return {
        "samples": len(runs),
        "calls": counts,
        "call_count": sum(counts.values()),
        "calls_identical_across_samples": all(t.counts() == counts for t, _, _ in runs),
        "dynamodb_rru": round(sum(t.rru for t, _, _ in runs) / len(runs), 3),
        "dynamodb_wru": round(sum(t.wru for t, _, _ in runs) / len(runs), 3),
        "items_read": round(sum(t.items_read for t, _, _ in runs) / len(runs), 3),
        "handler_cpu_ms": round(median([(c - t.meter_cpu) * 1000 for t, _, c in runs]), 3),
        "handler_ms_excl_aws": round(median([(w - t.aws_seconds - t.meter_seconds) * 1000 for t, w, _ in runs]), 3),
        "handler_ms_on_moto": round(median([w * 1000 for _, w, _ in runs]), 3),
        "scans": sum(t.counts().get("DynamoDB.Scan", 0) for t, _, _ in runs),
    }


def _phase(stack: Stack, loader: Loader, population: int, phase: int) -> dict[str, Any]:
    """A warm-up, then SAMPLES enrollments and SAMPLES lookups of loaded participants."""
    _requests(stack, loader, WARMUP, offset=50_000 + phase * WARMUP, population=population)
    # As timeit does: no garbage collection while timing. moto's threads allocate in this process
    # too, and a collection lands on whichever thread happens to allocate next, handler or not.
    gc.collect()
    gc.disable()
    try:
        enroll, lookup = _requests(stack, loader, SAMPLES, offset=phase * SAMPLES, population=population)
    finally:
        gc.enable()
    return {"participants": loader.participants(), "enroll": _figures(enroll), "lookup": _figures(lookup)}


def _combine(phases: list[dict[str, Any]], size: int) -> dict[str, Any]:
    """Per size: the phases' best median times (other processes only ever add time); counts must agree."""
    out: dict[str, Any] = {"participants": size, "participants_in_table": [p["participants"] for p in phases]}
    for op in ("enroll", "lookup"):
        runs = [p[op] for p in phases]
        best = dict(runs[0])
        for metric in ("handler_cpu_ms", "handler_ms_excl_aws", "handler_ms_on_moto"):
            best[metric] = min(r[metric] for r in runs)
        for metric in ("dynamodb_rru", "dynamodb_wru", "items_read"):
            best[metric] = max(r[metric] for r in runs)
        best["samples"] = sum(r["samples"] for r in runs)
        best["calls_identical_across_samples"] = all(
            r["calls_identical_across_samples"] and r["calls"] == runs[0]["calls"] for r in runs
        )
        best["scans"] = sum(r["scans"] for r in runs)
        out[op] = {**best, "phases": runs}
    return out


def measure(stack: Stack, template_participant_id: str) -> dict[str, Any]:
    loader = Loader(stack, template_participant_id)
    small, large = SIZES
    progress(f"growth: loading {small:,} participants through moto's HTTP API (BatchWriteItem)")
    http_seconds = loader.load_http(small)
    http_rate = 2 * small / http_seconds
    phases: dict[int, list[dict[str, Any]]] = {small: [], large: []}
    progress(f"growth: warming up at {small:,} participants")
    _phase(stack, loader, small, 0)
    progress(f"growth: loading {large - small:,} more straight into moto's backend")
    backend_seconds = loader.load_backend(large - small)
    gc.collect()
    gc.freeze()
    try:
        # Alternating sizes (A B A B ...) so drift on a busy machine cannot pass for growth. Every
        # phase runs after the bulk load, with the same objects in this process (at the small size
        # they are only taken out of the table): a phase before it would compare process memory,
        # not table size.
        for round_ in range(ROUNDS):
            loader.detach()
            progress(f"growth: measuring at {small:,} participants ({round_ + 1}/{ROUNDS})")
            phases[small].append(_phase(stack, loader, small, 2 * round_ + 1))
            loader.attach()
            progress(f"growth: measuring at {large:,} participants ({round_ + 1}/{ROUNDS})")
            phases[large].append(_phase(stack, loader, large, 2 * round_ + 2))
    finally:
        gc.unfreeze()
    at_small, at_large = _combine(phases[small], small), _combine(phases[large], large)
    ratios = {}
    for op in ("enroll", "lookup"):
        for metric in ("call_count", "dynamodb_rru", "dynamodb_wru", "items_read", "handler_cpu_ms"):
            a, b = at_small[op][metric], at_large[op][metric]
            ratios[f"{op}.{metric}"] = round(b / a, 3) if a else (1.0 if b == a else float("inf"))
    return {
        "sizes": [at_small, at_large],
        "ratios_large_to_small": ratios,
        "loading": {
            "http_items": 2 * small,
            "http_seconds": round(http_seconds, 2),
            "http_items_per_second": round(http_rate),
            "http_estimate_for_large_seconds": round(2 * large / http_rate),
            "backend_items": 2 * (large - small),
            "backend_seconds": round(backend_seconds, 2),
            "note": f"first {small:,} participants through moto's HTTP API, the other {large - small:,} "
            "straight into moto's in-process backend (HTTP would take the estimate above)",
        },
        "note": "calls, request units and items read per request come from the calls themselves; handler "
        "time is the median CPU time of the thread running the handler (its own code and botocore's client "
        "work; moto answers on other threads), which a busy machine disturbs less than wall time, best of the "
        "phases at each size (measured alternately: small, large, small, large, ...); wall time excluding the "
        "AWS calls is shown too",
    }

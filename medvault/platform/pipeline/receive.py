"""Receive one (site, date) drop: account for every file, keep raw copies, quarantine what is bad.

For each file under `<site>/<date>/` of a drop store: check the drop convention, hash it, skip it when
this exact content was already received, identify its source system and version, then either copy it
to the raw zone (status received) or to quarantine with a reason. One bad file never stops the others.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from dataclasses import dataclass, field, replace

import duckdb

from medvault.platform.drops.layout import (
    DROP_DONE_MARKER,
    DropLayoutError,
    is_marker,
    is_partial,
    parse_drop_key,
)
from medvault.platform.ingest.faults import FileFault
from medvault.platform.ingest.identify import identify
from medvault.platform.pipeline import manifest
from medvault.platform.pipeline.zones import QuarantineZone, RawZone, Reason, local_file, sha256_file
from medvault.platform.rules.models import Rules
from medvault.platform.stores.base import ObjectStore, StoredObject, StoreError

log = logging.getLogger(__name__)


@dataclass
class ReceiveSummary:
    site: str
    date: str
    files_seen: int = 0
    pending: int = 0
    unchanged: int = 0
    received: int = 0
    quarantined: int = 0
    superseded: int = 0
    by_table: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)

    def as_metadata(self) -> dict:
        return {
            "files_seen": self.files_seen,
            "files_pending": self.pending,
            "files_unchanged": self.unchanged,
            "files_received": self.received,
            "files_quarantined": self.quarantined,
            "files_superseded": self.superseded,
            "received_by_table": dict(sorted(self.by_table.items())),
            "quarantine_reasons": dict(sorted(self.reasons.items())),
        }


def receive_partition(
    con: duckdb.DuckDBPyConnection,
    store: ObjectStore,
    store_name: str,
    raw: RawZone,
    quarantine: QuarantineZone,
    rules: Rules,
    site: str,
    date: str,
    run_id: str | None = None,
    ready: dict[str, str] | None = None,
    settle_seconds: float = 60.0,
    now: float | None = None,
) -> ReceiveSummary:
    """Receive the stable files of `<site>/<date>/` on one store.

    A file is taken when its upload is complete: the folder has `_DONE`, or `<file>.done` exists, or
    it is in `ready` (key -> version, what the sensor saw stable) at that version, or it has not
    changed for `settle_seconds` (runs launched without a sensor: backfills, manual runs). Anything
    else is left for a later run and counted as pending.
    """
    receiver = _Receiver(con, store, store_name, raw, quarantine, rules, site, date, run_id)
    objects = list(store.list_objects(f"{site}/{date}"))
    names = {o.key for o in objects}
    folder_done = f"{site}/{date}/{DROP_DONE_MARKER}" in names
    now = time.time() if now is None else now
    for obj in objects:
        name = obj.key.rsplit("/", 1)[-1]
        if is_marker(name) or is_partial(name):
            continue
        complete = (
            folder_done
            or obj.key + ".done" in names
            or (ready is not None and ready.get(obj.key) == obj.version)
            or now - obj.mtime >= settle_seconds
        )
        if not complete:
            receiver.summary.pending += 1
            continue
        receiver.summary.files_seen += 1
        receiver.receive(obj)
    return receiver.summary


@dataclass
class _Receiver:
    """One partition on one store; `known` mirrors the partition's manifest rows as they are written."""

    con: duckdb.DuckDBPyConnection
    store: ObjectStore
    store_name: str
    raw: RawZone
    quarantine: QuarantineZone
    rules: Rules
    site: str
    date: str
    run_id: str | None

    def __post_init__(self) -> None:
        self.summary = ReceiveSummary(self.site, self.date)
        self.known = {
            (e.store, e.key, e.sha256): e for e in manifest.partition_entries(self.con, self.site, self.date)
        }

    def receive(self, obj: StoredObject) -> None:
        key = display_key(obj.key)
        layout_fault: tuple[str, str] | None = None
        if key != obj.key:
            layout_fault = ("bad_file_name", f"{key!r}: the file name is not valid UTF-8")
        else:
            try:
                parse_drop_key(key)
            except DropLayoutError as exc:
                layout_fault = (exc.code, str(exc))
        try:
            with local_file(self.store, obj.key) as path:
                self._accept(obj, key, path, layout_fault)
        except StoreError:
            if layout_fault is None:
                if self.store.stat(obj.key) is None:
                    return  # removed since it was listed: nothing to account for
                raise  # the store failed (network, outage): the run fails and the file is tried again, never lost
            # A key the store refuses to read (unsafe or undecodable name): record the name once, without a copy.
            if (self.store_name, key, "") in self.known:
                self.summary.unchanged += 1
                return
            self._reject(obj, key, None, "", *layout_fault)

    def _accept(self, obj: StoredObject, key: str, path, layout_fault: tuple[str, str] | None) -> None:
        sha = sha256_file(path)
        known = self.known.get((self.store_name, key, sha))
        if known is not None:
            if known.status == "superseded":  # an older version dropped again on the same store wins again
                self._supersede(key, sha)
                manifest.reactivate(self.con, self.site, self.date, self.store_name, key, sha)
                self._set_status(self.store_name, key, sha, "received")
                self.summary.received += 1
                self.summary.by_table[f"{known.system}.{known.source_table}"] += 1
            else:
                self.summary.unchanged += 1
            return
        if layout_fault is not None:
            self._reject(obj, key, path, sha, *layout_fault)
            return
        # the same bytes already active under another name, or through another store: load them once
        twin = next(
            (
                e
                for (st, k, s), e in self.known.items()
                if s == sha and (st, k) != (self.store_name, key) and e.status in manifest.ACTIVE
            ),
            None,
        )
        if twin is not None:
            if twin.key == key:  # this store's file now matches another store's: its old version goes
                self._supersede(key, sha)
            where = f" from {twin.store}" if twin.store != self.store_name else ""
            message = f"{key!r} has the same bytes as {twin.key!r}{where}, already received"
            self._reject(obj, key, path, sha, "duplicate_content", message)
            return
        name = key.rsplit("/", 1)[-1]
        try:
            verdict = identify(path, name, self.rules)
        except FileFault as fault:
            self._reject(obj, key, path, sha, fault.code, fault.message, fault.row, fault.column)
            return
        raw_key = self.raw.put(path, self.site, self.date, verdict.system, verdict.version, sha, name)
        self._supersede(key, sha)
        manifest.record(
            self.con,
            site=self.site,
            date=self.date,
            store=self.store_name,
            key=key,
            sha256=sha,
            size=obj.size,
            status="received",
            run_id=self.run_id,
            system=verdict.system,
            version=verdict.version,
            source_table=verdict.table,
            raw_path=raw_key,
        )
        self.known[(self.store_name, key, sha)] = manifest.ManifestEntry(
            self.site,
            self.date,
            self.store_name,
            key,
            sha,
            obj.size,
            verdict.system,
            verdict.version,
            verdict.table,
            "received",
            raw_key,
        )
        self.summary.received += 1
        self.summary.by_table[f"{verdict.system}.{verdict.table}"] += 1

    def _reject(self, obj, key, path, sha: str, code: str, message: str, row=None, column=None) -> None:
        # unread files have no content hash: their quarantine entry is named by the original key instead
        tag = sha or hashlib.sha256(obj.key.encode("utf-8", "surrogateescape")).hexdigest()
        manifest.record_quarantined(
            self.con,
            self.quarantine,
            path,
            site=self.site,
            date=self.date,
            store=self.store_name,
            key=key,
            sha256=sha,
            size=obj.size,
            run_id=self.run_id,
            tag=tag,
            reason=Reason(code=code, message=message, file=key, row=row, column=column),
        )
        self.known[(self.store_name, key, sha)] = manifest.ManifestEntry(
            self.site, self.date, self.store_name, key, sha, obj.size, None, None, None, "quarantined", None
        )
        self.summary.quarantined += 1
        self.summary.reasons[code] += 1
        log.warning("quarantined %s: %s", key, code)

    def _set_status(self, store: str, key: str, sha: str, status: str) -> None:
        self.known[(store, key, sha)] = replace(self.known[(store, key, sha)], status=status)

    def _supersede(self, key: str, sha: str) -> None:
        """Earlier active versions of `key` on this store become superseded (in the table and in `known`)."""
        self.summary.superseded += manifest.supersede_others(
            self.con, self.site, self.date, key, sha, self.store_name
        )
        for (st, k, s), entry in list(self.known.items()):
            if st == self.store_name and k == key and s != sha and entry.status in manifest.ACTIVE:
                self._set_status(st, k, s, "superseded")


def display_key(key: str) -> str:
    """The key as valid UTF-8 text (a non-UTF-8 file name arrives with surrogate escapes)."""
    return key.encode("utf-8", "surrogateescape").decode("utf-8", "replace")

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


def display_key(key: str) -> str:
    """The key as valid UTF-8 text (a non-UTF-8 file name arrives with surrogate escapes)."""
    return key.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


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
    summary = ReceiveSummary(site, date)
    known = {(e.store, e.key, e.sha256): e for e in manifest.partition_entries(con, site, date)}
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
            summary.pending += 1
            continue
        summary.files_seen += 1
        _receive_one(con, store, store_name, raw, quarantine, rules, site, date, obj, known, summary, run_id)
    return summary


def _set_status(known: dict, store: str, key: str, sha: str, status: str) -> None:
    """Keep the in-memory view of the partition's manifest in step with what was just written."""
    if (store, key, sha) in known:
        known[(store, key, sha)] = replace(known[(store, key, sha)], status=status)


def _supersede(con, known: dict, site: str, date: str, key: str, sha: str, store: str) -> int:
    n = manifest.supersede_others(con, site, date, key, sha, store)
    for (st, k, s), entry in list(known.items()):
        if st == store and k == key and s != sha and entry.status in manifest.ACTIVE:
            _set_status(known, st, k, s, "superseded")
    return n


def _receive_one(
    con, store, store_name, raw, quarantine, rules, site, date, obj: StoredObject, known, summary, run_id
):
    key = display_key(obj.key)
    name = key.rsplit("/", 1)[-1]
    layout_fault: tuple[str, str] | None = None
    if key != obj.key:
        layout_fault = ("bad_file_name", f"{key!r}: the file name is not valid UTF-8")
    else:
        try:
            parse_drop_key(key)
        except DropLayoutError as exc:
            layout_fault = (exc.code, str(exc))

    def reject(
        path, sha: str, code: str, message: str, row: int | None = None, column: str | None = None
    ) -> None:
        reason = Reason(code=code, message=message, file=key, row=row, column=column)
        # unread files have no content hash: name their quarantine entry by the original key instead
        tag = sha or hashlib.sha256(obj.key.encode("utf-8", "surrogateescape")).hexdigest()
        qkey = quarantine.put(path, site, date, tag, name, reason)
        manifest.record(
            con,
            site=site,
            date=date,
            store=store_name,
            key=key,
            sha256=sha,
            size=obj.size,
            status="quarantined",
            run_id=run_id,
            quarantine_path=qkey,
            reason_code=code,
            reason=message,
        )
        known[(store_name, key, sha)] = manifest.ManifestEntry(
            site, date, store_name, key, sha, obj.size, None, None, None, "quarantined", None
        )
        summary.quarantined += 1
        summary.reasons[code] += 1
        log.warning("quarantined %s: %s", key, code)

    try:
        with local_file(store, obj.key) as path:
            _accept(
                con,
                raw,
                rules,
                site,
                date,
                key,
                name,
                path,
                obj,
                known,
                summary,
                run_id,
                store_name,
                layout_fault,
                reject,
            )
    except StoreError:
        if layout_fault is None:
            if store.stat(obj.key) is None:
                return  # removed since it was listed: nothing to account for
            raise  # the store failed (network, outage): the run fails and the file is tried again, never lost
        # A key the store refuses to read (unsafe or undecodable name): record the name once, without a copy.
        if (store_name, key, "") in known:
            summary.unchanged += 1
            return
        reject(None, "", *layout_fault)


def _accept(
    con,
    raw,
    rules,
    site,
    date,
    key,
    name,
    path,
    obj,
    known,
    summary,
    run_id,
    store_name,
    layout_fault,
    reject,
) -> None:
    sha = sha256_file(path)
    if (store_name, key, sha) in known:
        if known[(store_name, key, sha)].status == "superseded":
            # an older version dropped again on the same store wins again
            summary.superseded += _supersede(con, known, site, date, key, sha, store_name)
            manifest.reactivate(con, site, date, store_name, key, sha)
            _set_status(known, store_name, key, sha, "received")
            summary.received += 1
            entry = known[(store_name, key, sha)]
            summary.by_table[f"{entry.system}.{entry.source_table}"] += 1
        else:
            summary.unchanged += 1
        return
    if layout_fault is not None:
        reject(path, sha, *layout_fault)
        return
    # the same bytes already active under another name, or through another store: load them once
    twin = next(
        (
            e
            for (st, k, s), e in known.items()
            if s == sha and (st, k) != (store_name, key) and e.status in manifest.ACTIVE
        ),
        None,
    )
    if twin is not None:
        if (
            twin.key == key
        ):  # this store's file now matches what another store delivered: its old version goes
            summary.superseded += _supersede(con, known, site, date, key, sha, store_name)
        where = f" from {twin.store}" if twin.store != store_name else ""
        message = f"{key!r} has the same bytes as {twin.key!r}{where}, already received"
        reject(path, sha, "duplicate_content", message)
        return
    try:
        verdict = identify(path, name, rules)
    except FileFault as fault:
        reject(path, sha, fault.code, fault.message, fault.row, fault.column)
        return
    raw_key = raw.put(path, site, date, verdict.system, verdict.version, sha, name)
    summary.superseded += _supersede(con, known, site, date, key, sha, store_name)
    manifest.record(
        con,
        site=site,
        date=date,
        store=store_name,
        key=key,
        sha256=sha,
        size=obj.size,
        status="received",
        run_id=run_id,
        system=verdict.system,
        version=verdict.version,
        source_table=verdict.table,
        raw_path=raw_key,
    )
    known[(store_name, key, sha)] = manifest.ManifestEntry(
        site,
        date,
        store_name,
        key,
        sha,
        obj.size,
        verdict.system,
        verdict.version,
        verdict.table,
        "received",
        raw_key,
    )
    summary.received += 1
    summary.by_table[f"{verdict.system}.{verdict.table}"] += 1

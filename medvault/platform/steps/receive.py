"""Receive one (site, date) drop: account for every file, keep raw copies, quarantine what is bad.

Two phases, so the warehouse is held only for the short part:

1. `fetch` (no warehouse): list `<site>/<date>/` on each store, take the files whose upload is complete,
   copy each ONCE into the lake's landing area, hash and identify the copy (and parse DICOM headers),
   and save the list as the landing. A file rewritten at the source meanwhile cannot make the kept
   bytes differ from their hash.
2. `record` (one warehouse transaction): per landed file, decide from the ledger: unchanged content is
   a no-op, a superseded version dropped again is re-activated (staging then keeps whichever version's
   rows are newer), the same bytes already active under
   another name are a `duplicate_content`, a layout or identification fault is quarantined, and
   anything else moves to the raw zone as `received`, superseding the key's earlier version.

One bad file never stops the others; one unreachable store never stops the other stores.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from medvault.platform.dicom.headers import HeaderStore, parse
from medvault.platform.drops.archive import ArchiveFault, expand, is_archive, is_index
from medvault.platform.drops.layout import (
    DROP_DONE_MARKER,
    DropLayoutError,
    display_key,
    is_marker,
    is_partial,
    parse_drop_key,
)
from medvault.platform.ingest.faults import FileFault
from medvault.platform.ingest.identify import identify
from medvault.platform.ledger import QUARANTINED, RECEIVED, SUPERSEDED, FileEntry, FileRef, Ledger
from medvault.platform.redact import safe_error
from medvault.platform.results import CheckOutcome
from medvault.platform.steps.context import StepContext
from medvault.platform.stores.base import ObjectStore, StoredObject, StoreError
from medvault.platform.stores.local import LocalStore
from medvault.platform.warehouse import transaction
from medvault.platform.zones import LandedFile, Landing, Reason, local_file, sha256_file

CHECK = "files_accepted"  # warns when a receive quarantined files


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


@dataclass
class ReceiveResult:
    """The partition's receive over every store it read; `errors` names the stores that failed."""

    by_store: dict[str, ReceiveSummary]
    errors: dict[str, str]

    def totals(self) -> dict[str, int]:
        keys = ("files_seen", "files_pending", "files_received", "files_quarantined", "files_unchanged")
        keys += ("files_superseded",)
        metas = [s.as_metadata() for s in self.by_store.values()]
        return {k: sum(m[k] for m in metas) for k in keys}

    def check(self) -> CheckOutcome:
        """A warning when this receive quarantined files, with the counts by reason."""
        reasons: Counter = Counter()
        for summary in self.by_store.values():
            reasons.update(summary.reasons)
        quarantined = sum(reasons.values())
        return CheckOutcome(
            CHECK,
            ("raw", "drops"),
            passed=quarantined == 0,
            warn=True,
            metadata={"files_quarantined": quarantined, "quarantine_reasons": dict(sorted(reasons.items()))},
        )


def _layout_fault(obj: StoredObject, key: str) -> list | None:
    if obj.kind != "file":  # checked from the listing: a named pipe would hang the reader
        return ["not_a_regular_file", f"{key!r} is a {obj.kind}, not a regular file; it was not read"]
    if key != obj.key:
        return ["bad_file_name", f"{key!r}: the file name is not valid UTF-8"]
    try:
        parse_drop_key(key)
    except DropLayoutError as exc:
        return [exc.code, str(exc)]
    return None


def complete_files(
    objects: list[StoredObject],
    site: str,
    date: str,
    ready: dict[str, str] | None,
    settle_seconds: float,
    now: float,
) -> tuple[list[StoredObject], int]:
    """The data files whose upload is complete, and how many are still being written.

    Complete: the folder has `_DONE`, or `<file>.done` exists, or the sensor saw this version stable
    (`ready`: key -> version), or it has not changed for `settle_seconds` (backfills, manual runs)."""
    names = {o.key for o in objects}
    folder_done = f"{site}/{date}/{DROP_DONE_MARKER}" in names
    complete, pending = [], 0
    for obj in objects:
        if is_marker(obj.name) or is_partial(obj.name):
            continue
        if (
            folder_done
            or obj.key + ".done" in names
            or (ready is not None and ready.get(obj.key) == obj.version)
            or now - obj.mtime >= settle_seconds
        ):
            complete.append(obj)
        else:
            pending += 1
    return complete, pending


class _Fetcher:
    """Copies one store's complete files into the landing area, hashing and identifying the copies."""

    def __init__(self, ctx: StepContext, landing: Landing, store_name: str, store: ObjectStore, tmp: Path):
        self.ctx, self.landing, self.store_name, self.store, self.tmp = ctx, landing, store_name, store, tmp
        self.headers: dict[str, dict] = {}

    def fetch(self, obj: StoredObject, n: int) -> list[LandedFile]:
        """The landed file, or an archive's members (its envelope is not a file of the drop); [] when
        the object was removed since it was listed."""
        key = display_key(obj.key)
        landed = LandedFile(key=key, store_key=obj.key, size=obj.size, layout_fault=_layout_fault(obj, key))
        name = key.rsplit("/", 1)[-1]
        site, date = self.ctx.partition
        dest = self.ctx.landing.copy_key(site, date, self.landing.landing_id, self.store_name, n, name)
        if obj.kind != "file":
            return [landed]  # recorded by name, never opened
        try:
            path = self._copy(obj.key, dest)
        except StoreError:
            if landed.layout_fault is None:
                if self.store.stat(obj.key) is None:
                    return []  # removed since it was listed: nothing to account for
                raise  # the store failed (network, outage): the run fails, the file is tried again, never lost
            return [landed]  # a key the store refuses to read (unsafe or undecodable name): recorded by name
        landed.landed = dest
        landed.sha256 = sha256_file(path)
        if landed.layout_fault is None and name.lower().endswith(".zip") and is_archive(path):
            return self._open_archive(landed, path, n)
        self._identify(landed, path, name)
        return [landed]

    def _identify(self, landed: LandedFile, path: Path, name: str) -> None:
        try:
            verdict = identify(path, name, self.ctx.rules)
        except FileFault as fault:
            landed.fault = {
                "code": fault.code,
                "message": fault.message,
                "row": fault.row,
                "column": fault.column,
            }
        else:
            landed.verdict = {"system": verdict.system, "version": verdict.version, "table": verdict.table}
            if verdict.format == "dicom":
                self.headers[landed.sha256] = parse(path, name, self.ctx.rules.dicom_tags)

    def _open_archive(self, archive: LandedFile, path: Path, n: int) -> list[LandedFile]:
        """Each member as a landed file keyed `<archive key>/<member path>`; a refused archive is one
        file with its fault (quarantined whole, nothing of it loaded)."""
        site, date = self.ctx.partition
        folder = self.tmp / f"archive-{n:06d}"
        try:
            members = expand(path, archive.key, folder, self.ctx.settings.archive_limits)
        except ArchiveFault as fault:
            archive.fault = {"code": fault.code, "message": fault.message, "row": None, "column": None}
            return [archive]
        out = []
        for m, member in enumerate(members):
            if is_index(member):
                continue
            key = f"{archive.key}/{member.path}"
            landed = LandedFile(key=key, store_key=f"{archive.store_key}/{member.path}", size=member.size)
            if member.missing:
                message = f"{key!r} is listed by the upload's DICOMDIR but is not in {archive.key!r}"
                landed.layout_fault = ["missing_member", message]
                out.append(landed)
                continue
            member_name = member.path.rsplit("/", 1)[-1]
            dest = self.ctx.landing.copy_key(
                site, date, self.landing.landing_id, self.store_name, n, f"{m:06d}_{member_name}"
            )
            self.ctx.lake.upload(member.local, dest)
            landed.landed = dest
            landed.sha256 = sha256_file(member.local)
            self._identify(landed, member.local, member_name)
            out.append(landed)
            member.local.unlink()
        self.ctx.lake.delete(archive.landed)  # the envelope: its members are kept instead
        return out

    def _copy(self, key: str, dest: str) -> Path:
        """One copy of the drop object into the landing area; returns a local path to those bytes."""
        lake = self.ctx.lake
        if isinstance(lake, LocalStore):
            return self.store.download(key, lake.local_path(dest))
        path = self.store.download(key, self.tmp / Path(dest).name)
        lake.upload(path, dest)
        return path


def fetch(
    ctx: StepContext,
    stores: Iterable[tuple[str, ObjectStore | None]],
    landing_id: str,
    ready: dict[str, str] | None = None,
    settle_seconds: float | None = None,
    now: float | None = None,
) -> Landing:
    """Phase 1 (no warehouse): land every complete file of the partition from each store and save the
    landing. `stores` pairs names with open stores (None: open it from the settings)."""
    site, date = ctx.partition
    settle = ctx.settings.settle_seconds if settle_seconds is None else settle_seconds
    now = time.time() if now is None else now
    landing = Landing(site, date, landing_id)
    headers: dict[str, dict] = {}
    for name, store in stores:
        try:
            with (
                store or ctx.stores.drops(name) as opened,
                tempfile.TemporaryDirectory(prefix="medvault-") as tmp,
            ):
                objects = list(opened.list_objects(f"{site}/{date}"))
                complete, landing.pending[name] = complete_files(objects, site, date, ready, settle, now)
                fetcher = _Fetcher(ctx, landing, name, opened, Path(tmp))
                files = landing.stores.setdefault(name, [])
                for n, obj in enumerate(complete):
                    files.extend(fetcher.fetch(obj, n))
                headers.update(fetcher.headers)
        except StoreError as exc:
            landing.errors[name] = safe_error(exc)
            ctx.log.error(f"{name}: {landing.errors[name]}")
    HeaderStore(ctx.lake).save(site, date, landing_id, headers)
    ctx.landing.save(landing)
    return landing


class _Recorder:
    """Phase 2 for one store's landed files, inside the partition's transaction."""

    def __init__(self, ctx: StepContext, ledger: Ledger, store_name: str, summary: ReceiveSummary):
        self.ctx, self.ledger, self.store_name, self.summary = ctx, ledger, store_name, summary

    def record(self, f: LandedFile) -> None:
        site, date = self.ctx.partition
        files = self.ledger.files
        ref = FileRef(site, date, self.store_name, f.key, f.sha256)
        self.summary.files_seen += 1
        if f.landed is None:  # an unreadable key: its name is recorded once, without a copy
            if files.get(ref) is not None:
                self.summary.unchanged += 1
            else:
                self._reject(f, ref, *f.layout_fault)
            return
        known = files.get(ref)
        if known is not None:
            if known.status == SUPERSEDED:  # an older version dropped again on the same store wins again
                self.summary.superseded += files.supersede_others(ref, self.ctx.run_id)
                files.reactivate(ref, self.ctx.run_id)
                self.summary.received += 1
                self.summary.by_table[f"{known.system}.{known.source_table}"] += 1
            else:
                self.summary.unchanged += 1
            return
        if f.layout_fault is not None:
            self._reject(f, ref, *f.layout_fault)
            return
        twin = files.twin(ref)  # the same bytes already active under another name or store: load them once
        if twin is not None:
            if twin.key == f.key:  # this store's file now matches another store's: its old version goes
                self.summary.superseded += files.supersede_others(ref, self.ctx.run_id)
            where = f" from {twin.store}" if twin.store != self.store_name else ""
            message = f"{f.key!r} has the same bytes as {twin.key!r}{where}, already received"
            self._reject(f, ref, "duplicate_content", message)
            return
        if f.fault is not None:
            self._reject(
                f, ref, f.fault["code"], f.fault["message"], f.fault.get("row"), f.fault.get("column")
            )
            return
        v, name = f.verdict, f.key.rsplit("/", 1)[-1]
        raw_key = self.ctx.raw.adopt(f.landed, site, date, v["system"], v["version"], f.sha256, name)
        self.summary.superseded += files.supersede_others(ref, self.ctx.run_id)
        files.add(
            FileEntry(*_ref_fields(ref), f.size, v["system"], v["version"], v["table"], RECEIVED, raw_key),
            self.ctx.run_id,
        )
        self.summary.received += 1
        self.summary.by_table[f"{v['system']}.{v['table']}"] += 1

    def _reject(self, f: LandedFile, ref: FileRef, code: str, message: str, row=None, column=None) -> None:
        site, date = self.ctx.partition
        # unread files have no content hash: their quarantine entry is named by the original key instead
        tag = f.sha256 or hashlib.sha256(f.store_key.encode("utf-8", "surrogateescape")).hexdigest()
        reason = Reason(code=code, message=message, file=f.key, row=row, column=column)
        name = f.key.rsplit("/", 1)[-1]
        if f.landed is None:
            qkey = self.ctx.quarantine.put(None, site, date, tag, name, reason)
        else:
            with local_file(self.ctx.lake, f.landed) as path:
                qkey = self.ctx.quarantine.put(path, site, date, tag, name, reason)
        self.ledger.files.add(
            FileEntry(*_ref_fields(ref), f.size, None, None, None, QUARANTINED, None),
            self.ctx.run_id,
            reason_code=code,
            reason=message,
            quarantine_path=qkey,
        )
        self.summary.quarantined += 1
        self.summary.reasons[code] += 1
        self.ctx.log.warning(f"quarantined {f.key}: {code}")


def _ref_fields(ref: FileRef) -> tuple:
    return ref.site, ref.date, ref.store, ref.key, ref.sha256


def record(ctx: StepContext, landing: Landing) -> ReceiveResult:
    """Phase 2 (one warehouse transaction): account for every landed file in the ledger."""
    site, date = ctx.partition
    by_store = {}
    with ctx.connect() as con, transaction(con):
        ledger = Ledger(con)
        for name, files in landing.stores.items():
            summary = by_store[name] = ReceiveSummary(site, date, pending=landing.pending.get(name, 0))
            recorder = _Recorder(ctx, ledger, name, summary)
            for f in files:
                recorder.record(f)
    for name in landing.errors:
        by_store.pop(name, None)
    ctx.landing.discard(landing)
    return ReceiveResult(by_store, dict(landing.errors))


def receive(
    ctx: StepContext,
    store: ObjectStore,
    store_name: str,
    ready: dict[str, str] | None = None,
    settle_seconds: float | None = None,
    now: float | None = None,
) -> ReceiveSummary:
    """Both phases for one open store (tests, benchmarks, scripts); a store failure raises StoreError
    after the files fetched before it are recorded."""
    landing = fetch(ctx, [(store_name, _Unclosed(store))], ctx.run_id or "manual", ready, settle_seconds, now)
    result = record(ctx, landing)
    if landing.errors:
        raise StoreError(landing.errors[store_name])
    return result.by_store[store_name]


class _Unclosed:
    """Lends a caller's open store to `fetch` without closing it."""

    def __init__(self, store: ObjectStore):
        self.store = store

    def __enter__(self) -> ObjectStore:
        return self.store

    def __exit__(self, *exc) -> None:
        pass

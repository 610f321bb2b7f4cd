"""The file manifest and its history: one current row per file content, one event per status change.

Every change goes through `_transition`, which appends the change to `ops.file_events` (from, to, reason,
run) and updates the current row in the same transaction, so a file's history is never lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd

from medvault.platform.ledger.statuses import ACTIVE, LOADED, QUARANTINED, RECEIVED, SUPERSEDED
from medvault.platform.warehouse import transaction


@dataclass(frozen=True)
class FileRef:
    """A file's identity: the same name through two stores is two files; new bytes are a new version."""

    site: str
    date: str
    store: str
    key: str
    sha256: str


@dataclass(frozen=True)
class FileEntry(FileRef):
    """A manifest row as the steps need it: the file's identity, then what is known of it."""

    size: int
    system: str | None
    version: str | None
    source_table: str | None
    status: str
    raw_path: str | None

    @property
    def ref(self) -> FileRef:
        """The identity alone (a FileEntry also is one; this drops the rest for comparisons and logs)."""
        return FileRef(self.site, self.date, self.store, self.key, self.sha256)

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class QuarantinedFile:
    """A quarantined file as `medvault quarantine list` shows it; `id` is short and stable."""

    id: str
    site: str
    date: str
    store: str
    key: str
    sha256: str
    size: int
    system: str | None
    version: str | None
    source_table: str | None
    reason_code: str
    reason: str
    quarantine_path: str | None
    since: object

    @property
    def ref(self) -> FileRef:
        return FileRef(self.site, self.date, self.store, self.key, self.sha256)


# a quarantined file's id: 12 hex digits of its identity, stable across runs and machines
FILE_ID_SQL = "substr(sha256(site || '|' || CAST(date AS VARCHAR) || '|' || store || '|' || key || '|' || sha256), 1, 12)"


@dataclass(frozen=True)
class RowCounts:
    received: int
    loaded: int
    rejected: int


_COLUMNS = (
    "site, CAST(date AS VARCHAR), store, key, sha256, size, system, version, source_table, status, raw_path"
)
_REF_WHERE = "site = ? AND date = ? AND store = ? AND key = ? AND sha256 = ?"


def _ref_params(ref: FileRef) -> list:
    return [ref.site, ref.date, ref.store, ref.key, ref.sha256]


class FileLedger:
    """`ops.file_manifest` + `ops.file_events` behind a small API."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    # -- reads --------------------------------------------------------------------------------------
    def partition(self, site: str, date: str) -> list[FileEntry]:
        rows = self.con.execute(
            f"SELECT {_COLUMNS} FROM ops.file_manifest WHERE site = ? AND date = ? ORDER BY key, received_at",
            [site, date],
        ).fetchall()
        return [FileEntry(*row) for row in rows]

    def active(self, site: str, date: str, system: str, source_table: str) -> list[FileEntry]:
        rows = self.con.execute(
            f"""SELECT {_COLUMNS} FROM ops.file_manifest
                WHERE site = ? AND date = ? AND system = ? AND source_table = ? AND status IN (?, ?)
                ORDER BY key""",
            [site, date, system, source_table, *ACTIVE],
        ).fetchall()
        return [FileEntry(*row) for row in rows]

    def images(self, site: str, date: str, system: str) -> list[tuple[FileEntry, str | None, str | None]]:
        """The partition's image files for the delivery pipeline, each with its quarantine reason code and
        reason (None when loaded): files of the DICOM system, and files named as images that were
        quarantined before being identified (a text file named .dcm)."""
        rows = self.con.execute(
            f"""SELECT {_COLUMNS}, reason_code, reason FROM ops.file_manifest
                WHERE site = ? AND date = ? AND status IN (?, ?)
                  AND (system = ? OR (status = ? AND regexp_matches(lower(key), '\\.(dcm|dicom)$')))
                ORDER BY key""",
            [site, date, LOADED, QUARANTINED, system, QUARANTINED],
        ).fetchall()
        return [(FileEntry(*row[:-2]), row[-2], row[-1]) for row in rows]

    def daily_counts(self) -> list[tuple]:
        """(site, date, files, received, loaded, quarantined, superseded) per drop partition: the pipeline's
        health as the dashboard shows it."""
        counts = ", ".join(
            f"count(*) FILTER (WHERE status = '{s}')" for s in (RECEIVED, LOADED, QUARANTINED, SUPERSEDED)
        )
        return self.con.execute(
            f"SELECT site, date, count(*), {counts} FROM ops.file_manifest GROUP BY site, date ORDER BY site, date"
        ).fetchall()

    def freshness(self) -> list[tuple]:
        """(site, newest drop date, last file received at) per site."""
        return self.con.execute(
            "SELECT site, max(date), max(received_at) FROM ops.file_manifest GROUP BY site ORDER BY site"
        ).fetchall()

    def get(self, ref: FileRef) -> FileEntry | None:
        row = self.con.execute(
            f"SELECT {_COLUMNS} FROM ops.file_manifest WHERE {_REF_WHERE}", _ref_params(ref)
        ).fetchone()
        return FileEntry(*row) if row else None

    def twin(self, ref: FileRef) -> FileEntry | None:
        """An active file of the partition with the same bytes under another name or through another store."""
        row = self.con.execute(
            f"""SELECT {_COLUMNS} FROM ops.file_manifest
                WHERE site = ? AND date = ? AND sha256 = ? AND NOT (store = ? AND key = ?) AND status IN (?, ?)
                ORDER BY received_at, key LIMIT 1""",
            [ref.site, ref.date, ref.sha256, ref.store, ref.key, *ACTIVE],
        ).fetchone()
        return FileEntry(*row) if row else None

    def in_quarantine(self, site: str | None = None, reason_code: str | None = None) -> list[QuarantinedFile]:
        where, params = ["status = ?"], [QUARANTINED]
        if site:
            where.append("site = ?")
            params.append(site)
        if reason_code:
            where.append("reason_code = ?")
            params.append(reason_code)
        rows = self.con.execute(
            f"""SELECT {FILE_ID_SQL}, site, CAST(date AS VARCHAR), store, key, sha256, size, system, version,
                       source_table, reason_code, reason, quarantine_path, updated_at
                FROM ops.file_manifest WHERE {" AND ".join(where)} ORDER BY site, date, key""",
            params,
        ).fetchall()
        return [QuarantinedFile(*row) for row in rows]

    def by_id(self, file_id: str) -> QuarantinedFile | None:
        """A quarantined file by its id (or an unambiguous prefix of at least 6 digits)."""
        if len(file_id) < 6:
            return None
        found = [q for q in self.in_quarantine() if q.id.startswith(file_id.lower())]
        return found[0] if len(found) == 1 else None

    def history(self, ref: FileRef) -> list[tuple]:
        """(from, to, reason code, run id, time) of every change of one file, oldest first."""
        return self.con.execute(
            f"""SELECT from_status, to_status, reason_code, run_id, changed_at FROM ops.file_events
                WHERE {_REF_WHERE} ORDER BY changed_at, rowid""",
            _ref_params(ref),
        ).fetchall()

    def contains(self, site: str, store: str, key: str, sha256: str) -> bool:
        """Is this content of this key already recorded for the site (any date)?"""
        row = self.con.execute(
            "SELECT count(*) FROM ops.file_manifest WHERE site = ? AND store = ? AND key = ? AND sha256 = ?",
            [site, store, key, sha256],
        ).fetchone()
        return bool(row[0])

    # -- writes -------------------------------------------------------------------------------------
    def add(
        self,
        entry: FileEntry,
        run_id: str | None,
        *,
        reason_code: str | None = None,
        reason: str | None = None,
        quarantine_path: str | None = None,
    ) -> None:
        """A new content for a key (the caller has checked it is new), with its first event."""
        with transaction(self.con):
            self.con.execute(
                """INSERT INTO ops.file_manifest
                   (site, date, store, key, sha256, size, system, version, source_table, status, reason_code,
                    reason, raw_path, quarantine_path, run_id)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    entry.site,
                    entry.date,
                    entry.store,
                    entry.key,
                    entry.sha256,
                    entry.size,
                    entry.system,
                    entry.version,
                    entry.source_table,
                    entry.status,
                    reason_code,
                    reason,
                    entry.raw_path,
                    quarantine_path,
                    run_id,
                ],
            )
            self.con.execute(
                """INSERT INTO ops.file_events (site, date, store, key, sha256, from_status, to_status,
                       reason_code, reason, run_id)
                   VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)""",
                [*_ref_params(entry.ref), entry.status, reason_code, reason, run_id],
            )

    def loaded(self, ref: FileRef, rows: RowCounts, run_id: str | None, content_modified=None) -> None:
        """Loaded with its counts; `content_modified` is the newest modified time among its rows (what
        decides between two versions of the file, whatever order they arrived in)."""
        self._transition(
            _REF_WHERE,
            _ref_params(ref),
            LOADED,
            run_id,
            sets="rows_received = ?, rows_loaded = ?, rows_rejected = ?, content_modified = ?, "
            "reason_code = NULL, reason = NULL",
            set_params=[rows.received, rows.loaded, rows.rejected, content_modified],
        )

    def newer_version(self, ref: FileRef, content_modified) -> FileEntry | None:
        """A superseded version of the same file whose rows are newer than `content_modified`: the
        version to keep (the one given is a replay or an older extract arriving late)."""
        row = self.con.execute(
            f"""SELECT {_COLUMNS} FROM ops.file_manifest
                WHERE site = ? AND date = ? AND store = ? AND key = ? AND sha256 <> ? AND status = ?
                  AND content_modified > ? ORDER BY content_modified DESC, received_at DESC LIMIT 1""",
            [*_ref_params(ref), SUPERSEDED, content_modified],
        ).fetchone()
        return FileEntry(*row) if row else None

    def outdated(self, ref: FileRef, newer: FileRef, run_id: str | None) -> None:
        """This version is older than `newer` by its rows' modified times: superseded by it again."""
        reason = f"its rows are older than those of version sha256 {newer.sha256[:16]} of {ref.key}"
        self._transition(
            _REF_WHERE + " AND status IN (?, ?)",
            [*_ref_params(ref), *ACTIVE],
            SUPERSEDED,
            run_id,
            sets="reason_code = 'superseded', reason = ?",
            set_params=[reason],
            reason_code="superseded",
            reason=reason,
        )

    def loaded_many(self, refs: Sequence[FileRef], run_id: str | None) -> None:
        """Single-row files (DICOM images) loaded in one set-based change, matched on the exact content;
        only active files change (a file quarantined meanwhile stays quarantined)."""
        if not refs:
            return
        frame = pd.DataFrame(
            [_ref_params(r) for r in refs], columns=["site", "date", "store", "key", "sha256"]
        )
        name = f"_mv_refs_{uuid.uuid4().hex}"
        self.con.register(name, frame)
        try:
            self._transition(
                f"""status IN (?, ?) AND EXISTS (SELECT 1 FROM {name} r WHERE r.site = file_manifest.site
                    AND CAST(r.date AS DATE) = file_manifest.date AND r.store = file_manifest.store
                    AND r.key = file_manifest.key AND r.sha256 = file_manifest.sha256)""",
                [*ACTIVE],
                LOADED,
                run_id,
                sets="rows_received = 1, rows_loaded = 1, rows_rejected = 0, reason_code = NULL, reason = NULL",
            )
        finally:
            self.con.unregister(name)

    def quarantined(
        self, ref: FileRef, reason_code: str, reason: str, quarantine_path: str, run_id: str | None
    ) -> None:
        self._transition(
            _REF_WHERE,
            _ref_params(ref),
            QUARANTINED,
            run_id,
            sets="reason_code = ?, reason = ?, quarantine_path = ?, rows_received = NULL, rows_loaded = NULL, "
            "rows_rejected = NULL",
            set_params=[reason_code, reason, quarantine_path],
            reason_code=reason_code,
            reason=reason,
        )

    def supersede_others(self, ref: FileRef, run_id: str | None) -> int:
        """Earlier active versions of the same name on the same store become superseded (the same name
        through two stores is two files, not two versions). Returns how many."""
        reason = f"replaced by a newer version of {ref.key} (sha256 {ref.sha256[:16]})"
        return self._transition(
            "site = ? AND date = ? AND key = ? AND sha256 <> ? AND store = ? AND status IN (?, ?)",
            [ref.site, ref.date, ref.key, ref.sha256, ref.store, *ACTIVE],
            SUPERSEDED,
            run_id,
            sets="reason_code = 'superseded', reason = ?",
            set_params=[reason],
            reason_code="superseded",
            reason=reason,
        )

    def reactivate(
        self, ref: FileRef, run_id: str | None, reason: str = "dropped again after a newer version"
    ) -> None:
        """A superseded version becomes the active one again (received, to be staged again)."""
        self._transition(
            _REF_WHERE + " AND status = ?",
            [*_ref_params(ref), SUPERSEDED],
            RECEIVED,
            run_id,
            sets="reason_code = NULL, reason = NULL",
            reason_code="reactivated",
            reason=reason,
        )

    def release(
        self, ref: FileRef, system: str, version: str, table: str, raw_path: str, run_id: str | None
    ) -> None:
        """A quarantined file let back in (re-identified against the current rules): received again."""
        self._transition(
            _REF_WHERE + " AND status = ?",
            [*_ref_params(ref), QUARANTINED],
            RECEIVED,
            run_id,
            sets="system = ?, version = ?, source_table = ?, raw_path = ?, reason_code = NULL, reason = NULL",
            set_params=[system, version, table, raw_path],
            reason_code="released",
            reason="released from quarantine and identified against the current rules",
        )

    def active_versions(self, ref: FileRef) -> list[FileEntry]:
        """Active files of the same name on the same store (another version of the file)."""
        rows = self.con.execute(
            f"""SELECT {_COLUMNS} FROM ops.file_manifest
                WHERE site = ? AND date = ? AND store = ? AND key = ? AND sha256 <> ? AND status IN (?, ?)""",
            [ref.site, ref.date, ref.store, ref.key, ref.sha256, *ACTIVE],
        ).fetchall()
        return [FileEntry(*row) for row in rows]

    def _transition(
        self,
        where: str,
        params: list,
        to_status: str,
        run_id: str | None,
        *,
        sets: str = "",
        set_params: Sequence = (),
        reason_code: str | None = None,
        reason: str | None = None,
    ) -> int:
        """Append an event for every row matching `where`, then update those rows; returns how many."""
        with transaction(self.con):
            self.con.execute(
                f"""INSERT INTO ops.file_events (site, date, store, key, sha256, from_status, to_status,
                        reason_code, reason, run_id)
                    SELECT site, date, store, key, sha256, status, ?, ?, ?, ? FROM ops.file_manifest
                    WHERE {where}""",
                [to_status, reason_code, reason, run_id, *params],
            )
            extra = f", {sets}" if sets else ""
            rows = self.con.execute(
                f"""UPDATE ops.file_manifest SET status = ?, updated_at = current_timestamp{extra}
                    WHERE {where} RETURNING 1""",
                [to_status, *set_params, *params],
            ).fetchall()
        return len(rows)

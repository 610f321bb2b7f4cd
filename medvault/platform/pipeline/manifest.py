"""ops.file_manifest: every received file, once per content, with its fate and row counts.

Statuses: received (identified, raw copy kept) -> loaded | quarantined; an earlier version of a file
replaced under the same name becomes superseded. A file is *active* while received or loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

ACTIVE = ("received", "loaded")


@dataclass(frozen=True)
class ManifestEntry:
    site: str
    date: str
    store: str
    key: str
    sha256: str
    size: int
    system: str | None
    version: str | None
    source_table: str | None
    status: str
    raw_path: str | None


_COLUMNS = (
    "site, CAST(date AS VARCHAR), store, key, sha256, size, system, version, source_table, status, raw_path"
)


def _entries(rows) -> list[ManifestEntry]:
    return [ManifestEntry(*row) for row in rows]


def partition_entries(con: duckdb.DuckDBPyConnection, site: str, date: str) -> list[ManifestEntry]:
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM ops.file_manifest WHERE site = ? AND date = ? ORDER BY key, received_at",
        [site, date],
    ).fetchall()
    return _entries(rows)


def active_files(
    con: duckdb.DuckDBPyConnection, site: str, date: str, system: str, source_table: str
) -> list[ManifestEntry]:
    rows = con.execute(
        f"""SELECT {_COLUMNS} FROM ops.file_manifest
            WHERE site = ? AND date = ? AND system = ? AND source_table = ? AND status IN ('received', 'loaded')
            ORDER BY key""",
        [site, date, system, source_table],
    ).fetchall()
    return _entries(rows)


def record(
    con: duckdb.DuckDBPyConnection,
    *,
    site: str,
    date: str,
    store: str,
    key: str,
    sha256: str,
    size: int,
    status: str,
    run_id: str | None,
    system: str | None = None,
    version: str | None = None,
    source_table: str | None = None,
    raw_path: str | None = None,
    quarantine_path: str | None = None,
    reason_code: str | None = None,
    reason: str | None = None,
) -> None:
    """Insert a new manifest row (the caller has checked this content is new for the key)."""
    con.execute(
        """INSERT INTO ops.file_manifest
           (site, date, store, key, sha256, size, system, version, source_table, status, reason_code, reason,
            raw_path, quarantine_path, run_id)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            site,
            date,
            store,
            key,
            sha256,
            size,
            system,
            version,
            source_table,
            status,
            reason_code,
            reason,
            raw_path,
            quarantine_path,
            run_id,
        ],
    )


def record_quarantined(
    con: duckdb.DuckDBPyConnection,
    quarantine,
    path,
    *,
    site: str,
    date: str,
    store: str,
    key: str,
    sha256: str,
    size: int,
    run_id: str | None,
    reason,
    tag: str | None = None,
) -> str:
    """Copy a file (None: not readable) to the quarantine zone with its reason and record it; return its
    quarantine key. `tag` names the quarantine entry when there is no content hash."""
    name = key.rsplit("/", 1)[-1]
    qkey = quarantine.put(path, site, date, tag or sha256, name, reason)
    record(
        con,
        site=site,
        date=date,
        store=store,
        key=key,
        sha256=sha256,
        size=size,
        status="quarantined",
        run_id=run_id,
        quarantine_path=qkey,
        reason_code=reason.code,
        reason=reason.message,
    )
    return qkey


def supersede_others(
    con: duckdb.DuckDBPyConnection, site: str, date: str, key: str, sha256: str, store: str
) -> int:
    """Mark earlier active versions of the same file name from the same store as superseded (the same
    name arriving through two stores is two files, not two versions)."""
    rows = con.execute(
        """UPDATE ops.file_manifest
           SET status = 'superseded', reason_code = 'superseded',
               reason = 'replaced by a newer version of ' || key || ' (sha256 ' || ? || ')',
               updated_at = current_timestamp
           WHERE site = ? AND date = ? AND key = ? AND sha256 <> ? AND store = ? AND status IN ('received', 'loaded')
           RETURNING sha256""",
        [sha256[:16], site, date, key, sha256, store],
    ).fetchall()
    return len(rows)


def reactivate(
    con: duckdb.DuckDBPyConnection, site: str, date: str, store: str, key: str, sha256: str
) -> None:
    """A superseded version dropped again becomes the active one (status received, to be re-staged)."""
    con.execute(
        """UPDATE ops.file_manifest SET status = 'received', reason_code = NULL, reason = NULL,
               updated_at = current_timestamp
           WHERE site = ? AND date = ? AND store = ? AND key = ? AND sha256 = ? AND status = 'superseded'""",
        [site, date, store, key, sha256],
    )


def mark_loaded(
    con: duckdb.DuckDBPyConnection,
    site: str,
    date: str,
    store: str,
    key: str,
    sha256: str,
    rows_received: int,
    rows_loaded: int,
    rows_rejected: int,
) -> None:
    con.execute(
        """UPDATE ops.file_manifest
           SET status = 'loaded', rows_received = ?, rows_loaded = ?, rows_rejected = ?, reason_code = NULL,
               reason = NULL, updated_at = current_timestamp
           WHERE site = ? AND date = ? AND store = ? AND key = ? AND sha256 = ?""",
        [rows_received, rows_loaded, rows_rejected, site, date, store, key, sha256],
    )


def mark_quarantined(
    con: duckdb.DuckDBPyConnection,
    site: str,
    date: str,
    store: str,
    key: str,
    sha256: str,
    reason_code: str,
    reason: str,
    quarantine_path: str,
) -> None:
    con.execute(
        """UPDATE ops.file_manifest
           SET status = 'quarantined', reason_code = ?, reason = ?, quarantine_path = ?,
               rows_received = NULL, rows_loaded = NULL, rows_rejected = NULL, updated_at = current_timestamp
           WHERE site = ? AND date = ? AND store = ? AND key = ? AND sha256 = ?""",
        [reason_code, reason, quarantine_path, site, date, store, key, sha256],
    )


def status_counts(
    con: duckdb.DuckDBPyConnection, site: str | None = None, date: str | None = None
) -> dict[str, int]:
    where, params = [], []
    if site:
        where.append("site = ?")
        params.append(site)
    if date:
        where.append("date = ?")
        params.append(date)
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    rows = con.execute(
        f"SELECT status, count(*) FROM ops.file_manifest {clause} GROUP BY status", params
    ).fetchall()
    return {status: n for status, n in rows}

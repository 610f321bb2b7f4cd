"""Stage one source table for one (site, date): load every active file of it, replace the slice atomically.

The staged slice is a pure function of the partition's active raw files, so rerunning a partition gives
the same rows. Good rows go to `staging.<system>__<table>`, bad rows to `ops.rejected_rows`, and each
file's manifest row gets its counts (rows received = loaded + rejected). A file-level fault found while
loading quarantines the file and the others still load.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import duckdb

from medvault.platform.ingest.faults import FileFault
from medvault.platform.ingest.load import load_file
from medvault.platform.pipeline import manifest
from medvault.platform.pipeline.zones import QuarantineZone, Reason, local_file
from medvault.platform.rules.models import SQL_TYPES, ColumnDef, Rules, SourceDef, TableDef
from medvault.platform.stores.base import ObjectStore
from medvault.platform.warehouse.db import quote_ident as q

log = logging.getLogger(__name__)

META_COLUMNS = (
    ("_extras", "JSON"),  # undeclared columns of the file, typed by inference (see docs/ingestion.md)
    ("_site", "VARCHAR"),
    ("_date", "DATE"),
    ("_sha256", "VARCHAR"),
    ("_source_key", "VARCHAR"),
    ("_version", "VARCHAR"),
    ("_row_number", "BIGINT"),
    ("_loaded_at", "TIMESTAMP"),
)


def staging_name(system: str, table: str) -> str:
    return f"{system}__{table}"


@dataclass
class StageSummary:
    system: str
    table: str
    site: str
    date: str
    files_loaded: int = 0
    files_quarantined: int = 0
    rows_received: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    children: dict[str, int] = field(default_factory=dict)
    extra_columns: dict[str, str] = field(default_factory=dict)
    reject_reasons: dict[str, int] = field(default_factory=dict)

    def as_metadata(self) -> dict:
        return {
            "files_loaded": self.files_loaded,
            "files_quarantined": self.files_quarantined,
            "rows_received": self.rows_received,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "child_rows": dict(self.children),
            "undeclared_columns": dict(self.extra_columns),
            "reject_reasons": dict(self.reject_reasons),
        }


def union_columns(defs: list[tuple[SourceDef, TableDef]]) -> list[ColumnDef]:
    """Canonical columns across every version of a table, in order of first declaration."""
    seen: dict[str, ColumnDef] = {}
    for _, table in defs:
        for col in table.columns:
            prior = seen.get(col.name)
            if prior is not None and prior.type != col.type:
                raise ValueError(
                    f"{table.name}.{col.name}: type {col.type} here but {prior.type} in another version"
                )
            seen.setdefault(col.name, col)
    return list(seen.values())


def _ensure_table(con: duckdb.DuckDBPyConnection, name: str, columns: list[tuple[str, str]]) -> None:
    """Create the staging table, or add columns a newer rule version declares (schema evolution)."""
    full = f"staging.{q(name)}"
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {full} ("
        + ", ".join(f"{q(c)} {t}" for c, t in [*columns, *META_COLUMNS])
        + ")"
    )
    existing = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'staging' AND table_name = ?",
            [name],
        ).fetchall()
    }
    for col, typ in [*columns, *META_COLUMNS]:
        if col not in existing:
            con.execute(f"ALTER TABLE {full} ADD COLUMN {q(col)} {typ}")


def _latest_view(
    con: duckdb.DuckDBPyConnection, name: str, key: tuple[str, ...], modified: str | None
) -> None:
    if not key:
        return
    order = ", ".join(
        [*([f"{q(modified)} DESC NULLS LAST"] if modified else []), "_date DESC", "_row_number DESC"]
    )
    con.execute(
        f"""CREATE OR REPLACE VIEW staging.{q(name + "__latest")} AS
            SELECT * EXCLUDE (_rn) FROM (
              SELECT *, row_number() OVER (PARTITION BY _site, {", ".join(q(k) for k in key)} ORDER BY {order}) AS _rn
              FROM staging.{q(name)}) WHERE _rn = 1"""
    )


def ensure_staging_tables(con: duckdb.DuckDBPyConnection, rules: Rules, system: str, table: str) -> None:
    defs = rules.staged_tables()[(system, table)]
    columns = union_columns(defs)
    _ensure_table(con, staging_name(system, table), [(c.name, SQL_TYPES[c.type]) for c in columns])
    _, newest = defs[-1]
    _latest_view(con, staging_name(system, table), newest.key, newest.modified)
    by_name = {c.name: c for c in columns}
    for child in newest.children:
        child_cols = [(k, SQL_TYPES[by_name[k].type]) for k in newest.key]
        child_cols += [("line_no", "INTEGER")] + [(c.name, SQL_TYPES[c.type]) for c in child.columns]
        _ensure_table(con, staging_name(system, child.name), child_cols)


def _insert_slice(
    con, target_table: str, temp: str, columns: list[str], types: dict[str, str], meta: list
) -> None:
    """Append a temp table's rows to a staging table, NULL for canonical columns this version lacks."""
    present = {r[0] for r in con.execute(f"DESCRIBE {q(temp)}").fetchall()}
    select = ", ".join(
        f"CAST({q(c)} AS {types[c]})" if c in present else f"CAST(NULL AS {types[c]})" for c in columns
    )
    extras = "_extras" if "_extras" in present else "CAST(NULL AS JSON)"
    con.execute(
        f"""INSERT INTO staging.{q(target_table)} ({", ".join(q(c) for c in columns)}, _extras, _site, _date,
                _sha256, _source_key, _version, _row_number, _loaded_at)
            SELECT {select}, {extras}, ?, CAST(? AS DATE), ?, ?, ?, _row_number, current_timestamp FROM {q(temp)}""",
        meta,
    )


def stage_table(
    con: duckdb.DuckDBPyConnection,
    rules: Rules,
    lake: ObjectStore,
    quarantine: QuarantineZone,
    system: str,
    table: str,
    site: str,
    date: str,
) -> StageSummary:
    summary = StageSummary(system, table, site, date)
    defs = rules.staged_tables()[(system, table)]
    ensure_staging_tables(con, rules, system, table)
    columns = union_columns(defs)
    types = {c.name: SQL_TYPES[c.type] for c in columns}
    loaded: list[tuple[manifest.ManifestEntry, str, SourceDef, TableDef, object]] = []
    faulted: list[tuple[manifest.ManifestEntry, FileFault, str]] = []
    for i, entry in enumerate(manifest.active_files(con, site, date, system, table)):
        source = rules.source(system, entry.version)
        tdef = source.table(table)
        temp = f"_mv_load_{i}"
        try:
            with local_file(lake, entry.raw_path) as path:
                result = load_file(con, path, source, tdef, temp, name=entry.key.rsplit("/", 1)[-1])
        except FileFault as fault:
            reason = Reason(fault.code, fault.message, entry.key, fault.row, fault.column)
            with local_file(lake, entry.raw_path) as path:
                qkey = quarantine.put(path, site, date, entry.sha256, entry.key.rsplit("/", 1)[-1], reason)
            faulted.append((entry, fault, qkey))  # its status changes with the slice, in one transaction
            continue
        loaded.append((entry, temp, source, tdef, result))

    name = staging_name(system, table)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM staging.{q(name)} WHERE _site = ? AND _date = ?", [site, date])
        newest = defs[-1][1]
        for child in newest.children:
            con.execute(
                f"DELETE FROM staging.{q(staging_name(system, child.name))} WHERE _site = ? AND _date = ?",
                [site, date],
            )
        con.execute(
            "DELETE FROM ops.rejected_rows WHERE site = ? AND date = ? AND source_table = ?",
            [site, date, f"{system}.{table}"],
        )
        for entry, fault, qkey in faulted:
            manifest.mark_quarantined(
                con, site, date, entry.store, entry.key, entry.sha256, fault.code, fault.message, qkey
            )
            summary.files_quarantined += 1
            log.warning("quarantined %s while staging: %s", entry.key, fault.code)
        for entry, temp, source, tdef, result in loaded:
            meta = [site, date, entry.sha256, entry.key, source.version]
            _insert_slice(con, name, temp, [c.name for c in columns], types, meta)
            for child in tdef.children:
                child_types = {k: types[k] for k in tdef.key} | {"line_no": "INTEGER"}
                child_types |= {c.name: SQL_TYPES[c.type] for c in child.columns}
                _insert_slice(
                    con,
                    staging_name(system, child.name),
                    f"{temp}__{child.name}",
                    list(child_types),
                    child_types,
                    meta,
                )
            con.execute(
                f"""INSERT INTO ops.rejected_rows (site, date, sha256, key, source_table, row_number, "column", value,
                        reason_code, reason)
                    SELECT ?, CAST(? AS DATE), ?, ?, ?, row_number, "column", value, reason_code, reason
                    FROM {q(temp + "__rejected")}""",
                [site, date, entry.sha256, entry.key, f"{system}.{table}"],
            )
            manifest.mark_loaded(
                con,
                site,
                date,
                entry.store,
                entry.key,
                entry.sha256,
                result.rows_received,
                result.rows_loaded,
                result.rows_rejected,
            )
            summary.files_loaded += 1
            summary.rows_received += result.rows_received
            summary.rows_loaded += result.rows_loaded
            summary.rows_rejected += result.rows_rejected
            for child_name, n in (result.children or {}).items():
                summary.children[child_name] = summary.children.get(child_name, 0) + n
            summary.extra_columns.update(result.extra_columns or {})
        if newest.modified:
            con.execute(
                f"""INSERT OR REPLACE INTO ops.watermarks (site, system, source_table, watermark, updated_at)
                    SELECT ?, ?, ?, max(CAST({q(newest.modified)} AS TIMESTAMP)), current_timestamp
                    FROM staging.{q(name)} WHERE _site = ?""",
                [site, system, table, site],
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        for _, temp, _, tdef, _ in loaded:
            for suffix in ["", "__rejected", *(f"__{c.name}" for c in tdef.children)]:
                con.execute(f"DROP TABLE IF EXISTS {q(temp + suffix)}")
    summary.reject_reasons = dict(
        con.execute(
            "SELECT reason_code, count(DISTINCT (sha256, row_number)) FROM ops.rejected_rows "
            "WHERE site = ? AND date = ? AND source_table = ? GROUP BY 1 ORDER BY 1",
            [site, date, f"{system}.{table}"],
        ).fetchall()
    )
    return summary

"""Stage source tables of one (site, date): load every active file of a table, replace its slice atomically.

The staged slice is a pure function of the partition's active raw files, so rerunning a partition gives
the same rows. Good rows go to `staging.<system>__<table>`, bad rows to `ops.rejected_rows`, and each
file's manifest row gets its counts (rows received = loaded + rejected). A file-level fault found while
loading quarantines the file and the others still load. Of two versions of one file, the one whose rows
are newer (by the table's modified column) is staged, whatever order they arrived in: a replayed or
late older extract is superseded again by the newer one. The checks (rows reconcile, key unique) and a
column profile are computed here, as data.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field, replace

import duckdb

from medvault.platform import stopping
from medvault.platform.ingest.faults import NOT_THE_FILES_FAULT, FileFault
from medvault.platform.ingest.load import LoadResult, drop_loaded, load_file
from medvault.platform.ingest.profile import profile
from medvault.platform.ledger import FileEntry, Ledger, LoadRecord, RowCounts
from medvault.platform.publish.staged import staged_key
from medvault.platform.redact import safe_error
from medvault.platform.results import StepResult, TableResult
from medvault.platform.rules.models import SQL_TYPES, SourceDef, TableDef
from medvault.platform.staging.checks import CHECK, asset_of, rows_accounted
from medvault.platform.staging.tables import (
    child_types,
    delete_slice,
    ensure_staging_tables,
    insert_slice,
    slice_rows,
    staging_name,
    staging_table,
    union_columns,
)
from medvault.platform.steps.context import StepContext
from medvault.platform.warehouse import quote_ident as q
from medvault.platform.warehouse import transaction
from medvault.platform.zones import Reason, local_file


@dataclass
class StageSummary:
    system: str
    table: str
    site: str
    date: str
    files_loaded: int = 0
    files_quarantined: int = 0
    files_outdated: int = 0  # versions received but older by their rows than one already loaded
    rows_received: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    children: dict[str, int] = field(default_factory=dict)
    extra_columns: dict[str, str] = field(default_factory=dict)
    reject_reasons: dict[str, int] = field(default_factory=dict)
    profile: dict[str, dict] = field(default_factory=dict)
    parquet_key: str = ""  # the slice's Parquet copy in the lake

    def as_metadata(self) -> dict:
        return {
            "parquet_key": self.parquet_key,
            "files_loaded": self.files_loaded,
            "files_quarantined": self.files_quarantined,
            "files_outdated": self.files_outdated,
            "rows_received": self.rows_received,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "child_rows": dict(self.children),
            "undeclared_columns": dict(self.extra_columns),
            "reject_reasons": dict(self.reject_reasons),
        }


@dataclass
class _Loaded:
    entry: FileEntry
    temp: str
    source: SourceDef
    tdef: TableDef
    result: LoadResult
    modified: object = None  # the newest modified time among its rows


class StepRefused(ValueError):
    """A request the stage step cannot serve as asked (the message says what to select instead)."""


def stage_table(ctx: StepContext, con: duckdb.DuckDBPyConnection, system: str, table: str) -> StageSummary:
    """Load every active file of one source table and replace the partition's slice in one transaction."""
    site, date = ctx.partition
    started = time.monotonic()
    ledger = Ledger(con)
    summary = StageSummary(system, table, site, date)
    defs = ctx.rules.staged_tables()[(system, table)]
    ensure_staging_tables(con, ctx.rules, system, table)
    types = {c.name: SQL_TYPES[c.type] for c in union_columns(defs)}
    loaded: list[_Loaded] = []
    faulted: list[tuple[FileEntry, FileFault, str]] = []
    outdated: list[tuple[FileEntry, FileEntry]] = []  # (a version older by its rows, the newer one kept)
    pending = list(ledger.files.active(site, date, system, table))
    seen = {e.ref for e in pending}
    for i in itertools.count():
        if not pending:
            break
        entry = pending.pop(0)
        source = ctx.rules.source(system, entry.version)
        tdef = source.table(table)
        temp = f"_mv_load_{i}"
        with local_file(ctx.lake, entry.raw_path) as path:
            try:
                result = _load_one(con, path, source, tdef, temp, entry.name, ctx.settings.rejected_values)
            except FileFault as fault:
                reason = Reason(fault.code, fault.message, entry.key, fault.row, fault.column)
                qkey = ctx.quarantine.put(path, site, date, entry.sha256, entry.name, reason)
                faulted.append((entry, fault, qkey))  # its status changes with the slice, in one transaction
                continue
        item = _Loaded(entry, temp, source, tdef, result, _content_modified(con, temp, tdef))
        newer = item.modified and ledger.files.newer_version(entry.ref, item.modified)
        if newer and newer.ref not in seen:  # a replay or a late older extract: the newer rows stay
            _drop_temps(con, item)
            outdated.append((entry, newer))
            pending.append(newer)
            seen.add(newer.ref)
            continue
        loaded.append(item)

    name = staging_name(system, table)
    newest = defs[-1][1]
    try:
        if loaded:
            view = "_mv_slice_profile"
            union = " UNION ALL BY NAME ".join(f"SELECT * FROM {q(item.temp)}" for item in loaded)
            con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {union}")
            summary.profile = profile(con, view, replace(newest, columns=tuple(union_columns(defs))))
            con.execute(f"DROP VIEW {view}")
        with transaction(con):
            delete_slice(con, name, site, date)
            for child in newest.children:
                delete_slice(con, staging_name(system, child.name), site, date)
            ledger.rejections.clear(site, date, system, table)
            for entry, fault, qkey in faulted:
                ledger.files.quarantined(entry.ref, fault.code, fault.message, qkey, ctx.run_id)
                summary.files_quarantined += 1
                ctx.log.warning(f"quarantined {entry.key} while staging: {fault.code}")
            for stale, newer in outdated:
                ledger.files.outdated(stale.ref, newer.ref, ctx.run_id)
                ledger.files.reactivate(
                    newer.ref, ctx.run_id, f"its rows are newer than version {stale.sha256[:16]}"
                )
                summary.files_outdated += 1
                ctx.log.info(f"kept the newer version of {stale.key}: the one received is older by its rows")
            for item in loaded:
                _insert(con, ledger, ctx, item, types, summary)
            if newest.modified:
                watermark = con.execute(
                    f"SELECT max(CAST({q(newest.modified)} AS TIMESTAMP)) FROM {staging_table(system, table)} "
                    "WHERE _site = ?",
                    [site],
                ).fetchone()[0]
                ledger.watermarks.set(site, system, table, watermark)
            ledger.audit.record(
                LoadRecord(
                    "stage",
                    f"staging.{name}",
                    summary.rows_loaded,
                    site,
                    date,
                    rows_in=summary.rows_received,
                    seconds=round(time.monotonic() - started, 3),
                ),
                ctx.run_id,
            )
    finally:
        for item in loaded:
            _drop_temps(con, item)
    summary.reject_reasons = ledger.rejections.reasons(site, date, system, table)
    summary.parquet_key = staged_key(name, site, date)  # written by the publish step (publish/staged.py)
    return summary


def _drop_temps(con, item: _Loaded) -> None:
    drop_loaded(con, item.temp, [c.name for c in item.tdef.children])


def _content_modified(con, temp: str, tdef: TableDef):
    """The newest modified time among a loaded file's rows (None when the table declares none)."""
    if not tdef.modified:
        return None
    return con.execute(f"SELECT max(CAST({q(tdef.modified)} AS TIMESTAMP)) FROM {q(temp)}").fetchone()[0]




def _load_one(
    con, path, source: SourceDef, tdef: TableDef, temp: str, name: str, rejected_values: str
) -> LoadResult:
    """load_file, with an unexpected SQL failure on this file made its own fault (`load_failed`): one
    file's problem never fails the other files of its table."""
    try:
        return load_file(con, path, source, tdef, temp, name=name, rejected_values=rejected_values)
    except NOT_THE_FILES_FAULT:
        raise
    except duckdb.Error as exc:
        raise FileFault(
            "load_failed", f"{name}: the loader failed on this file ({type(exc).__name__})"
        ) from exc


def _insert(con, ledger: Ledger, ctx: StepContext, item: _Loaded, types: dict, summary: StageSummary) -> None:
    site, date = ctx.partition
    entry, result, system = item.entry, item.result, summary.system
    meta = [site, date, entry.sha256, entry.key, item.source.version]
    insert_slice(con, staging_name(system, summary.table), item.temp, types, meta)
    for child in item.tdef.children:
        cols = child_types(types, item.tdef.key, child)
        insert_slice(con, staging_name(system, child.name), f"{item.temp}__{child.name}", cols, meta)
    ledger.rejections.add_from(item.temp + "__rejected", entry.ref, system, summary.table)
    counts = RowCounts(result.rows_received, result.rows_loaded, result.rows_rejected)
    ledger.files.loaded(entry.ref, counts, ctx.run_id, item.modified)
    summary.files_loaded += 1
    summary.rows_received += result.rows_received
    summary.rows_loaded += result.rows_loaded
    summary.rows_rejected += result.rows_rejected
    for child_name, n in (result.children or {}).items():
        summary.children[child_name] = summary.children.get(child_name, 0) + n
    summary.extra_columns.update(result.extra_columns or {})


def table_result(summary: StageSummary, newest: TableDef) -> list[TableResult]:
    """The table and its child extracts as materialized tables with their metadata."""
    meta = {k: v for k, v in summary.as_metadata().items() if not isinstance(v, dict)}
    meta |= {
        "reject_reasons": summary.reject_reasons,
        "undeclared_columns": summary.extra_columns,
        "profile": summary.profile,
    }
    meta["rows_in_slice"] = summary.rows_loaded
    out = [TableResult(asset_of(summary.system, summary.table), meta, summary.rows_loaded)]
    for c in newest.children:
        n = summary.children.get(c.name, 0)
        out.append(TableResult(asset_of(summary.system, c.name), {"rows_in_slice": n}, n))
    return out


def run(
    ctx: StepContext,
    tables: set[tuple[str, ...]],
    checks: set[tuple[tuple[str, ...], str]],
) -> StepResult:
    """Stage the requested tables (asset parts like ("staging", "<system>__<table>")) and compute the requested
    checks ((asset parts, check name)); a table that received nothing gets neither. A child extract is staged with its parent (one file, one
    transaction); asking for a child without its parent is refused. One broken table does not stop the
    others: its error is in `failures`."""
    result = StepResult()
    staged = ctx.rules.staged_tables()
    with ctx.connect() as con:
        for (system, table), defs in sorted(staged.items()):
            newest = defs[-1][1]
            parent = asset_of(system, table)
            family = {parent, *(asset_of(system, c.name) for c in newest.children)}
            checked = (parent, CHECK) in checks
            if not family & tables and not checked:
                continue
            if family & tables and parent not in tables:
                children = ", ".join("/".join(t) for t in sorted(family & tables))
                raise StepRefused(
                    f"{children} is staged together with its parent {'/'.join(parent)} "
                    "(one file, one transaction): select the parent too"
                )
            try:
                quarantined = 0
                if parent in tables:
                    if not has_data(ctx, con, system, table):
                        continue  # nothing arrived for this table: no materialization, no check
                    summary = stage_table(ctx, con, system, table)
                    result.tables += [t for t in table_result(summary, newest) if t.table in tables]
                    quarantined = summary.files_quarantined
                if checked:
                    site, date = ctx.partition
                    result.checks.append(rows_accounted(con, site, date, system, newest, quarantined))
            except Exception as exc:  # one broken table must not stop the others
                if stopping.interrupted(exc):
                    raise  # ...but an operator's stop does
                ctx.log.error(f"staging {system}.{table} failed: {safe_error(exc)}")
                result.failures.append(f"{system}.{table} ({safe_error(exc)})")
                result.failed.append(("staging", system, table))
    return result


def has_data(ctx: StepContext, con: duckdb.DuckDBPyConnection, system: str, table: str) -> bool:
    """Does the partition have files of this table, or a slice to replace? (Otherwise staging it would
    only record that nothing arrived.)"""
    site, date = ctx.partition
    if Ledger(con).files.active(site, date, system, table):
        return True
    return slice_rows(con, staging_name(system, table), site, date) > 0

"""One batch: every table's rows changed since the last push, read in one snapshot, written to the outbox.

The query of a table is the rules' SELECT, wrapped so the database does the filtering:

    SELECT * FROM (<query>) AS q
    WHERE q.<watermark> > %s OR (q.<watermark> = %s AND q.<key> > %s)

The largest (watermark, key) pair sent is the next push's starting point, so rows sharing a watermark
are never skipped or sent twice. No ORDER BY: a batch is sent whole or not at all, so the order rows
arrive in does not matter, and sorting a large table would cost the database a temporary table and a
filesort before the first row (measured in benchmarks/agent.py). Rows with a NULL watermark are never
sent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from medvault.platform.agent.database import Database, DatabaseError
from medvault.platform.agent.files import write_table
from medvault.platform.agent.outbox import Batch, Outbox
from medvault.platform.agent.spec import ExtractSpec, TableExtract
from medvault.platform.agent.state import AgentState, encode_value


def changed_rows_sql(table: TableExtract, since: tuple) -> tuple[str, tuple]:
    """The wrapped query and its parameters for rows after `since` = (watermark, key)."""
    wm, key = f"q.{table.watermark}", f"q.{table.key}"
    if since[0] is None:
        return f"SELECT * FROM ({table.query}) AS q WHERE {wm} IS NOT NULL", ()
    return (
        f"SELECT * FROM ({table.query}) AS q WHERE {wm} > %s OR ({wm} = %s AND {key} > %s)",
        (since[0], since[0], since[1]),
    )


def count_sql(table: TableExtract, since: tuple) -> tuple[str, tuple]:
    sql, params = changed_rows_sql(table, since)
    return f"SELECT COUNT(*) FROM ({sql}) AS c", params


def choose_spec(db: Database, specs: list[ExtractSpec], version: str) -> ExtractSpec:
    """The rules version the database's schema answers: the one asked for (checked), or with `auto` the
    only version whose every query runs."""
    if version != "auto":
        chosen = [s for s in specs if s.version == version]
        if not chosen:
            raise DatabaseError(
                f"no extraction rules for version {version!r} (have {', '.join(s.version for s in specs)})"
            )
        candidates = chosen
    else:
        candidates = specs
    fits, misses = [], []
    for spec in candidates:
        try:
            for table in spec.tables:
                db.columns_of(table.query, f"the {spec.label} query of {table.name}")
            fits.append(spec)
        except DatabaseError as exc:
            misses.append(f"{spec.label}: {exc}")
    if len(fits) == 1:
        return fits[0]
    if not fits:
        raise DatabaseError("the database schema fits no extraction rules: " + "; ".join(misses))
    raise DatabaseError(
        f"the database schema fits {', '.join(s.label for s in fits)}: set --version (MEDVAULT_AGENT_VERSION)"
    )


@dataclass
class TableSent:
    table: str
    rows: int
    files: int
    bytes: int
    seconds: float


@dataclass
class Extraction:
    batch: Batch | None
    tables: list[TableSent] = field(default_factory=list)


def batch_id(now: datetime) -> str:
    """UTC time to the microsecond: runs are serialised by the lock, so two batches never share a name
    (a shared name would make the second file supersede the first at the central platform)."""
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def extract_batch(
    db: Database,
    spec: ExtractSpec,
    state: AgentState,
    outbox: Outbox,
    site: str,
    fmt: str,
    file_rows: int,
    now: datetime | None = None,
) -> Extraction:
    """Extract every table into a sealed outbox batch; no batch when no table has a changed row."""
    now = now or datetime.now(UTC)
    bid = batch_id(now)
    folder = outbox.start(bid)
    tables: dict[str, dict] = {}
    sent: list[TableSent] = []
    with db.snapshot():
        for table in spec.tables:
            began = time.monotonic()
            since = state.since(spec.label, table.name)
            sql, params = changed_rows_sql(table, since)
            columns, chunks, text_stamps = db.stream(
                sql, params, table.chunk_rows, f"{spec.label} {table.name}"
            )
            try:
                out = write_table(
                    columns,
                    chunks,
                    folder,
                    f"{table.file}_{bid}",
                    fmt,
                    file_rows,
                    spec.timestamp_format,
                    table.watermark,
                    table.key,
                    text_stamps,
                )
            except ValueError as exc:
                raise DatabaseError(f"{spec.path}: tables.{table.name}: {exc}") from None
            if out.rows:
                tables[table.name] = {
                    "rows": out.rows,
                    "files": [f.to_dict() for f in out.files],
                    "watermark": encode_value(out.last[0]),
                    "key": encode_value(out.last[1]),
                }
            sent.append(
                TableSent(
                    table.name,
                    out.rows,
                    len(out.files),
                    sum(f.bytes for f in out.files),
                    time.monotonic() - began,
                )
            )
    if not tables:
        Outbox.discard(folder)
        return Extraction(None, sent)
    manifest = {
        "batch": bid,
        "site": site,
        "date": now.astimezone(UTC).date().isoformat(),
        "system": spec.system,
        "version": spec.version,
        "format": fmt,
        "extracted_at": now.astimezone(UTC).isoformat(timespec="seconds"),
        "tables": tables,
    }
    return Extraction(outbox.seal(folder, manifest), sent)

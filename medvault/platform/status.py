"""Counts per layer for `medvault status` and `medvault demo`: files by status, rows by zone."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from medvault.platform.ledger import Ledger
from medvault.platform.warehouse import row_count

DATA_ZONES = ("staging", "dicom", "vault", "marts")


@dataclass
class LayerCounts:
    files: dict[str, int] = field(default_factory=dict)
    rows_received: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    tables: dict[str, int] = field(default_factory=dict)  # "schema.table" -> rows
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    reject_reasons: dict[str, int] = field(default_factory=dict)
    deliveries: dict[str, int] = field(default_factory=dict)  # image pipeline status -> files


def collect(con: duckdb.DuckDBPyConnection) -> LayerCounts:
    reports = Ledger(con).reports
    counts = LayerCounts(files=reports.status_counts())
    counts.rows_received, counts.rows_loaded, counts.rows_rejected = reports.tabular_rows()
    counts.quarantine_reasons = reports.quarantine_reasons()
    counts.reject_reasons = reports.reject_reasons()
    counts.deliveries = Ledger(con).pipeline.status_counts()
    tables = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        f"WHERE table_schema IN {DATA_ZONES} AND table_type = 'BASE TABLE' ORDER BY 1, 2"
    ).fetchall()
    for schema, name in tables:
        counts.tables[f"{schema}.{name}"] = row_count(con, schema, name)
    return counts


def summarize(con: duckdb.DuckDBPyConnection) -> str:
    c = collect(con)
    total_files = sum(c.files.values())
    lines = [
        "Files",
        f"  received in all : {total_files}",
        *(f"  {status:16}: {n}" for status, n in sorted(c.files.items())),
        *(f"      {code:44} {n}" for code, n in c.quarantine_reasons.items()),
        "Rows (tabular extracts)",
        f"  received        : {c.rows_received}",
        f"  loaded          : {c.rows_loaded}",
        f"  rejected        : {c.rows_rejected}"
        + (
            "  (reconciles)"
            if c.rows_received == c.rows_loaded + c.rows_rejected
            else "  (DOES NOT RECONCILE)"
        ),
        *(f"      {code:44} {n}" for code, n in c.reject_reasons.items()),
        "Images delivered (ops.pipeline_file)",
        *(f"  {status:16}: {n}" for status, n in c.deliveries.items()),
        "Rows per layer",
    ]
    by_zone: dict[str, int] = {}
    for name, n in c.tables.items():
        by_zone[name.split(".")[0]] = by_zone.get(name.split(".")[0], 0) + n
    for zone in DATA_ZONES:
        lines.append(f"  {zone:16}: {by_zone.get(zone, 0)}")
        lines.extend(f"      {name:44} {n}" for name, n in c.tables.items() if name.startswith(zone + "."))
    return "\n".join(lines)

"""Counts per layer for `medvault status` and `medvault demo`: files by status, rows by zone."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb


@dataclass
class LayerCounts:
    files: dict[str, int] = field(default_factory=dict)
    rows_received: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    tables: dict[str, int] = field(default_factory=dict)  # "schema.table" -> rows
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    reject_reasons: dict[str, int] = field(default_factory=dict)


def collect(con: duckdb.DuckDBPyConnection) -> LayerCounts:
    counts = LayerCounts()
    counts.files = dict(
        con.execute("SELECT status, count(*) FROM ops.file_manifest GROUP BY 1 ORDER BY 1").fetchall()
    )
    received, loaded, rejected = con.execute(
        "SELECT coalesce(sum(rows_received), 0), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_rejected), 0) "
        "FROM ops.file_manifest WHERE status = 'loaded' AND system <> 'dicom'"
    ).fetchone()
    counts.rows_received, counts.rows_loaded, counts.rows_rejected = int(received), int(loaded), int(rejected)
    counts.quarantine_reasons = dict(
        con.execute(
            "SELECT reason_code, count(*) FROM ops.file_manifest WHERE status = 'quarantined' GROUP BY 1 ORDER BY 1"
        ).fetchall()
    )
    counts.reject_reasons = dict(
        con.execute(
            "SELECT reason_code, count(DISTINCT (sha256, row_number)) FROM ops.rejected_rows GROUP BY 1 ORDER BY 1"
        ).fetchall()
    )
    tables = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN ('staging', 'dicom', 'vault', 'marts') AND table_type = 'BASE TABLE' ORDER BY 1, 2"
    ).fetchall()
    for schema, name in tables:
        counts.tables[f"{schema}.{name}"] = con.execute(f'SELECT count(*) FROM {schema}."{name}"').fetchone()[
            0
        ]
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
        "Rows per layer",
    ]
    by_zone: dict[str, int] = {}
    for name, n in c.tables.items():
        by_zone[name.split(".")[0]] = by_zone.get(name.split(".")[0], 0) + n
    for zone in ("staging", "dicom", "vault", "marts"):
        lines.append(f"  {zone:16}: {by_zone.get(zone, 0)}")
        lines.extend(f"      {name:44} {n}" for name, n in c.tables.items() if name.startswith(zone + "."))
    return "\n".join(lines)

"""Row-level bookkeeping: rejected rows (with their reasons) and per-table watermarks."""

from __future__ import annotations

import duckdb

from medvault.platform.ledger.files import FileRef
from medvault.platform.warehouse import quote_ident

_SLICE = "site = ? AND date = ? AND system = ? AND source_table = ?"


class RejectionLedger:
    """`ops.rejected_rows`: one row per (file, row, column) a rule refused; replaced with the slice."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def clear(self, site: str, date: str, system: str, table: str) -> None:
        self.con.execute(f"DELETE FROM ops.rejected_rows WHERE {_SLICE}", [site, date, system, table])

    def add_from(self, relation: str, ref: FileRef, system: str, table: str) -> None:
        """Copy a file's rejected rows from a relation with (row_number, column, value, reason_code, reason)."""
        self.con.execute(
            f"""INSERT INTO ops.rejected_rows (site, date, sha256, key, system, source_table, row_number,
                    "column", value, reason_code, reason)
                SELECT ?, CAST(? AS DATE), ?, ?, ?, ?, row_number, "column", value, reason_code, reason
                FROM {quote_ident(relation)}""",
            [ref.site, ref.date, ref.sha256, ref.key, system, table],
        )

    def reasons(self, site: str, date: str, system: str, table: str) -> dict[str, int]:
        """Rejected rows per reason code (a row rejected on two columns counts once per code)."""
        rows = self.con.execute(
            "SELECT reason_code, count(DISTINCT (sha256, row_number)) FROM ops.rejected_rows "
            f"WHERE {_SLICE} GROUP BY 1 ORDER BY 1",
            [site, date, system, table],
        ).fetchall()
        return dict(rows)

    def distinct_rows(self, site: str, date: str, system: str, table: str) -> int:
        row = self.con.execute(
            f"SELECT count(DISTINCT (sha256, row_number)) FROM ops.rejected_rows WHERE {_SLICE}",
            [site, date, system, table],
        ).fetchone()
        return int(row[0])


class WatermarkLedger:
    """`ops.watermarks`: the newest modified time loaded per (site, system, table)."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def set(self, site: str, system: str, table: str, watermark) -> None:
        self.con.execute(
            """INSERT OR REPLACE INTO ops.watermarks (site, system, source_table, watermark, updated_at)
               VALUES (?, ?, ?, CAST(? AS TIMESTAMP), current_timestamp)""",
            [site, system, table, watermark],
        )

    def get(self, site: str, system: str, table: str):
        row = self.con.execute(
            "SELECT watermark FROM ops.watermarks WHERE site = ? AND system = ? AND source_table = ?",
            [site, system, table],
        ).fetchone()
        return row[0] if row else None

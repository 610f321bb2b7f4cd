"""Read-only questions about the ledger: counts by status, reasons, reconciliation, freshness."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from medvault.platform.ledger.statuses import LOADED, QUARANTINED


@dataclass(frozen=True)
class Reconciliation:
    """One table's loaded files in a partition: rows received = loaded + rejected, per the manifest."""

    files: int
    rows_received: int
    rows_loaded: int
    rows_rejected: int


class LedgerReports:
    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def status_counts(self, site: str | None = None, date: str | None = None) -> dict[str, int]:
        where, params = [], []
        if site:
            where.append("site = ?")
            params.append(site)
        if date:
            where.append("date = ?")
            params.append(date)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        rows = self.con.execute(
            f"SELECT status, count(*) FROM ops.file_manifest {clause} GROUP BY status ORDER BY status", params
        ).fetchall()
        return dict(rows)

    def tabular_rows(self) -> tuple[int, int, int]:
        """(received, loaded, rejected) rows over every loaded tabular file."""
        row = self.con.execute(
            "SELECT coalesce(sum(rows_received), 0), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_rejected), 0) "
            "FROM ops.file_manifest WHERE status = ? AND system <> 'dicom'",
            [LOADED],
        ).fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    def quarantine_reasons(self) -> dict[str, int]:
        rows = self.con.execute(
            "SELECT reason_code, count(*) FROM ops.file_manifest WHERE status = ? GROUP BY 1 ORDER BY 1",
            [QUARANTINED],
        ).fetchall()
        return dict(rows)

    def reject_reasons(self) -> dict[str, int]:
        rows = self.con.execute(
            "SELECT reason_code, count(DISTINCT (sha256, row_number)) FROM ops.rejected_rows GROUP BY 1 ORDER BY 1"
        ).fetchall()
        return dict(rows)

    def reconcile(self, site: str, date: str, system: str, table: str) -> Reconciliation:
        row = self.con.execute(
            """SELECT count(*), coalesce(sum(rows_received), 0), coalesce(sum(rows_loaded), 0),
                      coalesce(sum(rows_rejected), 0)
               FROM ops.file_manifest
               WHERE site = ? AND date = ? AND system = ? AND source_table = ? AND status = ?""",
            [site, date, system, table, LOADED],
        ).fetchone()
        return Reconciliation(int(row[0]), int(row[1]), int(row[2]), int(row[3]))

    def last_received_by_site(self, exclude: tuple[str, ...] = ()) -> dict[str, datetime]:
        rows = self.con.execute(
            "SELECT site, max(received_at) FROM ops.file_manifest GROUP BY site"
        ).fetchall()
        return {site: at for site, at in rows if site not in exclude}

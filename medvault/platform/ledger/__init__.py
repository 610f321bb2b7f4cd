"""The ledger: the one owner of the `ops` schema (file manifest and history, rejected rows, watermarks,
load audit, delivery tracking). Every other module reads and writes the platform's bookkeeping through `Ledger`.
"""

from __future__ import annotations

import duckdb

from medvault.platform.ledger.audit import LoadAudit, LoadRecord
from medvault.platform.ledger.exports import ExportLedger, PendingSlice
from medvault.platform.ledger.files import FileEntry, FileLedger, FileRef, QuarantinedFile, RowCounts
from medvault.platform.ledger.marts import MartBuild, MartLedger
from medvault.platform.ledger.pipeline import PipelineFile, PipelineLedger, Scan
from medvault.platform.ledger.reports import LedgerReports, Reconciliation
from medvault.platform.ledger.rows import RejectionLedger, WatermarkLedger
from medvault.platform.ledger.schema import ensure_ops
from medvault.platform.ledger.statuses import (
    ACTIVE,
    FILE_STATUSES,
    LOADED,
    QUARANTINED,
    RECEIVED,
    SUPERSEDED,
)


class Ledger:
    """The platform's bookkeeping on one warehouse connection: `files`, `rejections`, `watermarks`,
    `audit` and read-only `reports`. Writes join the caller's open transaction, if any."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        ensure_ops(con)
        self.con = con
        self.files = FileLedger(con)
        self.rejections = RejectionLedger(con)
        self.watermarks = WatermarkLedger(con)
        self.audit = LoadAudit(con)
        self.reports = LedgerReports(con)
        self.pipeline = PipelineLedger(con)
        self.marts = MartLedger(con)
        self.exports = ExportLedger(con)

    def purge_site(self, site: str) -> dict[str, int]:
        """Remove every bookkeeping row of a site (for `medvault sites remove --purge`); rows per table."""
        out = {}
        for table in (
            "file_manifest",
            "file_events",
            "rejected_rows",
            "watermarks",
            "load_audit",
            "staged_exports",
        ):
            rows = self.con.execute(f"DELETE FROM ops.{table} WHERE site = ? RETURNING 1", [site]).fetchall()
            out[f"ops.{table}"] = len(rows)
        files = "SELECT id FROM ops.pipeline_file WHERE site = ?"
        for table in ("pipeline_file_dicom", "pipeline_file_events"):
            rows = self.con.execute(
                f"DELETE FROM ops.{table} WHERE file_id IN ({files}) RETURNING 1", [site]
            ).fetchall()
            out[f"ops.{table}"] = len(rows)
        rows = self.con.execute("DELETE FROM ops.pipeline_file WHERE site = ? RETURNING 1", [site]).fetchall()
        out["ops.pipeline_file"] = len(rows)
        return out


__all__ = [
    "ExportLedger",
    "PendingSlice",
    "MartBuild",
    "MartLedger",
    "ACTIVE",
    "FILE_STATUSES",
    "LOADED",
    "QUARANTINED",
    "RECEIVED",
    "SUPERSEDED",
    "FileEntry",
    "FileRef",
    "PipelineFile",
    "PipelineLedger",
    "Scan",
    "Ledger",
    "LoadRecord",
    "QuarantinedFile",
    "Reconciliation",
    "RowCounts",
]

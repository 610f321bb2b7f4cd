"""`ops.staged_exports`: which stage loads each staged slice's Parquet copy already holds, so the publish
step writes only the slices staged since (publish/staged.py), in one batch per table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb


@dataclass(frozen=True)
class PendingSlice:
    target: str  # "staging.<system>__<table>"
    site: str
    date: str
    staged_at: datetime  # the newest stage load of the slice


class ExportLedger:
    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def pending(self) -> list[PendingSlice]:
        """Slices staged after their last export (or never exported), by target, site and date."""
        rows = self.con.execute(
            """WITH staged AS (
                   SELECT target, site, date, max(recorded_at) AS staged_at FROM ops.load_audit
                   WHERE step = 'stage' AND site IS NOT NULL GROUP BY ALL),
               exported AS (SELECT target, site, date, max(staged_at) AS staged_at FROM ops.staged_exports GROUP BY ALL)
               SELECT s.target, s.site, CAST(s.date AS VARCHAR), s.staged_at FROM staged s
               LEFT JOIN exported e USING (target, site, date)
               WHERE e.staged_at IS NULL OR s.staged_at > e.staged_at
               ORDER BY ALL"""
        ).fetchall()
        return [PendingSlice(*row) for row in rows]

    def exported(self, slices: list[PendingSlice]) -> None:
        """Record that these slices' files now hold the stage loads up to their `staged_at`."""
        if slices:
            self.con.executemany(
                "INSERT INTO ops.staged_exports (target, site, date, staged_at) VALUES (?, ?, CAST(? AS DATE), ?)",
                [[s.target, s.site, s.date, s.staged_at] for s in slices],
            )

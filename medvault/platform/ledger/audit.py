"""`ops.load_audit`: what every load wrote, per target table, partition and run (seed 002's audit layer)."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb


@dataclass(frozen=True)
class LoadRecord:
    step: str  # "stage", "dicom", "vault", "marts"
    target: str  # "staging.harmony_pacs__studies", "vault.hub_person", ...
    rows_inserted: int
    site: str | None = None
    date: str | None = None
    rows_in: int | None = None
    seconds: float | None = None
    rows_known: int | None = None  # vault: keys or versions of the batch already stored
    rows_ghost: int | None = None  # vault: staged rows whose missing business key took the zero key


class LoadAudit:
    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def record(self, entry: LoadRecord, run_id: str | None) -> None:
        self.con.execute(
            """INSERT INTO ops.load_audit
                   (run_id, step, target, site, date, rows_in, rows_inserted, seconds, rows_known, rows_ghost)
               VALUES (?, ?, ?, ?, CAST(? AS DATE), ?, ?, ?, ?, ?)""",
            [
                run_id,
                entry.step,
                entry.target,
                entry.site,
                entry.date,
                entry.rows_in,
                entry.rows_inserted,
                entry.seconds,
                entry.rows_known,
                entry.rows_ghost,
            ],
        )

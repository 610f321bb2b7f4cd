"""`ops.mart_builds`: when and how each mart was last built, and what changed since, for incremental
rebuilds (marts/incremental.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb

# the steps whose writes change what a mart reads, per site
SITE_WRITES = ("stage", "dicom", "vault")


@dataclass(frozen=True)
class MartBuild:
    fingerprint: str
    mode: str
    started_at: datetime


class MartLedger:
    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def now(self) -> datetime:
        """The warehouse's clock, the one `recorded_at` is written with."""
        return self.con.execute("SELECT CAST(current_timestamp AS TIMESTAMP)").fetchone()[0]

    def last_build(self, mart: str) -> MartBuild | None:
        row = self.con.execute(
            "SELECT fingerprint, mode, started_at FROM ops.mart_builds WHERE mart = ? AND mode <> 'unchanged' "
            "ORDER BY built_at DESC LIMIT 1",
            [mart],
        ).fetchone()
        return MartBuild(*row) if row else None

    def changed_sites_since(self, started_at: datetime) -> set[str]:
        """Sites any load wrote to since `started_at`, and sites the ledger no longer has (purged)."""
        steps = ", ".join(f"'{s}'" for s in SITE_WRITES)
        rows = self.con.execute(
            f"SELECT DISTINCT site FROM ops.load_audit WHERE recorded_at >= ? AND site IS NOT NULL AND step IN ({steps})",
            [started_at],
        ).fetchall()
        return {r[0] for r in rows}

    def partitions_loaded_since(self, target: str, started_at: datetime) -> list[tuple[str, date]]:
        """The (site, date) partitions the vault loaded into `target` ("vault.sat_x") since `started_at`:
        a by-month rebuild looks at that satellite's rows of these partitions (marts/months.py)."""
        return self.con.execute(
            "SELECT DISTINCT site, date FROM ops.load_audit WHERE step = 'vault' AND target = ? "
            "AND recorded_at >= ? AND site IS NOT NULL ORDER BY site, date",
            [target, started_at],
        ).fetchall()

    def known_sites(self) -> set[str]:
        return {r[0] for r in self.con.execute("SELECT DISTINCT site FROM ops.file_manifest").fetchall()}

    def record(
        self, mart: str, fingerprint: str, mode: str, sites, started_at: datetime, run_id, months=None
    ) -> None:
        """`months`: the "<site> <YYYY-MM>" rebuilt by a by-month build."""
        self.con.execute(
            "INSERT INTO ops.mart_builds (mart, fingerprint, mode, sites, run_id, started_at, months) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                mart,
                fingerprint,
                mode,
                sorted(sites) if sites is not None else None,
                run_id,
                started_at,
                sorted(months) if months is not None else None,
            ],
        )

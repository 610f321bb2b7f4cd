"""Seed 000's CSV reports: each mart as `<site>/<report>/<report>_<Mon-DD-YYYY>.csv` for every site and
`combined/<report>/<report>_<Mon-DD-YYYY>.csv` for all sites together (seed 000's per-site files and
its merged `combined_csv`), header row, no index, on the reports store (a folder, S3 or SFTP).

From the published (suppressed) copy; the date is the day of the build.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from medvault.platform.marts.models import MartDef
from medvault.platform.publish.suppress import published_select
from medvault.platform.stores.base import ObjectStore, join_key
from medvault.platform.warehouse import column_names, quote_literal

COMBINED = "combined"


def report_name(report: str, day: date) -> str:
    """`<report>_<Mon-DD-YYYY>.csv`, seed 000's `strftime("%b-%d-%Y")`."""
    return f"{report}_{day.strftime('%b-%d-%Y')}.csv"


def _copy(con, sql: str, path: Path, params: list | None = None) -> None:
    con.execute(f"COPY ({sql}) TO {quote_literal(str(path))} (FORMAT csv, HEADER)", params or [])


def write_csv_reports(con, store: ObjectStore, mart: MartDef, threshold: int, day: date) -> list[str]:
    """Write the mart's per-site and combined CSV files; return their keys."""
    name = report_name(mart.name, day)
    select = published_select(mart, threshold)
    written = []
    with tempfile.TemporaryDirectory(prefix="medvault-csv-") as tmp:
        combined = Path(tmp) / "combined.csv"
        _copy(con, select, combined)
        key = join_key(COMBINED, mart.name, name)
        store.upload(combined, key)
        written.append(key)
        if "site" in column_names(con, "marts", mart.name):
            sites = [
                r[0]
                for r in con.execute(
                    f"SELECT DISTINCT site FROM ({select}) WHERE site IS NOT NULL ORDER BY 1"
                ).fetchall()
            ]
            for site in sites:
                path = Path(tmp) / f"{site}.csv"
                _copy(con, f"SELECT * FROM ({select}) WHERE site = ?", path, [site])
                key = join_key(site, mart.name, name)
                store.upload(path, key)
                written.append(key)
    return written

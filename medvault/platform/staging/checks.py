"""The per-partition check of a staged slice, computed as data: `rows_accounted`.

One check per table (each check costs the run several event writes): an error when rows do not
reconcile (received = loaded + rejected in the ledger, matching the staged slice and the rejected rows:
a platform bug), a warning when the data is kept but a site's extract has problems someone should look
at (rows rejected, files quarantined while staging, a business key twice with the same modified time).
"""

from __future__ import annotations

import duckdb

from medvault.platform.ledger import Ledger
from medvault.platform.results import CheckOutcome
from medvault.platform.rules.models import TableDef
from medvault.platform.staging.tables import staging_name, staging_table
from medvault.platform.warehouse import quote_ident as q

CHECK = "rows_accounted"


def asset_of(system: str, table: str) -> tuple[str, ...]:
    """A staging table's asset: ("staging", "<system>__<table>"), so its lineage label names the system."""
    return ("staging", staging_name(system, table))


def duplicate_keys(con: duckdb.DuckDBPyConnection, site: str, date: str, system: str, tdef: TableDef) -> int:
    """Business keys appearing twice with the same modified time in one drop (which version would win?)."""
    if not tdef.key:
        return 0
    cols = [*tdef.key, *([tdef.modified] if tdef.modified else [])]
    return int(
        con.execute(
            f"""SELECT count(*) FROM (SELECT {", ".join(q(c) for c in cols)} FROM {staging_table(system, tdef.name)}
                WHERE _site = ? AND _date = ? GROUP BY ALL HAVING count(*) > 1)""",
            [site, date],
        ).fetchone()[0]
    )


def rows_accounted(
    con: duckdb.DuckDBPyConnection,
    site: str,
    date: str,
    system: str,
    tdef: TableDef,
    files_quarantined: int = 0,
) -> CheckOutcome:
    ledger = Ledger(con)
    table = tdef.name
    counts = ledger.reports.reconcile(site, date, system, table)
    staged = con.execute(
        f"SELECT count(*) FROM {staging_table(system, table)} WHERE _site = ? AND _date = ?", [site, date]
    ).fetchone()[0]
    rejected_rows = ledger.rejections.distinct_rows(site, date, system, table)
    reconciles = (
        counts.rows_received == counts.rows_loaded + counts.rows_rejected
        and staged == counts.rows_loaded
        and rejected_rows == counts.rows_rejected
    )
    dupes = duplicate_keys(con, site, date, system, tdef)
    problems = []
    if counts.rows_rejected:
        problems.append(f"{counts.rows_rejected} row(s) rejected")
    if files_quarantined:
        problems.append(f"{files_quarantined} file(s) quarantined while staging")
    if dupes:
        problems.append(f"{dupes} business key(s) twice with the same modified time")
    return CheckOutcome(
        CHECK,
        asset_of(system, table),
        passed=bool(reconciles) and not problems,
        warn=bool(reconciles),  # a reconcile failure is an error; data problems are warnings
        metadata={
            "reconciles": bool(reconciles),
            "problems": "; ".join(problems) or "none",
            "files": counts.files,
            "rows_received": counts.rows_received,
            "rows_loaded": counts.rows_loaded,
            "rows_rejected": counts.rows_rejected,
            "rows_in_staging": int(staged),
            "rows_in_rejected_rows": rejected_rows,
            "reject_reasons": ledger.rejections.reasons(site, date, system, table),
            "files_quarantined": files_quarantined,
            "duplicate_keys": dupes,
            "business_key": ", ".join(tdef.key) or "(none declared)",
        },
    )

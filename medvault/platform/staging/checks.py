"""Per-partition checks of a staged slice, computed as data: rows reconcile, business keys unique."""

from __future__ import annotations

import duckdb

from medvault.platform.ledger import Ledger
from medvault.platform.results import CheckOutcome
from medvault.platform.rules.models import TableDef
from medvault.platform.staging.tables import staging_table
from medvault.platform.warehouse import quote_ident as q


def asset_of(system: str, table: str) -> tuple[str, ...]:
    return ("staging", system, table)


def reconcile(con: duckdb.DuckDBPyConnection, site: str, date: str, system: str, table: str) -> CheckOutcome:
    """rows received = loaded + rejected per file, and the staged slice and ops.rejected_rows agree."""
    ledger = Ledger(con)
    counts = ledger.reports.reconcile(site, date, system, table)
    staged = con.execute(
        f"SELECT count(*) FROM {staging_table(system, table)} WHERE _site = ? AND _date = ?", [site, date]
    ).fetchone()[0]
    rejected_rows = ledger.rejections.distinct_rows(site, date, system, table)
    ok = (
        counts.rows_received == counts.rows_loaded + counts.rows_rejected
        and staged == counts.rows_loaded
        and rejected_rows == counts.rows_rejected
    )
    return CheckOutcome(
        "rows_reconcile",
        asset_of(system, table),
        passed=bool(ok),
        metadata={
            "files": counts.files,
            "rows_received": counts.rows_received,
            "rows_loaded": counts.rows_loaded,
            "rows_rejected": counts.rows_rejected,
            "rows_in_staging": int(staged),
            "rows_in_rejected_rows": rejected_rows,
        },
    )


def key_unique(
    con: duckdb.DuckDBPyConnection, site: str, date: str, system: str, tdef: TableDef
) -> CheckOutcome:
    """No business key appears twice with the same modified time in one drop (which version would win?)."""
    asset = asset_of(system, tdef.name)
    if not tdef.key:
        return CheckOutcome("key_unique", asset, passed=True, metadata={"note": "no key declared"})
    cols = [*tdef.key, *([tdef.modified] if tdef.modified else [])]
    dupes = con.execute(
        f"""SELECT count(*) FROM (SELECT {", ".join(q(c) for c in cols)} FROM {staging_table(system, tdef.name)}
            WHERE _site = ? AND _date = ? GROUP BY ALL HAVING count(*) > 1)""",
        [site, date],
    ).fetchone()[0]
    return CheckOutcome(
        "key_unique",
        asset,
        passed=dupes == 0,
        warn=True,
        metadata={"duplicate_keys": int(dupes), "key": ", ".join(tdef.key)},
    )

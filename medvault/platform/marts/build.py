"""Build one mart (its SQL as a table of schema `marts`) and compute its checks, in the engine.

A mart is rebuilt whole (CREATE OR REPLACE ... AS its SELECT) or, for the sites (or, by month, the
(site, month) pairs) whose data changed, by deleting and inserting those rows (marts/incremental.py),
in one transaction: a reader sees the old rows or the new ones. Its checks then run over the new
table; each returns one row whose `passed` column decides, its other columns become the check's
figures.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from medvault.platform.marts.models import MartCheck, MartDef
from medvault.platform.results import CheckOutcome
from medvault.platform.warehouse import quote_ident, row_count, transaction

PREVIEW_ROWS = 20


def build_mart(con, mart: MartDef, sites: frozenset[str] | None = None, months=None) -> int:
    """(Re)build the mart's table, whole, or (`sites`) only those sites' rows, or (`months`, a by-month
    mart) those (site, month) pairs' rows and the `sites`' rows; return its rows. Joins the caller's
    transaction if one is open."""
    table = f"marts.{quote_ident(mart.name)}"
    with transaction(con):
        if months is not None:
            _rebuild_months(con, mart, table, sites or frozenset(), months)
        elif sites is None:
            con.execute(f"CREATE OR REPLACE TABLE {table} AS {mart.sql}")
        elif sites:
            chosen = sorted(sites)
            con.execute(f"DELETE FROM {table} WHERE site IN (SELECT unnest(?::VARCHAR[]))", [chosen])
            con.execute(
                f"INSERT INTO {table} SELECT * FROM ({mart.sql}) WHERE site IN (SELECT unnest(?::VARCHAR[]))",
                [chosen],
            )
    return row_count(con, "marts", mart.name)


def _rebuild_months(con, mart: MartDef, table: str, sites, months) -> None:
    """Delete and insert the rows of the (site, month) pairs and of the whole `sites`: rows of any other
    month are neither deleted nor written."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _mart_months AS SELECT unnest(?::VARCHAR[]) AS site, unnest(?::DATE[]) AS month",
        [[s for s, _ in months], [m for _, m in months]],
    )
    month = f"CAST(date_trunc('month', r.{quote_ident(mart.month.column)}) AS DATE)"
    chosen = (
        "(r.site IN (SELECT unnest(?::VARCHAR[])) OR EXISTS (SELECT 1 FROM _mart_months a "
        f"WHERE a.site = r.site AND a.month IS NOT DISTINCT FROM {month}))"
    )
    whole = sorted(sites)
    con.execute(f"DELETE FROM {table} r WHERE {chosen}", [whole])
    con.execute(f"INSERT INTO {table} SELECT r.* FROM ({mart.sql}) r WHERE {chosen}", [whole])
    con.execute("DROP TABLE _mart_months")


def mart_sites(con, mart: MartDef) -> set[str]:
    """The sites the mart has rows of. A row without a site cannot be rebuilt by site: most likely the
    mart counts a hub's ghost row (filter it with is_ghost(), docs/marts.md)."""
    sites = {
        r[0] for r in con.execute(f"SELECT DISTINCT site FROM marts.{quote_ident(mart.name)}").fetchall()
    }
    if None in sites:
        raise ValueError(
            f"marts.{mart.name} has rows without a site (a ghost row?); rebuild: by_site needs one"
        )
    return sites


def preview(con, mart: MartDef, limit: int = PREVIEW_ROWS) -> tuple[tuple[str, ...], list[tuple]]:
    cur = con.execute(f"SELECT * FROM marts.{quote_ident(mart.name)} LIMIT {int(limit)}")
    return tuple(d[0] for d in cur.description), cur.fetchall()


def _figure(value):
    """A check figure as metadata can show it."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def run_check(con, mart: MartDef, check: MartCheck) -> CheckOutcome:
    table = ("marts", mart.name)
    try:
        cur = con.execute(check.sql)
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
    except Exception as exc:  # a check that cannot run fails, naming why; the other checks still run
        return CheckOutcome(check.name, table, False, check.warn, {"error": f"{type(exc).__name__}: {exc}"})
    if len(rows) != 1 or "passed" not in names:
        problem = f"returned {len(rows)} row(s) and columns {names}; it must return one row with `passed`"
        return CheckOutcome(check.name, table, False, check.warn, {"error": problem})
    row = dict(zip(names, rows[0], strict=True))
    figures = {k: _figure(v) for k, v in row.items() if k != "passed"}
    return CheckOutcome(check.name, table, row["passed"] is True, check.warn, figures)

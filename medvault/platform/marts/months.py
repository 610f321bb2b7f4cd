"""Which (site, month) rows of a `rebuild: by_month` mart a set of vault loads can change.

A by-month mart's row stands for the keys of one satellite in one month: its month column is the month
of `month.source` (a date column of that satellite) of the key's version in force, and the mart reads
nothing but hubs, reference tables and that satellite (rules check holds it to that). So a load changes
the rows of the months its keys were in, before and after: for every key the loads wrote to the
satellite (its rows, and its `__seen` rows, of the loaded partitions), the months of every version of
the key in `__history`. A key whose month moved (an order re-dated from January to March) names both.
The pairs are a superset of what changed (a key's older versions name months that may hold nothing
new): rebuilding them gives what a whole rebuild gives, and every other month keeps its rows.
"""

from __future__ import annotations

from datetime import date

from medvault.platform.marts.models import MartDef
from medvault.platform.vault.kinds.satellite import seen_table
from medvault.platform.vault.model import VaultModel, hash_column, table_name
from medvault.platform.vault.views import history_view
from medvault.platform.warehouse import quote_ident as q

Month = tuple[str, date | None]  # (site, first day of the month); None: rows whose month is NULL


def affected_months(con, model: VaultModel, mart: MartDef, partitions: list[tuple[str, date]]) -> set[Month]:
    """The (site, month) pairs of `mart` that the loads of `partitions` ((site, date) loaded into its
    month's satellite) may have changed."""
    if not partitions:
        return set()
    rule = mart.month
    obj = model.objects[rule.satellite]
    key = q(hash_column(obj.parent))
    changed = " UNION ".join(
        f"SELECT s.{key} AS hk FROM {t} s SEMI JOIN _mart_loads l ON l.site = s._site AND l.date = s._date"
        for t in (table_name(obj.name), seen_table(obj.name))
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _mart_loads AS SELECT unnest(?::VARCHAR[]) AS site, unnest(?::DATE[]) AS date",
        [[s for s, _ in partitions], [d for _, d in partitions]],
    )
    try:
        rows = con.execute(
            f"""WITH changed AS ({changed})
            SELECT DISTINCT p.site, CAST(date_trunc('month', v.{q(rule.source_column)}) AS DATE)
            FROM {history_view(obj.name)} v
            JOIN changed c ON c.hk = v.{key}
            JOIN {table_name(obj.parent)} p ON p.{key} = v.{key}"""
        ).fetchall()
    finally:
        con.execute("DROP TABLE IF EXISTS _mart_loads")
    return {(site, month) for site, month in rows}


def month_label(pair: Month) -> str:
    """A pair as ops.mart_builds and the asset show it: `aurora_eye 2026-03`, `aurora_eye no month`."""
    site, month = pair
    return f"{site} {month:%Y-%m}" if month is not None else f"{site} no month"

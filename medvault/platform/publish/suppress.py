"""Statistical disclosure control: what a published copy of a mart holds.

Every output that leaves the warehouse (Parquet, CSV, PostgreSQL, the dashboard) reads a mart through
`published_select`: its count columns (the mart's `counts:`) below the threshold and above zero become
NULL, so a cell of one to four patients or events is never shown; zero stays zero. Rows are in a fixed
order, so an unchanged mart publishes identical bytes.
"""

from __future__ import annotations

from medvault.platform.marts.models import MartDef
from medvault.platform.warehouse import quote_ident as q


def published_select(mart: MartDef, threshold: int) -> str:
    table = f"marts.{q(mart.name)}"
    if threshold <= 1 or not mart.counts:
        return f"SELECT * FROM {table} ORDER BY ALL"
    replaced = ", ".join(
        f"CASE WHEN {q(c)} > 0 AND {q(c)} < {int(threshold)} THEN NULL ELSE {q(c)} END AS {q(c)}"
        for c in mart.counts
    )
    return f"SELECT * REPLACE ({replaced}) FROM {table} ORDER BY ALL"


def suppressed_cells(con, mart: MartDef, threshold: int) -> int:
    """How many cells the published copy hides (for the asset's metadata)."""
    if threshold <= 1 or not mart.counts:
        return 0
    terms = " + ".join(
        f"count(*) FILTER (WHERE {q(c)} > 0 AND {q(c)} < {int(threshold)})" for c in mart.counts
    )
    return int(con.execute(f"SELECT {terms} FROM marts.{q(mart.name)}").fetchone()[0])

"""Removing a site: what it holds across the zones, and a purge of all of it.

A site partition that was registered by mistake (a typo in a folder name, a test drop) can be removed;
while it holds data it is refused unless purged, and a purge removes its rows from every zone, its
bookkeeping and its files in the lake and quarantine, in one warehouse transaction.
"""

from __future__ import annotations

from medvault.platform.ledger import Ledger
from medvault.platform.publish.staged import site_prefix
from medvault.platform.staging.tables import staging_name
from medvault.platform.steps.context import StepContext
from medvault.platform.stores.base import join_key
from medvault.platform.warehouse import quote_ident as q
from medvault.platform.warehouse import row_count, tables_with_column, transaction

# (schema, the column naming the site) of every zone a site's rows live in
SITE_COLUMNS = (("staging", "_site"), ("dicom", "_site"), ("vault", "_site"), ("vault", "site"))
LAKE_PREFIXES = ("raw", "landing", "headers")


def _tables(con) -> list[tuple[str, str, str]]:
    return [
        (schema, table, col) for schema, col in SITE_COLUMNS for table in tables_with_column(con, schema, col)
    ]


def holdings(ctx: StepContext, site: str) -> dict[str, int]:
    """Rows the site has per table (ops included); empty when it holds nothing."""
    out = {}
    with ctx.connect() as con:
        files = sum(Ledger(con).reports.status_counts(site=site).values())
        if files:
            out["ops.file_manifest"] = files
        for schema, table, col in _tables(con):
            n = row_count(con, schema, table, f"{q(col)} = ?", [site])
            if n:
                out[f"{schema}.{table}"] = n
    return out


def purge(ctx: StepContext, site: str) -> dict[str, int]:
    """Delete the site everywhere; returns rows (and files) removed per place."""
    out = {}
    with ctx.connect() as con, transaction(con):
        for schema, table, col in _tables(con):
            rows = con.execute(
                f"DELETE FROM {q(schema)}.{q(table)} WHERE {q(col)} = ? RETURNING 1", [site]
            ).fetchall()
            if rows:
                out[f"{schema}.{table}"] = len(rows)
        out.update({k: v for k, v in Ledger(con).purge_site(site).items() if v})
    staged = [site_prefix(name, site) for name in _staged_tables(ctx)]
    for store, prefixes in (
        (ctx.lake, (*(join_key(p, site) for p in LAKE_PREFIXES), *staged)),
        (ctx.quarantine.store, (site,)),
    ):
        for prefix in prefixes:
            objects = list(store.list_objects(prefix))
            for obj in objects:
                store.delete(obj.key)
            if objects:
                out[f"{'lake/' if store is ctx.lake else 'quarantine/'}{prefix}/ files"] = len(objects)
    return out


def _staged_tables(ctx: StepContext) -> list[str]:
    """Every staged table and child extract the rules declare (their Parquet copies are per site)."""
    names = []
    for (system, table), defs in ctx.rules.staged_tables().items():
        names += [staging_name(system, table), *(staging_name(system, c.name) for c in defs[-1][1].children)]
    return names

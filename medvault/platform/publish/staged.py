"""The staged tables as a Parquet lake: `staged/<system>__<table>/site=<site>/date=<date>/data_0.parquet`
on the lake store, one file per (site, date) slice, rewritten by the publish step after the slice is
staged again.

Why: other engines (Trino, Athena, Spark, a lakehouse later) read the staged data without the DuckDB
file. These files hold patient identifiers, as the staged tables do: they share the lake's access, not
the marts' (docs/marts.md). Why at publish time and not in the staging step: one `COPY ... PARTITION_BY`
per table writes every slice staged since the last publish (a backfill's hundreds of slices in one
statement), and staging itself, which holds the one warehouse writer per partition, does not pay for it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from medvault.platform.stores.base import ObjectStore, join_key
from medvault.platform.warehouse import quote_ident, quote_literal

PREFIX = "staged"
FILE = "data_0.parquet"


def staged_key(table: str, site: str, date: str) -> str:
    return join_key(PREFIX, table, f"site={site}", f"date={date}", FILE)


def site_prefix(table: str, site: str) -> str:
    """Where every file of one site of one staged table lives (for a site's purge)."""
    return join_key(PREFIX, table, f"site={site}")


def write_staged_slices(
    con, store: ObjectStore, table: str, slices: list[tuple[str, str]]
) -> tuple[int, int]:
    """Write the (site, date) slices of `staging.<table>`, one file each, and remove the file of a slice
    that is now empty; returns (files written, files removed)."""
    if not slices:
        return 0, 0
    wanted = ", ".join(f"({quote_literal(s)}, DATE {quote_literal(d)})" for s, d in slices)
    source = (
        f"SELECT t.*, t._site AS site, t._date AS date FROM staging.{quote_ident(table)} t "
        f"SEMI JOIN (VALUES {wanted}) w(s, d) ON t._site = w.s AND t._date = w.d"
    )
    with tempfile.TemporaryDirectory(prefix="medvault-staged-") as tmp:
        con.execute(
            f"COPY ({source}) TO {quote_literal(tmp)} "
            f"(FORMAT parquet, PARTITION_BY (site, date), FILENAME_PATTERN 'data_{{i}}', OVERWRITE_OR_IGNORE)"
        )
        written = set()
        for path in sorted(Path(tmp).rglob("*.parquet")):
            site, date = (part.split("=", 1)[1] for part in path.relative_to(tmp).parts[:2])
            if (site, date) in written or path.name != FILE:  # one file per slice, or the key is wrong
                raise RuntimeError(
                    f"the Parquet writer split staged {table} {site} {date} into several files"
                )
            store.upload(path, staged_key(table, site, date))
            written.add((site, date))
    removed = 0
    for site, date in set(slices) - written:
        key = staged_key(table, site, date)
        if store.exists(key):
            store.delete(key)
            removed += 1
    return len(written), removed

"""The staged tables as a Parquet lake: `staged/<system>__<table>/site=<site>/date=<date>/data_0.parquet`
on the lake store, one file per (site, date) slice, rewritten with the slice by the staging step.

Why: other engines (Trino, Athena, Spark, a lakehouse later) read the staged data without the DuckDB
file. These files hold patient identifiers, as the staged tables do: they share the lake's access, not
the marts' (docs/marts.md).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from medvault.platform.stores.base import ObjectStore, join_key
from medvault.platform.warehouse import quote_ident, quote_literal

PREFIX = "staged"


def staged_key(table: str, site: str, date: str) -> str:
    return join_key(PREFIX, table, f"site={site}", f"date={date}", "data_0.parquet")


def write_staged_slice(con, store: ObjectStore, table: str, site: str, date: str) -> int:
    """Write the (site, date) slice of `staging.<table>` (or remove its file when the slice is empty);
    return its rows."""
    key = staged_key(table, site, date)
    where = f"_site = {quote_literal(site)} AND _date = CAST({quote_literal(date)} AS DATE)"
    source = f"staging.{quote_ident(table)}"
    rows = int(con.execute(f"SELECT count(*) FROM {source} WHERE {where}").fetchone()[0])
    if rows == 0:
        if store.exists(key):
            store.delete(key)
        return 0
    with tempfile.TemporaryDirectory(prefix="medvault-staged-") as tmp:
        path = Path(tmp) / "data_0.parquet"
        con.execute(
            f"COPY (SELECT * FROM {source} WHERE {where}) TO {quote_literal(str(path))} (FORMAT parquet)"
        )
        store.upload(path, key)
    return rows

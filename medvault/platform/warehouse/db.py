"""The one warehouse writer: opens the DuckDB file, creates the zones, and runs transactions.

DuckDB allows one writing process per file; Dagster serialises writers with the `warehouse` pool, and
this class adds a short bounded retry for the rare overlap with an interactive reader.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from medvault.platform.warehouse.schema import ensure_schema

LOCK_RETRY_SECONDS = 30.0


class Warehouse:
    def __init__(self, path: Path | str):
        self.path = Path(path)

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + LOCK_RETRY_SECONDS
        delay = 0.05
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=read_only)
                # every timestamp the platform writes (received_at, load_ts, ...) is UTC, whatever the host's zone
                con.execute("SET TimeZone = 'UTC'")
                return con
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection with the schema ensured (read-only connections skip DDL)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if read_only and not self.path.exists():
            with self.connect(read_only=False):
                pass
        con = self._open(read_only)
        try:
            if not read_only:
                ensure_schema(con)
            yield con
        finally:
            con.close()

    @contextmanager
    def transaction(self, con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
        """BEGIN ... COMMIT, rolled back on any error so a slice is never left half-written."""
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, name],
    ).fetchone()
    return bool(row and row[0])


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'

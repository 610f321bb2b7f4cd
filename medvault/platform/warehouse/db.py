"""The one warehouse writer: opens the DuckDB file and runs transactions.

DuckDB allows one writing process per file; Dagster serialises writers with the `warehouse` pool, and
this class adds a short bounded retry for the rare overlap with an interactive reader.
`transaction` is the only BEGIN/COMMIT in the code base: callers nest it freely (an inner block joins
the outer transaction), so a ledger update and the slice it describes commit together.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from medvault.platform.warehouse.schema import ensure_zones

LOCK_RETRY_SECONDS = 30.0

# open transaction depth per connection (DuckDB has no nested transactions or savepoints)
_DEPTH: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class WarehouseLocked(RuntimeError):
    """Another process holds the DuckDB file longer than the lock wait."""


class Warehouse:
    def __init__(self, path: Path | str, memory_limit: str | None = None):
        """`memory_limit` (DuckDB's, such as "1GB") bounds each connection: past it DuckDB spills to
        disk, so staging a file much larger than memory still completes."""
        self.path = Path(path)
        self.memory_limit = memory_limit

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + LOCK_RETRY_SECONDS
        delay = 0.05
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=read_only)
                # every timestamp the platform writes (received_at, load_ts, ...) is UTC, whatever the host's zone
                con.execute("SET TimeZone = 'UTC'")
                if self.memory_limit:
                    con.execute(f"SET memory_limit = '{self.memory_limit}'")  # validated by config
                return con
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise
                if time.monotonic() > deadline:
                    raise WarehouseLocked(
                        f"the warehouse {self.path} is held by another process for more than "
                        f"{LOCK_RETRY_SECONDS:.0f} s; close other connections to it (see docs/architecture.md, "
                        "Querying while runs go on)"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection with the zone schemas ensured (read-only connections skip DDL)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if read_only and not self.path.exists():
            with self.connect(read_only=False):
                pass
        con = self._open(read_only)
        if not read_only:
            self.path.chmod(0o600)  # patient data: owner only, whatever the umask
        try:
            if not read_only:
                ensure_zones(con)
            yield con
        finally:
            con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT, rolled back on any error so a slice is never left half-written.

    Re-entrant: inside an open transaction of the same connection it only joins it."""
    depth = _DEPTH.get(con, 0)
    if depth:
        _DEPTH[con] = depth + 1
        try:
            yield con
        finally:
            _DEPTH[con] = depth
        return
    con.execute("BEGIN TRANSACTION")
    _DEPTH[con] = 1
    try:
        yield con
    except BaseException:
        _DEPTH.pop(con, None)
        con.execute("ROLLBACK")
        raise
    _DEPTH.pop(con, None)
    con.execute("COMMIT")

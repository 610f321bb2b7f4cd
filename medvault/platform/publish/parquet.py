"""The marts as a Parquet lake: `marts/<name>/site=<site>/data_0.parquet` on the lake store, one file per
site (Hive partitioning, readable by DuckDB, Trino, Athena and pyarrow), from the published (suppressed)
copy. The staged tables' Parquet (`staged/`, patient identifiers included) is written per partition by
the staging step (`staged.py`).

DuckDB writes the files (`COPY ... (FORMAT parquet, PARTITION_BY (site))`) into a temporary folder; the
store uploads each (atomically per file) and removes the partitions of sites no longer in the mart.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from medvault.platform.marts.models import MartDef
from medvault.platform.publish.suppress import published_select
from medvault.platform.stores.base import ObjectStore, join_key
from medvault.platform.warehouse import column_names, quote_literal

PREFIX = "marts"


def write_mart_parquet(con, store: ObjectStore, mart: MartDef, threshold: int) -> list[str]:
    """Write the mart's partitions; return the lake keys written."""
    folder = join_key(PREFIX, mart.name)
    partitioned = "site" in column_names(con, "marts", mart.name)
    with tempfile.TemporaryDirectory(prefix="medvault-parquet-") as tmp:
        out = Path(tmp) / mart.name
        options = (
            "FORMAT parquet, PARTITION_BY (site), OVERWRITE_OR_IGNORE" if partitioned else "FORMAT parquet"
        )
        target = out if partitioned else out.with_suffix(".parquet")
        con.execute(f"COPY ({published_select(mart, threshold)}) TO {quote_literal(str(target))} ({options})")
        files = sorted(out.rglob("*.parquet")) if partitioned else [target]
        written = []
        for path in files:
            relative = path.relative_to(out).as_posix() if partitioned else "data_0.parquet"
            key = join_key(folder, relative)
            store.upload(path, key)
            written.append(key)
    for stale in [o.key for o in store.list_objects(folder) if o.key not in written]:
        store.delete(stale)
    return written

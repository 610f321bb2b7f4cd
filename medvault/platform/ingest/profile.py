"""Column profile of a loaded table (one aggregate query), safe to show in asset metadata.

Values appear only as min/max of numeric, date, timestamp and boolean columns that are not pii. Text
columns get lengths instead of values: a free-text or id column (accession numbers, UIDs, comments) can
hold an identifier even when the rules do not mark it pii. For pii columns: type, nulls, distinct only.
"""

from __future__ import annotations

from medvault.platform.rules.models import TableDef
from medvault.platform.warehouse.sql import quote_ident as qi

MIN_ROWS_FOR_RANGES = 10  # a slice smaller than this shows no min/max at all


def profile(con, table: str, table_def: TableDef, min_rows: int = MIN_ROWS_FOR_RANGES) -> dict[str, dict]:
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE {qi(table)}").fetchall()}
    columns = [c for c in table_def.columns if c.name in types]
    if not columns:
        return {}
    selects = []
    for i, col in enumerate(columns):
        c = qi(col.name)
        selects.append(f"count(*) - count({c}) AS {qi(f'nulls{i}')}")
        # HyperLogLog: a profile needs the order of magnitude, and an exact count per column costs a hash
        # table each (a third of a small table's whole staging time)
        selects.append(f"approx_count_distinct({c}) AS {qi(f'distinct{i}')}")
        if col.pii or col.type == "json":
            selects.append(f"NULL AS {qi(f'min{i}')}, NULL AS {qi(f'max{i}')}")
        elif col.type == "varchar":
            selects.append(f"min(length({c})) AS {qi(f'min{i}')}, max(length({c})) AS {qi(f'max{i}')}")
        else:
            selects.append(
                f"CAST(min({c}) AS VARCHAR) AS {qi(f'min{i}')}, CAST(max({c}) AS VARCHAR) AS {qi(f'max{i}')}"
            )
    row = con.execute(f"SELECT count(*), {', '.join(selects)} FROM {qi(table)}").fetchall()[0]
    rows, row = row[0], row[1:]
    out: dict[str, dict] = {}
    for i, col in enumerate(columns):
        nulls, distinct, lo, hi = row[i * 4 : i * 4 + 4]
        entry = {"type": types[col.name], "nulls": int(nulls), "distinct": int(distinct)}
        if col.pii:
            entry["pii"] = True
        elif col.quasi_identifier or rows < min_rows:
            # the oldest birth date of three rows, or the range of a quasi-identifier, can single a patient out
            entry["range"] = "withheld"
        elif col.type == "varchar":
            entry["min_length"] = lo
            entry["max_length"] = hi
        else:
            entry["min"] = lo
            entry["max"] = hi
        out[col.name] = entry
    return out

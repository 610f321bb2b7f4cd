"""Type inference for undeclared columns (reported, never loaded): one aggregate query for all columns.

The first type every non-empty value fits wins, in this order: integer, float, date, timestamp,
boolean (true/false/yes/no words), json (objects/arrays), text. A column with no values is `text`.
"""

from __future__ import annotations

from medvault.platform.ingest.coerce import typed_sql
from medvault.platform.ingest.sql import qi

ORDER = ("integer", "float", "date", "timestamp", "boolean", "json")


def _checks(v: str) -> dict[str, str]:
    return {
        "integer": f"{typed_sql('bigint', v)} IS NOT NULL",
        "float": f"{typed_sql('double', v)} IS NOT NULL",
        "date": f"length({v}) <= 10 AND {typed_sql('date', v)} IS NOT NULL",  # not a timestamp's date part
        "timestamp": f"{typed_sql('timestamp', v)} IS NOT NULL",
        "boolean": f"lower({v}) IN ('true', 'false', 'yes', 'no')",
        "json": f"(left({v}, 1) IN ('[', '{{') AND json_valid({v}))",
    }


def infer_types(con, table: str, exprs: dict[str, str], where: str = "TRUE") -> dict[str, str]:
    """Inferred type per name for the SQL text expressions `exprs` over `table`."""
    if not exprs:
        return {}
    selects = []
    names = list(exprs)
    values = []
    for i, name in enumerate(names):
        values.append(f"NULLIF(trim(CAST({exprs[name]} AS VARCHAR)), '') AS {qi(f'v{i}')}")
        v = qi(f"v{i}")
        selects.append(f"count({v}) AS {qi(f'n{i}')}")
        for kind, cond in _checks(v).items():
            selects.append(f"count(*) FILTER (WHERE {v} IS NOT NULL AND {cond}) AS {qi(f'{kind}{i}')}")
    row = con.execute(
        f"SELECT {', '.join(selects)} FROM (SELECT {', '.join(values)} FROM {qi(table)} WHERE {where})"
    ).fetchall()[0]
    per = 1 + len(ORDER)
    out = {}
    for i, name in enumerate(names):
        counts = row[i * per : (i + 1) * per]
        total = counts[0]
        kind = "text"
        if total:
            for j, candidate in enumerate(ORDER, start=1):
                if counts[j] == total:
                    kind = candidate
                    break
        out[name] = kind
    return out

"""What a SELECT reads, asked of DuckDB's own parser (`json_serialize_sql`), without running it.

Why: a mart's SQL is configuration; before it runs, `rules check` must know that it is one SELECT, that
it reads only the tables its header declares (schema-qualified, or a CTE of its own), and never a file
or a URL through a table function (`read_csv`, `read_parquet`, ...).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import duckdb


@dataclass
class ReadSet:
    """The tables a statement reads ("schema.table"), and what is wrong with it (empty when nothing)."""

    tables: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


def select_reads(sql: str) -> ReadSet:
    out = ReadSet()
    con = duckdb.connect()
    try:
        tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0])
    except duckdb.Error as exc:
        out.problems.append(f"the SQL cannot be parsed: {exc}")
        return out
    finally:
        con.close()
    if tree.get("error"):
        message = tree.get("error_message", "")
        if "Only SELECT" in message:
            message = "only a SELECT (or WITH ... SELECT) may define a mart"
        out.problems.append(f"the SQL cannot be parsed: {message}")
        return out
    statements = tree.get("statements", [])
    if len(statements) != 1:
        out.problems.append(f"the SQL must be one SELECT statement, it has {len(statements)}")
    ctes: set[str] = set()
    refs: list[tuple[str, str]] = []
    _walk(tree, ctes, refs, out.problems)
    for schema, table in refs:
        if not schema:
            if table.lower() not in ctes:
                out.problems.append(f"table {table!r} has no schema (write zone.table, e.g. vault.{table})")
            continue
        out.tables.add(f"{schema.lower()}.{table.lower()}")
    return out


def _walk(node, ctes: set[str], refs: list[tuple[str, str]], problems: list[str]) -> None:
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "BASE_TABLE":
            if node.get("catalog_name"):
                problems.append(f"table {node.get('table_name')!r} names a catalog; read this warehouse only")
            refs.append((node.get("schema_name") or "", node.get("table_name") or ""))
        elif kind == "TABLE_FUNCTION":
            name = (node.get("function") or {}).get("function_name", "?")
            problems.append(f"reads through the table function {name}(); a mart reads declared tables only")
        for entry in (node.get("cte_map") or {}).get("map", []):
            ctes.add(str(entry.get("key", "")).lower())
        for value in node.values():
            _walk(value, ctes, refs, problems)
    elif isinstance(node, list):
        for value in node:
            _walk(value, ctes, refs, problems)

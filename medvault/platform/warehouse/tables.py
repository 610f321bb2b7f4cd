"""Table helpers every zone uses: existence, columns, create-or-evolve, row counts."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from medvault.platform.warehouse.sql import quote_ident


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, name],
    ).fetchone()
    return bool(row and row[0])


def column_names(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> list[str]:
    """Columns of a table in their order (empty when the table does not exist)."""
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [schema, name],
    ).fetchall()
    return [r[0] for r in rows]


def ensure_table(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    name: str,
    columns: Sequence[tuple[str, str]],
    *,
    not_null: Sequence[str] = (),
    primary_key: str | None = None,
) -> None:
    """Create the table, or add the columns a newer rule version declares (schema evolution: columns are
    only ever added, never dropped or retyped)."""
    full = f"{quote_ident(schema)}.{quote_ident(name)}"
    required = set(not_null) | ({primary_key} if primary_key else set())
    defs = [f"{quote_ident(c)} {t}" + (" NOT NULL" if c in required else "") for c, t in columns]
    if primary_key:
        defs.append(f"PRIMARY KEY ({quote_ident(primary_key)})")
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
    con.execute(f"CREATE TABLE IF NOT EXISTS {full} ({', '.join(defs)})")
    existing = set(column_names(con, schema, name))
    for col, typ in columns:
        if col not in existing:
            con.execute(f"ALTER TABLE {full} ADD COLUMN {quote_ident(col)} {typ}")


def tables_with_column(con: duckdb.DuckDBPyConnection, schema: str, column: str) -> list[str]:
    """Base tables of a schema that have `column` (say every table carrying `_site`)."""
    rows = con.execute(
        """SELECT c.table_name FROM information_schema.columns c
           JOIN information_schema.tables t USING (table_schema, table_name)
           WHERE c.table_schema = ? AND c.column_name = ? AND t.table_type = 'BASE TABLE' ORDER BY 1""",
        [schema, column],
    ).fetchall()
    return [r[0] for r in rows]


def row_count(con: duckdb.DuckDBPyConnection, schema: str, name: str, where: str = "", params=()) -> int:
    """Rows of a table, optionally filtered (`where` is SQL with `?` placeholders)."""
    clause = f" WHERE {where}" if where else ""
    sql = f"SELECT count(*) FROM {quote_ident(schema)}.{quote_ident(name)}{clause}"
    return int(con.execute(sql, list(params)).fetchone()[0])

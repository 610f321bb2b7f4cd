"""Staging tables: `staging.<system>__<table>` (one per source table across its versions) and the
`__latest` view, created from the rules and evolved as versions add columns."""

from __future__ import annotations

import duckdb

from medvault.platform.rules.models import SQL_TYPES, ColumnDef, Rules, SourceDef, TableDef
from medvault.platform.warehouse import ensure_table, row_count, table_exists
from medvault.platform.warehouse import quote_ident as q

SCHEMA = "staging"
META_COLUMNS = (
    ("_extras", "JSON"),  # undeclared columns of the file, typed by inference (see docs/ingestion.md)
    ("_site", "VARCHAR"),
    ("_date", "DATE"),
    ("_sha256", "VARCHAR"),
    ("_source_key", "VARCHAR"),
    ("_version", "VARCHAR"),
    ("_row_number", "BIGINT"),
    ("_loaded_at", "TIMESTAMP"),
)


def staging_name(system: str, table: str) -> str:
    """The one place a staging table's name is built from its system and source table."""
    return f"{system}__{table}"


def staging_table(system: str, table: str) -> str:
    """The qualified, quoted name: staging."<system>__<table>"."""
    return f"{SCHEMA}.{q(staging_name(system, table))}"


def union_columns(defs: list[tuple[SourceDef, TableDef]]) -> list[ColumnDef]:
    """Canonical columns across every version of a table, in order of first declaration."""
    seen: dict[str, ColumnDef] = {}
    for _, table in defs:
        for col in table.columns:
            prior = seen.get(col.name)
            if prior is not None and prior.type != col.type:
                raise ValueError(
                    f"{table.name}.{col.name}: type {col.type} here but {prior.type} in another version"
                )
            seen.setdefault(col.name, col)
    return list(seen.values())


def child_types(parent: dict[str, str], key: tuple[str, ...], child) -> dict[str, str]:
    """Columns of a child extract: the parent's key, the element's position, the element's columns."""
    types = {k: parent[k] for k in key} | {"line_no": "INTEGER"}
    return types | {c.name: SQL_TYPES[c.type] for c in child.columns}


def _latest_view(
    con: duckdb.DuckDBPyConnection, name: str, key: tuple[str, ...], modified: str | None
) -> None:
    if not key:
        return
    order = ", ".join(
        [*([f"{q(modified)} DESC NULLS LAST"] if modified else []), "_date DESC", "_row_number DESC"]
    )
    con.execute(
        f"""CREATE OR REPLACE VIEW {SCHEMA}.{q(name + "__latest")} AS
            SELECT * EXCLUDE (_rn) FROM (
              SELECT *, row_number() OVER (PARTITION BY _site, {", ".join(q(k) for k in key)} ORDER BY {order}) AS _rn
              FROM {SCHEMA}.{q(name)}) WHERE _rn = 1"""
    )


def ensure_staging_tables(con: duckdb.DuckDBPyConnection, rules: Rules, system: str, table: str) -> None:
    """Create (or add new columns to) the table, its children and its `__latest` view."""
    defs = rules.staged_tables()[(system, table)]
    columns = union_columns(defs)
    types = {c.name: SQL_TYPES[c.type] for c in columns}
    ensure_table(con, SCHEMA, staging_name(system, table), [*types.items(), *META_COLUMNS])
    _, newest = defs[-1]
    _latest_view(con, staging_name(system, table), newest.key, newest.modified)
    for child in newest.children:
        cols = child_types(types, newest.key, child)
        ensure_table(con, SCHEMA, staging_name(system, child.name), [*cols.items(), *META_COLUMNS])


def insert_slice(
    con: duckdb.DuckDBPyConnection, target: str, temp: str, types: dict[str, str], meta: list
) -> None:
    """Append a temp table's rows to a staging table, NULL for canonical columns this version lacks.
    `meta` is [site, date, sha256, source key, version]."""
    present = {r[0] for r in con.execute(f"DESCRIBE {q(temp)}").fetchall()}
    select = ", ".join(
        f"CAST({q(c)} AS {t})" if c in present else f"CAST(NULL AS {t})" for c, t in types.items()
    )
    extras = "_extras" if "_extras" in present else "CAST(NULL AS JSON)"
    con.execute(
        f"""INSERT INTO {SCHEMA}.{q(target)} ({", ".join(q(c) for c in types)}, _extras, _site, _date,
                _sha256, _source_key, _version, _row_number, _loaded_at)
            SELECT {select}, {extras}, ?, CAST(? AS DATE), ?, ?, ?, _row_number, current_timestamp FROM {q(temp)}""",
        meta,
    )


def slice_rows(con: duckdb.DuckDBPyConnection, target: str, site: str, date: str) -> int:
    """Rows of a staging table's (site, date) slice; 0 when the table does not exist yet."""
    if not table_exists(con, SCHEMA, target):
        return 0
    return row_count(con, SCHEMA, target, "_site = ? AND _date = ?", [site, date])


def delete_slice(con: duckdb.DuckDBPyConnection, target: str, site: str, date: str) -> None:
    con.execute(f"DELETE FROM {SCHEMA}.{q(target)} WHERE _site = ? AND _date = ?", [site, date])

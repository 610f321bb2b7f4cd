"""Explode a JSON array column into child rows (one per element, `line_no` 1-based).

Schema drift is harmonised here: an array of strings and an array of objects both explode. A scalar
element (string, number) lands in the child column whose `source` is `$` (or, when the child declares
no `$` column, in its first column); object elements fill the columns by their `source` paths. A value
that is a single object or scalar instead of an array counts as a one-element array.
"""

from __future__ import annotations

from medvault.platform.ingest import ejson
from medvault.platform.rules.models import ChildDef
from medvault.platform.warehouse.sql import json_path
from medvault.platform.warehouse.sql import quote_ident as qi

IS_RECORD = "(json_type(elem) = 'OBJECT' AND NOT coalesce(starts_with(json_keys(elem)[1], '$'), false))"
SCALAR = f"CASE WHEN {IS_RECORD} OR json_type(elem) = 'ARRAY' THEN NULL ELSE {ejson.scalar_sql('elem')} END"


def explode(con, parent: str, array_sql: str, out: str, eligible: str = "TRUE") -> None:
    """CREATE TEMP TABLE `out`(_row_number, line_no, elem JSON) from the JSON column `array_sql` of `parent`."""
    as_array = (
        f"CASE json_type({array_sql}) WHEN 'ARRAY' THEN {array_sql} "
        f"ELSE CAST('[' || CAST({array_sql} AS VARCHAR) || ']' AS JSON) END"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {qi(out)} AS SELECT p._row_number, CAST(e.key AS INTEGER) + 1 AS line_no, "
        f"e.value AS elem FROM (SELECT _row_number, {as_array} AS arr FROM {qi(parent)} "
        f"WHERE {array_sql} IS NOT NULL AND json_type({array_sql}) <> 'NULL' AND {eligible}) p, json_each(p.arr) e"
    )


def child_columns(child: ChildDef) -> list[tuple]:
    """(ColumnDef, SQL of its raw text over the exploded `elem`) for every child column."""
    has_self = any(c.source.strip() == "$" for c in child.columns)
    out = []
    for i, col in enumerate(child.columns):
        source = col.source.strip()
        if source == "$":
            expr = SCALAR
        else:
            value = f"json_extract(elem, {json_path(source.split('.'))})"
            expr = ejson.json_text_sql(value) if col.type == "json" else ejson.scalar_sql(value)
            expr = f"CASE WHEN {IS_RECORD} THEN {expr} END"
            if i == 0 and not has_self:
                expr = f"coalesce({expr}, {SCALAR})"
        out.append((col, expr))
    return out

"""Undeclared columns: type inference (at most two aggregate passes over the unpivoted cells) and their values as one JSON object per row.

The first type every non-empty value fits wins, in this order: integer, float, date, timestamp,
boolean (true/false/yes/no words), json (objects/arrays), text. A column with no values is `text`.
A value fits a type only when converting it loses nothing that matters:
- integer: optional sign, digits, optional `.0`, within BIGINT, and no leading zero (`007` is text:
  identifiers such as MRNs and postcodes keep their zeros);
- float: a finite number, no leading zero before other digits, at most 15 significant digits (a
  longer digit string, such as a 20-digit identifier, would not survive a DOUBLE);
- date: a date form of at most 10 characters (not a timestamp's date part); timestamp: any accepted
  timestamp form (offsets converted to UTC); boolean: the four words; json: an object or array.

`extras_table` keeps the values: `_extras` is a JSON object with one key per undeclared column whose
value is converted to the column's inferred type (integer/float -> JSON number, date -> `YYYY-MM-DD`,
timestamp -> `YYYY-MM-DDTHH:MM:SS[.ffffff]` UTC, boolean -> true/false, json -> embedded JSON,
text -> the string as read, untrimmed). An empty or whitespace-only value is JSON `null` (the key is
always present). A value that does not fit the inferred type is kept as a JSON string, as read.
"""

from __future__ import annotations

from medvault.platform.ingest.coerce import WHITESPACE, typed_sql
from medvault.platform.warehouse.sql import quote_ident as qi
from medvault.platform.warehouse.sql import quote_literal as ql

ORDER = ("integer", "float", "date", "timestamp", "boolean", "json")
NO_LEADING_ZERO = "NOT regexp_matches({v}, '^[+-]?0[0-9]')"
MAX_FLOAT_DIGITS = 15  # decimal digits a DOUBLE round-trips exactly
INLINE_COLUMNS = 64  # up to this many undeclared columns, one SQL expression each; beyond, one row per cell


def value_sql(expr: str) -> str:
    """The trimmed text of `expr`, NULL when empty."""
    return f"NULLIF(trim(CAST({expr} AS VARCHAR), {WHITESPACE}), '')"


def _digits(v: str) -> str:
    mantissa = f"regexp_replace({v}, '[eE].*$', '')"
    return f"length(trim(regexp_replace({mantissa}, '[^0-9]', '', 'g'), '0'))"


def _digit_first(v: str) -> str:
    return f"left({v}, 1) BETWEEN '0' AND '9'"


def fits_sql(kind: str, v: str) -> str:
    """Condition: trimmed non-NULL text `v` converts to `kind` without loss (see module doc).

    Cheap tests on the first character guard the costly casts (CASE short-circuits): every accepted
    number starts with a sign, a dot or a digit, every accepted date and timestamp with a digit.
    """
    if kind == "integer":
        return f"({typed_sql('bigint', v)} IS NOT NULL AND {NO_LEADING_ZERO.format(v=v)})"
    if kind == "float":
        return (
            f"(CASE WHEN left({v}, 1) IN ('+', '-', '.') OR {_digit_first(v)} THEN "
            f"{typed_sql('double', v)} IS NOT NULL AND {NO_LEADING_ZERO.format(v=v)} "
            f"AND {_digits(v)} <= {MAX_FLOAT_DIGITS} ELSE false END)"
        )
    if kind == "date":
        return (
            f"(CASE WHEN {_digit_first(v)} AND length({v}) <= 10 "
            f"THEN {typed_sql('date', v)} IS NOT NULL ELSE false END)"
        )
    if kind == "timestamp":
        return f"(CASE WHEN {_digit_first(v)} THEN {typed_sql('timestamp', v)} IS NOT NULL ELSE false END)"
    if kind == "boolean":
        return f"(lower({v}) IN ('true', 'false', 'yes', 'no'))"
    if kind == "json":
        return f"(left({v}, 1) IN ('[', '{{') AND json_valid({v}))"
    if kind == "text":
        return "TRUE"
    raise ValueError(f"unknown inferred type {kind!r}")


def infer_types(con, table: str, exprs: dict[str, str], where: str = "TRUE") -> dict[str, str]:
    """Inferred type per name for the SQL text expressions `exprs` over `table` (module doc).

    A few columns get one expression each (fastest over many rows); more than INLINE_COLUMNS are
    unpivoted, one row per cell, so the SQL stays the same size for 100 columns or 10,000 and the
    cost grows linearly with the cells (per-column expressions made planning quadratic).
    """
    if not exprs:
        return {}
    if len(exprs) <= INLINE_COLUMNS:
        return _infer_inline(con, table, exprs, where)
    return _infer_unpivoted(con, table, exprs, where)


def _infer_inline(con, table: str, exprs: dict[str, str], where: str) -> dict[str, str]:
    """infer_types with one expression per column: fastest for a few columns over many rows.

    The answer is the first kind in ORDER that every non-empty value fits. Pass 1 gives each value the
    first kind it fits (a short-circuit CASE: cheap checks decide most values) and per column the
    latest such kind k: no kind before k can fit every value. When every value's first kind is k, k is
    the answer; otherwise pass 2 (only for those columns) counts the values fitting each kind from k on.
    """
    names = list(exprs)
    values = [f"{value_sql(exprs[n])} AS {qi(f'v{i}')}" for i, n in enumerate(names)]
    base = f"(SELECT {', '.join(values)} FROM {qi(table)} WHERE {where})"
    text = len(ORDER)
    firsts, selects = [], []
    for i in range(len(names)):
        v = qi(f"v{i}")
        whens = " ".join(f"WHEN {fits_sql(kind, v)} THEN {j}" for j, kind in enumerate(ORDER))
        firsts.append(f"CASE WHEN {v} IS NOT NULL THEN CASE {whens} ELSE {text} END END AS {qi(f'k{i}')}")
        k = qi(f"k{i}")
        selects += [f"count({k})", f"max({k})", f"count(*) FILTER (WHERE {k} = (SELECT max({k}) FROM p))"]
    row = con.execute(
        f"WITH p AS MATERIALIZED (SELECT {', '.join(firsts)} FROM {base}) SELECT {', '.join(selects)} FROM p"
    ).fetchall()[0]
    out: dict[str, str] = {}
    pending: dict[int, tuple[int, int]] = {}  # column index -> (values, first candidate kind index)
    for i, name in enumerate(names):
        total, latest, same = row[3 * i : 3 * i + 3]
        if not total or latest == text:
            out[name] = "text"
        elif same == total:
            out[name] = ORDER[latest]
        else:
            pending[i] = (total, latest)
    if pending:
        counts = [
            f"count(*) FILTER (WHERE {qi(f'v{i}')} IS NOT NULL AND {fits_sql(ORDER[j], qi(f'v{i}'))})"
            for i, (_, latest) in pending.items()
            for j in range(latest, text)
        ]
        fitting = iter(con.execute(f"SELECT {', '.join(counts)} FROM {base}").fetchall()[0])
        for i, (total, latest) in pending.items():
            fit = [ORDER[j] for j in range(latest, text) if next(fitting) == total]
            out[names[i]] = fit[0] if fit else "text"
    return {n: out[n] for n in names}


def _infer_unpivoted(con, table: str, exprs: dict[str, str], where: str) -> dict[str, str]:
    """infer_types over one row per cell (see infer_types). Pass 1 gives each value the first kind it fits (a short-circuit
    CASE: cheap checks decide most values) and per column the latest such kind k: no kind before k
    can fit every value. When every value's first kind is k, k is the answer; otherwise pass 2 (only
    for those columns) counts the values fitting each kind from k on.
    """
    names = list(exprs)
    cells = ", ".join(f"CAST({exprs[n]} AS VARCHAR)" for n in names)
    text = len(ORDER)
    v = "v"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _mv_infer AS SELECT col, v FROM (SELECT "
        f"unnest(range({len(names)})) AS col, {value_sql(f'unnest([{cells}])')} AS v "
        f"FROM {qi(table)} WHERE {where}) WHERE v IS NOT NULL"
    )
    try:
        whens = " ".join(f"WHEN {fits_sql(kind, v)} THEN {j}" for j, kind in enumerate(ORDER))
        firsts = con.execute(
            f"SELECT col, count(*), max(k), count(*) FILTER (WHERE k = latest) FROM ("
            f"SELECT col, k, max(k) OVER (PARTITION BY col) AS latest FROM ("
            f"SELECT col, CASE {whens} ELSE {text} END AS k FROM _mv_infer)) GROUP BY col"
        ).fetchall()
        out = dict.fromkeys(names, "text")
        pending: dict[int, tuple[int, int]] = {}  # column index -> (values, first candidate kind index)
        for col, total, latest, same in firsts:
            if latest == text:
                continue
            if same == total:
                out[names[col]] = ORDER[latest]
            else:
                pending[col] = (total, latest)
        if pending:
            fits = ", ".join(f"count(*) FILTER (WHERE {fits_sql(kind, v)})" for kind in ORDER)
            wanted = ", ".join(str(col) for col in pending)
            rows = con.execute(
                f"SELECT col, {fits} FROM _mv_infer WHERE col IN ({wanted}) GROUP BY col"
            ).fetchall()
            for col, *counts in rows:
                total, latest = pending[col]
                fit = [ORDER[j] for j in range(latest, text) if counts[j] == total]
                out[names[col]] = fit[0] if fit else "text"
    finally:
        con.execute("DROP TABLE IF EXISTS _mv_infer")
    return out


def json_value_sql(kind: str, v: str, text: str, json_text: str | None = None) -> str:
    """JSON value of one undeclared cell: `v` its trimmed text (NULL when empty), `text` the text as read,
    `json_text` its JSON text (for `json`; defaults to `v`). Values not fitting `kind` stay strings."""
    if kind == "integer":
        typed = f"to_json({typed_sql('bigint', v)})"
    elif kind == "float":
        typed = f"to_json({typed_sql('double', v)})"
    elif kind == "date":
        typed = f"to_json(strftime({typed_sql('date', v)}, '%Y-%m-%d'))"
    elif kind == "timestamp":
        typed = f"to_json(replace(CAST(CAST({typed_sql('timestamp', v)} AS TIMESTAMP) AS VARCHAR), ' ', 'T'))"
    elif kind == "boolean":
        typed = f"to_json(lower({v}) IN ('true', 'yes'))"
    elif kind == "json":
        typed = f"TRY_CAST({json_text or v} AS JSON)"
    elif kind == "text":
        return f"CASE WHEN {v} IS NOT NULL THEN to_json({text}) END"
    else:
        raise ValueError(f"unknown inferred type {kind!r}")
    return (
        f"CASE WHEN {v} IS NULL THEN NULL WHEN {fits_sql(kind, v)} THEN coalesce({typed}, to_json({text})) "
        f"ELSE to_json({text}) END"
    )


def extras_table(
    con,
    source: str,
    out: str,
    fields: dict[str, tuple[str, str]],
    types: dict[str, str],
    row: str = "_row_number",
) -> None:
    """CREATE TEMP TABLE `out` (`row`, `_extras` JSON) from `source` (module doc), to join on `row`.

    `fields` maps each undeclared column name to (SQL of its text, SQL of its JSON text) over `source`;
    `types` gives its inferred type. Set-based: one JSON object per row, no loop over rows; like
    infer_types, one expression per column up to INLINE_COLUMNS, one row per cell beyond.
    """
    key = qi(row)
    if not fields:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {qi(out)} AS SELECT {key}, CAST(NULL AS JSON) AS _extras FROM {qi(source)}"
        )
    elif len(fields) <= INLINE_COLUMNS:
        _extras_inline(con, source, out, fields, types, key)
    else:
        _extras_unpivoted(con, source, out, fields, types, key)


def _extras_inline(con, source: str, out: str, fields: dict, types: dict, key: str) -> None:
    """extras_table with one json_object call over one expression per column."""
    names = list(fields)
    x = [qi(f"_mv_x{i}") for i in range(len(names))]
    v = [qi(f"_mv_v{i}") for i in range(len(names))]
    j = [qi(f"_mv_j{i}") for i in range(len(names))]
    jsons = [i for i, n in enumerate(names) if types[n] == "json"]
    # each source expression appears once, in its own projection (JSON extraction SQL can be long)
    texts = [f"CAST({fields[n][0]} AS VARCHAR) AS {x[i]}" for i, n in enumerate(names)]
    texts += [f"CAST({fields[names[i]][1]} AS VARCHAR) AS {j[i]}" for i in jsons]
    trimmed = [f"{value_sql(x[i])} AS {v[i]}" for i in range(len(names))]
    pairs = ", ".join(
        f"{ql(n)}, {json_value_sql(types[n], v[i], x[i], j[i] if types[n] == 'json' else None)}"
        for i, n in enumerate(names)
    )
    carried = ", ".join([key, *x, *(j[i] for i in jsons)])
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {qi(out)} AS SELECT {key}, json_object({pairs}) AS _extras "
        f"FROM (SELECT {carried}, {', '.join(trimmed)} FROM (SELECT {key}, {', '.join(texts)} FROM {qi(source)}))"
    )


def _extras_unpivoted(con, source: str, out: str, fields: dict, types: dict, key: str) -> None:
    """extras_table over one row per cell: its JSON value by a CASE on its column's type, then one
    object per source row (the SQL is the same size whatever the column count)."""
    names = list(fields)
    texts = ", ".join(f"CAST({fields[n][0]} AS VARCHAR)" for n in names)
    jsons = ", ".join(
        f"CAST({fields[n][1]} AS VARCHAR)" if types[n] == "json" else "CAST(NULL AS VARCHAR)" for n in names
    )
    columns = ", ".join(f"({i}, {ql(n)}, {ql(types[n])})" for i, n in enumerate(names))
    value = (
        "CASE kind "
        + " ".join(
            f"WHEN {ql(kind)} THEN {json_value_sql(kind, 'v', 'x', 'j' if kind == 'json' else None)}"
            for kind in (*ORDER, "text")
        )
        + " END"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {qi(out)} AS "
        f"WITH cells AS (SELECT {key} AS r, unnest(range({len(names)})) AS col, unnest([{texts}]) AS x, "
        f"unnest([{jsons}]) AS j FROM {qi(source)}), "
        f"typed AS (SELECT r, col, name, {value} AS value FROM "
        f"(SELECT *, {value_sql('x')} AS v FROM cells) JOIN (VALUES {columns}) AS c(col, name, kind) USING (col)) "
        f"SELECT r AS {key}, CAST('{{' || string_agg(CAST(to_json(name) AS VARCHAR) || ':' || "
        f"coalesce(CAST(value AS VARCHAR), 'null'), ',' ORDER BY col) || '}}' AS JSON) AS _extras "
        f"FROM typed GROUP BY r"
    )

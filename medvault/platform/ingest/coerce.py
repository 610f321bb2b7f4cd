"""Set-based SQL expressions that clean and type text values (one expression per column, no row loops).

Cleaning: trim (default on: spaces, tabs, CR/LF, NBSP, BOM), then case upper/lower when declared, then
empty string -> NULL. Typing uses TRY_ casts so a bad value becomes NULL (and a reason in validate.py):
- integer/bigint: optional sign, digits, optional `.0` (drift from doubles); `5.5` is rejected, not rounded
- double: any finite number
- boolean: true/false/t/f/1/0/y/n/yes/no (any case)
- date: `YYYY-MM-DD`, `YYYYMMDD`, `DD/MM/YYYY`, or an ISO timestamp (its written date part)
- timestamp: ISO with `T` or space, optional fraction; with `Z` or an offset it is converted to UTC and
  stored naive; also `YYYYMMDDHHMMSS`, `DD/MM/YYYY HH:MM[:SS]` and the date forms (midnight)
- json: valid JSON text
"""

from __future__ import annotations

from medvault.platform.rules.models import SQL_TYPES, ColumnDef
from medvault.platform.warehouse.sql import quote_literal as ql

WHITESPACE_CHARS = " \t\r\n\u00a0\ufeff"
WHITESPACE = ql(WHITESPACE_CHARS)
TRUE_WORDS = ("true", "t", "1", "y", "yes")
FALSE_WORDS = ("false", "f", "0", "n", "no")
DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%d/%m/%Y")
TIMESTAMP_FORMATS = ("%Y%m%d%H%M%S", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%Y%m%d", "%d/%m/%Y")


def sql_type(type_name: str) -> str:
    return SQL_TYPES[type_name]


def _may_need_trim(x: str) -> str:
    """True for every value trim() would change (so the result is always the trimmed value), and for a
    few it would not: trim() on every value costs ~3x a copy and most values need none. A first or last
    byte below '!' (space, tab, CR, LF), an NBSP anywhere, a BOM at either end: cheap tests, a third
    cheaper than a regular expression over both ends, and small to plan."""
    return (
        f"({x} < '!' OR right({x}, 1) < '!' OR contains({x}, '\u00a0') "
        f"OR starts_with({x}, '\ufeff') OR suffix({x}, '\ufeff'))"
    )


def clean_sql(col: ColumnDef, raw: str) -> str:
    """Trimmed, case-normalised text with empty strings as NULL."""
    x = f"CAST({raw} AS VARCHAR)"
    if col.trim:
        x = f"CASE WHEN {_may_need_trim(x)} THEN trim({x}, {WHITESPACE}) ELSE {x} END"
    if col.type != "json":
        if col.case == "upper":
            x = f"upper({x})"
        elif col.case == "lower":
            x = f"lower({x})"
    return f"NULLIF({x}, '')"


def _list(formats: tuple[str, ...]) -> str:
    return "[" + ", ".join(ql(f) for f in formats) + "]"


def typed_sql(type_name: str, s: str) -> str:
    """The typed value of cleaned text `s`, NULL when it cannot be read as `type_name`."""
    if type_name == "varchar":
        return s
    if type_name in ("integer", "bigint"):
        t = SQL_TYPES[type_name]
        return f"CASE WHEN regexp_full_match({s}, '[+-]?[0-9]+(\\.0*)?') THEN TRY_CAST({s} AS {t}) END"
    if type_name == "double":
        return f"CASE WHEN isfinite(TRY_CAST({s} AS DOUBLE)) THEN TRY_CAST({s} AS DOUBLE) END"
    if type_name == "boolean":
        trues = ", ".join(ql(w) for w in TRUE_WORDS)
        falses = ", ".join(ql(w) for w in FALSE_WORDS)
        return f"CASE WHEN lower({s}) IN ({trues}) THEN true WHEN lower({s}) IN ({falses}) THEN false END"
    if type_name == "date":
        return (
            f"CAST(COALESCE(TRY_STRPTIME({s}, {_list(DATE_FORMATS)}), "
            f"CASE WHEN regexp_matches({s}, '^\\d{{4}}-\\d{{2}}-\\d{{2}}[T ]\\d') "
            f"THEN TRY_STRPTIME(left({s}, 10), '%Y-%m-%d') END) AS DATE)"
        )
    if type_name == "timestamp":
        # Z or an offset after the date part -> convert to UTC (contains() is far cheaper than a regex)
        offset = (
            f"(suffix({s}, 'Z') OR suffix({s}, 'z') OR contains({s}, '+') OR contains(substr({s}, 11), '-'))"
        )
        return (
            f"CASE WHEN {offset} THEN timezone('UTC', TRY_CAST({s} AS TIMESTAMPTZ)) "
            f"ELSE coalesce(TRY_CAST({s} AS TIMESTAMP), TRY_STRPTIME({s}, {_list(TIMESTAMP_FORMATS)})) END"
        )
    if type_name == "json":
        return f"CASE WHEN json_valid({s}) THEN CAST({s} AS JSON) END"
    raise ValueError(f"unknown column type {type_name!r}")


def literal_sql(type_name: str, text: str) -> str:
    """A rule literal (min/max/allowed) typed like the column; `today`/`now` are relative."""
    word = text.strip().lower()
    if type_name == "date" and word in ("today", "now"):
        return "current_date"
    if type_name == "timestamp" and word in ("today", "now"):
        return "CAST(timezone('UTC', now()) AS TIMESTAMP)"
    return typed_sql(type_name, ql(text.strip()))

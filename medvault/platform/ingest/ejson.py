"""MongoDB extended JSON (`{"$oid": ..}`, `{"$date": ..}`, `{"$numberLong": ..}` ...) to plain values.

Two forms of the same rules:
- `scalar_sql(v)`: a set-based SQL expression turning one JSON value into text (leaves of declared
  columns and exploded child elements): wrappers unwrap, dates become ISO UTC text, plain strings lose
  their quotes, objects and arrays stay JSON text.
- `unwrap(value)` / `unwrap_text(text)`: the recursive Python form, used through a DuckDB scalar
  function only for `json`-typed columns whose text contains a `"$` key, so stored JSON holds no wrappers.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta

from medvault.platform.warehouse.sql import quote_literal as ql

NUMBER_KEYS = ("$numberLong", "$numberInt", "$numberDouble", "$numberDecimal")
UDF_NAME = "medvault_ejson_unwrap"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ms_to_iso(ms: int) -> str:
    return (_EPOCH + timedelta(milliseconds=ms)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def unwrap(value):
    """Recursively replace extended-JSON wrappers by plain JSON values."""
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        key, inner = next(iter(value.items()))
        if key == "$oid":
            return inner
        if key == "$date":
            if isinstance(inner, dict) and "$numberLong" in inner:
                return _ms_to_iso(int(inner["$numberLong"]))
            if isinstance(inner, (int, float)) and not isinstance(inner, bool):
                return _ms_to_iso(int(inner))
            return inner
        if key in NUMBER_KEYS:
            try:
                number = float(inner)
                if key in ("$numberLong", "$numberInt"):
                    return int(inner)
                return number if number == number and abs(number) != float("inf") else str(inner)
            except (TypeError, ValueError):
                return inner
    return {k: unwrap(v) for k, v in value.items()}


def unwrap_text(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return json.dumps(unwrap(json.loads(text)), ensure_ascii=False, separators=(",", ":"))
    except (ValueError, TypeError, OverflowError):
        return text


def register(con) -> bool:
    """Register the unwrap UDF on `con` if missing; True when this call registered it."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_functions() WHERE function_name = ?", [UDF_NAME]
    ).fetchall()[0][0]
    if exists:
        return False
    con.create_function(UDF_NAME, unwrap_text, ["VARCHAR"], "VARCHAR", side_effects=False)
    return True


def unregister(con) -> None:
    with contextlib.suppress(Exception):  # already removed or never registered
        con.remove_function(UDF_NAME)


def _date_sql(d: str) -> str:
    ms_fmt = ql("%Y-%m-%dT%H:%M:%S.%gZ")
    return (
        f"CASE json_type({d}) "
        f"WHEN 'OBJECT' THEN strftime(epoch_ms(TRY_CAST({d}->>'$.\"$numberLong\"' AS BIGINT)), {ms_fmt}) "
        f"WHEN 'VARCHAR' THEN {d}->>'$' "
        f"ELSE strftime(epoch_ms(TRY_CAST({d}->>'$' AS BIGINT)), {ms_fmt}) END"
    )


def scalar_sql(v: str) -> str:
    """SQL text of JSON value `v` with wrappers unwrapped (NULL for JSON null / missing)."""
    date = f"({v}->'$.\"$date\"')"
    numbers = " ".join(f"WHEN json_exists({v}, '$.\"{k}\"') THEN {v}->>'$.\"{k}\"'" for k in NUMBER_KEYS)
    return (
        f"CASE WHEN {v} IS NULL OR json_type({v}) = 'NULL' THEN NULL "
        f"WHEN json_type({v}) = 'OBJECT' THEN CASE "
        f"WHEN json_exists({v}, '$.\"$oid\"') THEN {v}->>'$.\"$oid\"' "
        f"WHEN json_exists({v}, '$.\"$date\"') THEN {_date_sql(date)} "
        f"{numbers} "
        f"ELSE CAST({v} AS VARCHAR) END "
        f"WHEN json_type({v}) = 'ARRAY' THEN CAST({v} AS VARCHAR) "
        f"ELSE {v}->>'$' END"
    )


# Textual rewrites for the common wrappers. They cannot match inside JSON strings (quotes there are
# escaped), so they are safe on JSON text; whatever still holds a `"$` key goes through the Python UDF.
_REWRITES = (
    (
        r'\{\s*"\$number(?:Long|Int|Double|Decimal)"\s*:\s*"(-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)"\s*\}',
        r"\1",
    ),
    (r'\{\s*"\$(?:oid|date)"\s*:\s*("[^"\\]*")\s*\}', r"\1"),
)


def json_text_sql(v: str) -> str:
    """JSON text of value `v` for a json-typed column, with extended-JSON wrappers removed.

    Regex rewrites handle `$oid`, string `$date` and numeric `$numberX` set-based; only text that still
    holds a `"$` key afterwards (such as `{"$date": {"$numberLong": ..}}`) is passed to the Python UDF.
    """
    text = f"CAST({v} AS VARCHAR)"
    rewritten = text
    for pattern, replacement in _REWRITES:
        rewritten = f"regexp_replace({rewritten}, {ql(pattern)}, {ql(replacement)}, 'g')"
    return (
        f"CASE WHEN {v} IS NULL OR json_type({v}) = 'NULL' THEN NULL "
        f"WHEN NOT contains({text}, '\"$') THEN {text} "
        f"WHEN contains({rewritten}, '\"$') THEN {UDF_NAME}({rewritten}) "
        f"ELSE {rewritten} END"
    )

"""Data Vault 2.0 hash keys and hashdiffs, as SQL expressions plus a Python reference.

Convention (AutomateDV's, with datavault4dbt-style escaping; see docs/vault.md):

* each column is normalised as ``NULLIF(UPPER(TRIM(CAST(x AS VARCHAR))), '')`` for hash keys and as
  ``NULLIF(TRIM(CAST(x AS VARCHAR)), '')`` for hashdiffs (payload case is kept);
* the escape character and the two characters with a meaning in the concatenated string are escaped:
  ``\\`` -> ``\\\\``, ``|`` -> ``\\|``, ``^`` -> ``\\^``, so no value can fake a delimiter or the NULL marker
  (``'a||b' + 'c'`` and ``'a' + 'b||c'`` hash differently, and so do ``'a|' + 'b'`` and ``'a' + '|b'``);
* a NULL (or empty) column becomes ``'^^'``;
* columns are joined with ``'||'`` (hash keys in their declared order, hashdiffs sorted by name);
* the string is hashed with MD5 and stored as a 16-byte ``BLOB`` (``unhex(md5(...))``);
* a hash key whose business-key columns are all NULL is NULL (the row has no key and is skipped), or,
  with ghost records on (the default, `ghost_records:` in rules/vault), the zero key: 16 zero bytes,
  which no MD5 of real input gives in practice, pointing at the hub's ghost row (ghosts.py).

Hash keys carry the tenant: every hub key is ``hash(site, bk_1, ..., bk_n)`` because patient ids are only
unique within a site. The site takes part in the hash but not in the all-NULL test.

SQL builders take SQL expressions (usually quoted column names) and return SQL expressions, so the
loaders stay set-based. ``hash_key`` / ``hashdiff`` are the Python reference used by tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from medvault.platform.warehouse.sql import quote_ident

DELIMITER = "||"
NULL_MARKER = "^^"
HASH_SQL_TYPE = "BLOB"  # 16 raw MD5 bytes
HASH_BYTES = 16
# the key of a missing business key when ghost records are on (AutomateDV/datavault4dbt's zero key)
ZERO_KEY = bytes(HASH_BYTES)
ZERO_KEY_SQL = "'" + "\\x00" * HASH_BYTES + "'::BLOB"


def _escape_sql(expr: str) -> str:
    """Escape only values that hold a special character: the test costs a scan, replacing allocates
    (DuckDB computes the repeated `expr` once)."""
    escaped = f"replace(replace(replace({expr}, '\\', '\\\\'), '|', '\\|'), '^', '\\^')"
    special = f"contains({expr}, '\\') OR contains({expr}, '|') OR contains({expr}, '^')"
    return f"CASE WHEN {special} THEN {escaped} ELSE {expr} END"


def normalize_sql(expr: str, *, upper: bool = True) -> str:
    """SQL for one normalised, escaped hash input (NULL when the value is NULL or blank)."""
    inner = f"TRIM(CAST({expr} AS VARCHAR))"
    if upper:
        inner = f"UPPER({inner})"
    return _escape_sql(f"NULLIF({inner}, '')")


def _concat_sql(exprs: Sequence[str], *, upper: bool, normalized: bool = False) -> str:
    parts = [
        f"COALESCE({e if normalized else normalize_sql(e, upper=upper)}, '{NULL_MARKER}')" for e in exprs
    ]
    return f" || '{DELIMITER}' || ".join(parts)


def hash_key_sql(
    exprs: Sequence[str], *, tenant: str | None = None, normalized: bool = False, missing: str = "NULL"
) -> str:
    """SQL for a hash key over `exprs` (declared order), prefixed by `tenant` when given.

    `missing` (NULL, or ZERO_KEY_SQL for ghost records) when every expression of `exprs` is NULL or
    blank (the tenant does not count).
    `normalized`: the expressions (tenant included) are `normalize_sql` results already, computed once
    for several keys (the hashed batch does this), so the key does not repeat them.
    """
    if not exprs:
        raise ValueError("a hash key needs at least one column")
    all_null = " AND ".join(f"{e if normalized else normalize_sql(e)} IS NULL" for e in exprs)
    inputs = ([tenant] if tenant is not None else []) + list(exprs)
    return f"CASE WHEN {all_null} THEN {missing} ELSE unhex(md5({_concat_sql(inputs, upper=True, normalized=normalized)})) END"


def hashdiff_sql(columns: Sequence[str], *, alias: str | None = None, normalized=None) -> str:
    """SQL for a hashdiff over payload `columns` (names; sorted alphabetically, case kept).

    `normalized(name)`: the SQL of that column's `normalize_sql(..., upper=False)` result, computed once
    elsewhere (None: normalise here)."""
    if not columns:
        raise ValueError("a hashdiff needs at least one column")
    if normalized is not None:
        exprs = [normalized(c) for c in sorted(columns)]
        return f"unhex(md5({_concat_sql(exprs, upper=False, normalized=True)}))"
    prefix = f"{alias}." if alias else ""
    exprs = [prefix + quote_ident(c) for c in sorted(columns)]
    return f"unhex(md5({_concat_sql(exprs, upper=False)}))"


# --- Python reference -------------------------------------------------------------------------------


def _to_text(value: Any) -> str | None:
    """What `CAST(value AS VARCHAR)` gives in DuckDB for the common Python types."""
    if value is None:
        return None
    try:
        import pandas as pd

        if value is pd.NaT or (isinstance(value, float) and value != value):
            return None
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def normalize(value: Any, *, upper: bool = True) -> str | None:
    text = _to_text(value)
    if text is None:
        return None
    text = text.strip(" ")  # DuckDB TRIM removes spaces only
    if upper:
        text = text.upper()
    if text == "":
        return None
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("^", "\\^")


def _digest(parts: Sequence[str | None]) -> bytes:
    joined = DELIMITER.join(NULL_MARKER if p is None else p for p in parts)
    return hashlib.md5(joined.encode("utf-8")).digest()


def hash_key(values: Sequence[Any], *, tenant: Any = None, ghost: bool = False) -> bytes | None:
    """Reference for `hash_key_sql`: 16 bytes, or when every value is NULL/blank None (the zero key
    with `ghost`)."""
    parts = [normalize(v) for v in values]
    if all(p is None for p in parts):
        return ZERO_KEY if ghost else None
    if tenant is not None:
        parts = [normalize(tenant)] + parts
    return _digest(parts)


def hashdiff(payload: dict[str, Any]) -> bytes:
    """Reference for `hashdiff_sql`: columns sorted by name, case kept."""
    return _digest([normalize(payload[k], upper=False) for k in sorted(payload)])

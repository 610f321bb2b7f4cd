"""As-of views over each satellite: what was in force when, whatever order the batches arrived in.

* `vault.<satellite>__history`: per parent key, one row per change in force, with `effective_to` (the
  next change's effective_ts, NULL for the current one). Of the stored versions of one
  (key, effective_ts) (in the satellite or its `__seen` table of repeats), the correction from the latest
  partition, then the latest load, stands; a version whose payload repeats its predecessor's is not a
  change (it is kept in the table: loads never delete).
  The payload in force at time t: the row with effective_ts <= t < effective_to (or effective_to NULL).
  The ghost row (ghosts.py) is a version of the zero key, in force from the beginning of all times:
  what a PIT points at before a key's first version.
* `vault.<satellite>__current`: the row in force now, one per key; not the ghost row, which is nobody's
  state.

Views, not tables: they follow every load at no load cost; the marts and checks read them.
"""

from __future__ import annotations

from medvault.platform.vault.hashing import ZERO_KEY_SQL
from medvault.platform.vault.kinds.satellite import META, payload_columns, seen_table
from medvault.platform.vault.model import (
    HISTORISED,
    MULTI_ROW,
    SCHEMA,
    VaultModel,
    VaultObject,
    hash_column,
    table_name,
)
from medvault.platform.warehouse import quote_ident as q


def history_view(satellite: str) -> str:
    return f"{SCHEMA}.{q(satellite + '__history')}"


def current_view(satellite: str) -> str:
    return f"{SCHEMA}.{q(satellite + '__current')}"


def _history_sql(obj: VaultObject) -> str:
    key = q(hash_column(obj.parent))
    meta = ", ".join(c for c, _ in META)
    payload = payload_columns(obj)  # by position: a payload column may be named like part of a META one
    # a multi-active satellite: a version is several rows (one per sub-sequence), all of them its payload
    versions, first = ("SELECT DISTINCT", "rank()") if obj.kind in MULTI_ROW else ("SELECT", "row_number()")
    return f"""
        WITH versions AS (
            {versions} {key}, hashdiff, {meta} FROM {table_name(obj.name)}
            UNION ALL
            SELECT {key}, hashdiff, {meta} FROM {seen_table(obj.name)}
        ),
        standing AS (
            SELECT * FROM versions
            QUALIFY row_number() OVER (
                PARTITION BY {key}, effective_ts ORDER BY _date DESC, load_ts DESC) = 1
        ),
        changes AS (
            SELECT * FROM standing
            QUALIFY lag(hashdiff) OVER (PARTITION BY {key} ORDER BY effective_ts) IS DISTINCT FROM hashdiff
        ),
        spans AS (  -- per version, before its payload rows are joined (a multi-active version has several)
            SELECT *, lead(effective_ts) OVER (PARTITION BY {key} ORDER BY effective_ts) AS effective_to
            FROM changes
        ),
        payloads AS (
            SELECT {key}, hashdiff, {", ".join(q(c) for c in payload)} FROM {table_name(obj.name)}
            QUALIFY {first} OVER (PARTITION BY {key}, hashdiff ORDER BY effective_ts) = 1
        )
        SELECT c.{key}, c.hashdiff, {", ".join(f"p.{q(c)}" for c in payload)},
               c.effective_ts, c.load_ts, c.record_source, c._site, c._date, c.effective_to
        FROM spans c JOIN payloads p ON p.{key} = c.{key} AND p.hashdiff = c.hashdiff
    """


def views(model: VaultModel) -> list[tuple[str, str]]:
    """(view name in schema vault, its SELECT) for every satellite's as-of views."""
    out = []
    for obj in model.objects.values():
        if obj.kind not in HISTORISED:
            continue
        out.append((obj.name + "__history", _history_sql(obj)))
        key = q(hash_column(obj.parent))
        current = (
            f"SELECT * FROM {history_view(obj.name)} WHERE effective_to IS NULL AND {key} <> {ZERO_KEY_SQL}"
        )
        out.append((obj.name + "__current", current))
    return out


def view_ddl(model: VaultModel) -> list[str]:
    return [f"CREATE OR REPLACE VIEW {SCHEMA}.{q(name)} AS {sql}" for name, sql in views(model)]

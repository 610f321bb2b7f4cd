"""What hubs and links share: insert-if-absent by hash key, from the hashed batches.

Within a batch one row per hash key wins (first load in rule order, then lowest `_row_number`, by a
hash aggregate rather than a sort); rows without a key (all-NULL business key) are skipped; keys the
table already has are not inserted again (an anti-join, no index needed), so a rerun inserts nothing.
"""

from __future__ import annotations

from medvault.platform.vault.batch import hk
from medvault.platform.vault.model import VaultObject, table_name
from medvault.platform.warehouse import quote_ident as q


def order_key(i: int) -> str:
    """Rule order, then file order: the row that wins when a key appears more than once."""
    return f"(CAST({i} AS BIGINT) << 32) + _row_number"


def insert_if_absent(obj: VaultObject, batches, fields, not_null) -> str | None:
    """The INSERT of a hub or link from its `batches` [(load index, batch table)]. `fields(i)`: (batch
    expression, column) pairs between the hash key and load_ts, in table order; `not_null(i)`: the
    keep condition. None when no batch feeds it."""
    parts = []
    for i, table in batches:
        cols = ", ".join(f"{expr} AS {q(name)}" for expr, name in fields(i))
        parts.append(
            f"SELECT {hk(obj.name)} AS hk, {cols}, record_source, {order_key(i)} AS _order "
            f"FROM {table} WHERE {not_null(i)}"
        )
    if not parts:
        return None
    names = [name for _, name in fields(batches[0][0])]
    target = table_name(obj.name)
    packed = ", ".join(f"{q(n)}: {q(n)}" for n in [*names, "record_source"])
    out = ", ".join(f"b.w.{q(n)}" for n in names)
    columns = ", ".join(q(c) for c, _ in obj.columns)
    return f"""
        INSERT INTO {target} ({columns})
        WITH src AS ({" UNION ALL ".join(parts)}),
        winner AS (SELECT hk, arg_min({{{packed}}}, _order) AS w FROM src GROUP BY hk)
        SELECT b.hk, {out}, CAST($load_ts AS TIMESTAMP), b.w.record_source
        FROM winner b ANTI JOIN {target} t ON t.{q(obj.hash_key)} = b.hk
    """

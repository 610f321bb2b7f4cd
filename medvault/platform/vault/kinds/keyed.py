"""What hubs and links share: insert-if-absent by hash key, from the hashed batches.

Within a batch one row per hash key wins (hubs: first load in rule order, then lowest `_row_number`;
links, whose every column follows from the key: the smallest record_source; by a hash aggregate
rather than a sort); rows the kind's condition leaves out (a hub: no business key; a link: no real
end) are skipped; keys the table already has are not inserted again (an anti-join before the choice,
no index needed), so a rerun inserts nothing.
"""

from __future__ import annotations

from medvault.platform.vault.batch import hk
from medvault.platform.vault.model import VaultObject, table_name
from medvault.platform.warehouse import quote_ident as q


def order_key(i: int) -> str:
    """Rule order, then file order: the row that wins when a key appears more than once."""
    return f"(CAST({i} AS BIGINT) << 32) + _row_number"


def insert_if_absent(
    obj: VaultObject, batches, fields, not_null, dependent: bool = False, entries=None
) -> str | None:
    """The INSERT of a hub or link from its `batches` [(load index, batch table)]. `fields(i, entry)`:
    (batch expression, column) pairs between the hash key and load_ts, in table order; `not_null(i,
    entry)`: the keep condition; `entries(i)`: the names load i maps the object under (a hub may be
    mapped once plainly and again in roles, `hub_event.study`; default: its own name), each read as a
    source of rows. `dependent`: every field is a function of the hash key (a link's hub keys and
    site), so the batch is grouped by them all and the smallest record_source kept, which is cheaper
    than choosing a row. None when no batch feeds it."""
    parts = []
    for i, table in batches:
        for entry in entries(i) if entries else [obj.name]:
            cols = ", ".join(f"{expr} AS {q(name)}" for expr, name in fields(i, entry))
            parts.append(
                f"SELECT {hk(entry)} AS hk, {cols}, record_source, {order_key(i)} AS _order "
                f"FROM {table} WHERE {not_null(i, entry)}"
            )
    if not parts:
        return None
    first = batches[0][0]
    names = [name for _, name in fields(first, entries(first)[0] if entries else obj.name)]
    target = table_name(obj.name)
    columns = ", ".join(q(c) for c, _ in obj.columns)
    if dependent:
        grouped = ", ".join(q(n) for n in names)
        winner = f"SELECT hk, {grouped}, min(record_source) AS record_source FROM src GROUP BY hk, {grouped}"
        out = ", ".join(f"b.{q(n)}" for n in [*names])
        source = "b.record_source"
    else:
        packed = ", ".join(f"{q(n)}: {q(n)}" for n in [*names, "record_source"])
        winner = f"SELECT hk, arg_min({{{packed}}}, _order) AS w FROM src GROUP BY hk"
        out = ", ".join(f"b.w.{q(n)}" for n in names)
        source = "b.w.record_source"
    # the rows of keys the table has are dropped before the winners are chosen: a delta, whose keys are
    # mostly known, aggregates only its new keys (an empty table's anti-join costs nothing)
    return f"""
        INSERT INTO {target} ({columns})
        WITH all_rows AS ({" UNION ALL ".join(parts)}),
        src AS (SELECT * FROM all_rows s ANTI JOIN {target} t ON t.{q(obj.hash_key)} = s.hk),
        winner AS ({winner})
        SELECT b.hk, {out}, CAST($load_ts AS TIMESTAMP), {source}
        FROM winner b
    """

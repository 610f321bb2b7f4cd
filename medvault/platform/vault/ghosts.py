"""Ghost records: the zero key and one ghost row per hub and satellite, so an inner join never drops a
row whose business key is missing (AutomateDV's and datavault4dbt's ghost records).

With `ghost_records: true` (the default) the hashed batch gives a missing business key the zero key
(hashing.ZERO_KEY, 16 zero bytes) instead of NULL:

* a hub never stores a staged row under the zero key; it holds one ghost row instead: the zero key,
  NULL site and business key, `load_ts` GHOST_TS, `record_source` SYSTEM;
* a link keeps a row whose end is missing, pointing that end at the zero key (a row needs one real end);
* a satellite stores nothing for a missing parent key; it holds one ghost row: the zero key and
  hashdiff, NULL payload, `effective_ts` and `load_ts` GHOST_TS, so a PIT can point at it before a key's
  first version (pit.py) and PIT -> satellite is an inner join.

The ghost rows are inserted once, when absent (insert-only, idempotent), whenever the vault's tables
are ensured (ddl.create_vault_tables). Readers that count keys skip the zero key (`real_key`).
"""

from __future__ import annotations

from datetime import datetime

from medvault.platform.vault.hashing import ZERO_KEY_SQL
from medvault.platform.vault.model import HISTORISED, VaultModel, VaultObject, hash_column, table_name
from medvault.platform.warehouse import quote_ident as q

# the beginning of all times (datavault4dbt's ghost load date): before every real load and version
GHOST_TS = datetime(1, 1, 1)
GHOST_TS_SQL = "TIMESTAMP '0001-01-01 00:00:00'"
GHOST_SOURCE = "SYSTEM"


def real_key(expr: str) -> str:
    """SQL: `expr` is a key of a row (neither NULL nor the zero key)."""
    return f"({expr} IS NOT NULL AND {expr} <> {ZERO_KEY_SQL})"


def is_zero(expr: str) -> str:
    return f"({expr} = {ZERO_KEY_SQL})"


def link_row(ends: list[str]) -> str:
    """SQL: a batch row is a link row: every end has a key (the zero key for a missing business key
    with ghost records on; NULL, which drops the row, with them off) and at least one end is real."""
    present = " AND ".join(f"{e} IS NOT NULL" for e in ends)
    real = " OR ".join(f"{e} <> {ZERO_KEY_SQL}" for e in ends)
    return f"({present} AND ({real}))"


def has_ghost(obj: VaultObject) -> bool:
    """Hubs and historised satellites get a ghost row; links are pointed at hubs' ghosts instead, and a
    record-tracking satellite records presence, which the zero key never has."""
    return obj.kind == "hub" or obj.kind in HISTORISED


def _key(obj: VaultObject) -> str:
    return obj.hash_key if obj.kind == "hub" else hash_column(obj.parent)


def _value(obj: VaultObject, column: str, key: str) -> str:
    if column in (key, "hashdiff"):
        return ZERO_KEY_SQL
    if column in ("load_ts", "effective_ts"):
        return GHOST_TS_SQL
    if column == "record_source":
        return f"'{GHOST_SOURCE}'"
    return "NULL"


def ghost_sql(obj: VaultObject) -> str:
    """INSERT of the object's ghost row unless the table has it."""
    key = _key(obj)
    columns = ", ".join(q(c) for c, _ in obj.columns)
    values = ", ".join(f"CAST({_value(obj, c, key)} AS {t}) AS {q(c)}" for c, t in obj.columns)
    target = table_name(obj.name)
    return (
        f"INSERT INTO {target} ({columns}) SELECT {values} "
        f"WHERE NOT EXISTS (SELECT 1 FROM {target} WHERE {q(key)} = {ZERO_KEY_SQL})"
    )


def missing_ghosts(con, model: VaultModel) -> list[VaultObject]:
    """The objects that should hold a ghost row and do not, in one query."""
    wanted = [o for o in model.objects.values() if has_ghost(o)]
    if not wanted:
        return []
    probes = " UNION ALL ".join(
        f"SELECT {n} AS i WHERE NOT EXISTS (SELECT 1 FROM {table_name(o.name)} WHERE {q(_key(o))} = {ZERO_KEY_SQL})"
        for n, o in enumerate(wanted)
    )
    return [wanted[i] for (i,) in con.execute(probes).fetchall()]


def ensure_ghosts(con, model: VaultModel) -> int:
    """Insert the ghost row of every hub and satellite that lacks it (ghost records on); returns how many."""
    if not model.ghosts:
        return 0
    missing = missing_ghosts(con, model)
    for obj in missing:
        con.execute(ghost_sql(obj))
    return len(missing)

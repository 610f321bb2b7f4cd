"""What hubs and links share: keys hashed per load, and insert-if-absent by hash key.

Within a batch one row per hash key wins (first load in rule order, then lowest `_row_number`); rows
without a key (all-NULL business key) are skipped; keys the table already has are not inserted again,
so a rerun inserts nothing.
"""

from __future__ import annotations

from medvault.platform.rules.models import Rules, VaultLoad
from medvault.platform.vault.hashing import hash_key_sql
from medvault.platform.vault.model import VaultModel, VaultObject, staging_table, table_name
from medvault.platform.warehouse import quote_ident as q

PARTITION = "WHERE _site = $site AND _date = $date"


def record_source(load: VaultLoad) -> str:
    return f"'{load.source}/' || _version"


def hub_key(rules: Rules, load: VaultLoad, hub: str) -> str:
    cols = load.hubs[hub]
    if len(cols) != len(rules.vault.hubs[hub].business_key):
        raise ValueError(f"{load.source}: hub {hub} needs {len(rules.vault.hubs[hub].business_key)} columns")
    return hash_key_sql([q(c) for c in cols], tenant="_site")


def link_key(rules: Rules, load: VaultLoad, link: str) -> str:
    exprs = [q(c) for h in rules.vault.links[link].hubs for c in load.hubs[h]]
    return hash_key_sql(exprs, tenant="_site")


def parent_key(rules: Rules, load: VaultLoad, parent: str) -> str:
    """Hash key of a hub or a link, as computed from one load's staged columns."""
    return hub_key(rules, load, parent) if parent in rules.vault.hubs else link_key(rules, load, parent)


def insert_if_absent(
    model: VaultModel,
    obj: VaultObject,
    present,
    select_parts,
    not_null: str,
    out_columns: str,
) -> str | None:
    """The INSERT for a hub or link: `select_parts(i, load)` gives each feeding load's SELECT (with `hk`,
    `_load` and `_row_number` columns), `not_null` the keep condition, `out_columns` the batch columns to
    insert after the hash key. None when no feeding staging table exists yet."""
    parts = [
        f"{select_parts(i, model.load(i))}, {i} AS _load, _row_number FROM {staging_table(model.load(i))} {PARTITION}"
        for i in obj.feeds
        if present(model.load(i))
    ]
    if not parts:
        return None
    target = table_name(obj.name)
    cols = ", ".join(q(c) for c, _ in obj.columns)
    return f"""
        INSERT INTO {target} ({cols})
        WITH src AS ({" UNION ALL ".join(parts)}),
        batch AS (
            SELECT * FROM src WHERE {not_null}
            QUALIFY row_number() OVER (PARTITION BY hk ORDER BY _load, _row_number) = 1
        )
        SELECT b.hk, {out_columns}, CAST($load_ts AS TIMESTAMP), b.record_source
        FROM batch b
        WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE t.{q(obj.hash_key)} = b.hk)
    """

"""Vault tables created from the compiled model: one table per hub, link and satellite in schema `vault`.

Table shapes (see docs/vault.md):

* hub:       hk_<hub> BLOB PRIMARY KEY, site, <business key columns as VARCHAR>, load_ts, record_source
* link:      hk_<link> BLOB PRIMARY KEY, hk_<hub> per hub (declared order), site, load_ts, record_source
* satellite: hk_<parent>, hashdiff, <payload columns typed as staged>, effective_ts, load_ts,
             record_source, _site, _date

`site` in hubs and links is the tenant part of the business key (data); `_site`/`_date` in satellites say
which staged partition a row came from (lineage). Creation is idempotent; a table that gains columns in
the rules gets them added (`ALTER TABLE ADD COLUMN`), nothing is ever dropped.
"""

from __future__ import annotations

from medvault.platform.rules.models import Rules
from medvault.platform.vault.model import SCHEMA, VaultModel, compile_vault, table_name
from medvault.platform.warehouse import ensure_table
from medvault.platform.warehouse import quote_ident as q


def _create(obj) -> str:
    cols = [f"    {q(c)} {t}" + (" NOT NULL" if c in obj.not_null else "") for c, t in obj.columns]
    if obj.hash_key:
        cols.append(f"    PRIMARY KEY ({q(obj.hash_key)})")
    return f"CREATE TABLE IF NOT EXISTS {table_name(obj.name)} (\n" + ",\n".join(cols) + "\n)"


def vault_ddl(rules: Rules | VaultModel) -> list[str]:
    """CREATE statements for every hub, link and satellite of the rules (idempotent)."""
    model = rules if isinstance(rules, VaultModel) else compile_vault(rules)
    return [f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}", *(_create(o) for o in model.objects.values())]


def create_vault_tables(con, rules: Rules | VaultModel) -> None:
    """Create missing vault tables and add columns new in the rules."""
    model = rules if isinstance(rules, VaultModel) else compile_vault(rules)
    for obj in model.objects.values():
        ensure_table(con, SCHEMA, obj.name, obj.columns, not_null=obj.not_null, primary_key=obj.hash_key)

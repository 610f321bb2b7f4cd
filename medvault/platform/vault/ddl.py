"""Vault tables created from the compiled model: one table per hub, link and satellite in schema `vault`,
and the as-of views over each satellite (views.py).

Table shapes (see docs/vault.md):

* hub:       hk_<hub> BLOB NOT NULL, site, <business key columns as VARCHAR>, load_ts, record_source
* link:      hk_<link> BLOB NOT NULL, hk_<hub> per hub (declared order), site, load_ts, record_source
* satellite: hk_<parent>, hashdiff, <payload columns typed as staged>, effective_ts, load_ts,
             record_source, _site, _date
* <satellite>__seen: hk_<parent>, hashdiff, effective_ts, load_ts, record_source, _site, _date: the
             versions that repeated their predecessor when they arrived (kinds/satellite.py)
* <satellite>__latest: hk, effective_ts, hashdiff, n, _site: each key's newest stored version, derived
             and rewritten per load for the keys it stored (latest.py; every historised kind)

Hubs and links carry no primary-key index: loads insert only absent keys (an anti-join), and an ART
index would cost every insert without serving a read. `site` in hubs and links is the tenant part of
the business key (data); `_site`/`_date` in satellites say which staged partition a row came from
(lineage). Creation is idempotent; a table that gains columns in the rules gets them added
(`ALTER TABLE ADD COLUMN`), nothing is ever dropped. With ghost records on, every hub and satellite
gets its ghost row (ghosts.py) once.
"""

from __future__ import annotations

from medvault.platform.rules.models import Rules
from medvault.platform.vault.ghosts import ensure_ghosts
from medvault.platform.vault.kinds.satellite import SEEN_SUFFIX, seen_columns, seen_table
from medvault.platform.vault.latest import COLUMNS as LATEST_COLUMNS
from medvault.platform.vault.latest import SUFFIX as LATEST_SUFFIX
from medvault.platform.vault.latest import fill_sql
from medvault.platform.vault.model import (
    HISTORISED,
    SCHEMA,
    VaultModel,
    compile_vault,
    hash_column,
    table_name,
)
from medvault.platform.vault.views import view_ddl, views
from medvault.platform.warehouse import ensure_table
from medvault.platform.warehouse import quote_ident as q


def _create(obj) -> str:
    cols = [f"    {q(c)} {t}" + (" NOT NULL" if c in obj.not_null else "") for c, t in obj.columns]
    return f"CREATE TABLE IF NOT EXISTS {table_name(obj.name)} (\n" + ",\n".join(cols) + "\n)"


def _model(rules: Rules | VaultModel) -> VaultModel:
    return rules if isinstance(rules, VaultModel) else compile_vault(rules)


def _seen(obj) -> str:
    cols = ", ".join(f"{q(c)} {t}" for c, t in seen_columns(obj))
    return f"CREATE TABLE IF NOT EXISTS {seen_table(obj.name)} ({cols})"


def vault_ddl(rules: Rules | VaultModel) -> list[str]:
    """CREATE statements for every hub, link and satellite of the rules and their views (idempotent)."""
    model = _model(rules)
    tables = [_create(o) for o in model.objects.values()]
    tables += [_seen(o) for o in model.objects.values() if o.kind in HISTORISED]
    latest = ", ".join(f"{q(c)} {t}" for c, t in LATEST_COLUMNS)
    tables += [
        f"CREATE TABLE IF NOT EXISTS {table_name(o.name + LATEST_SUFFIX)} ({latest})"
        for o in model.objects.values()
        if o.kind in HISTORISED
    ]
    return [f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}", *tables, *view_ddl(model)]


def _existing(con) -> tuple[dict[str, set[str]], set[str]]:
    """Columns of every vault table, and the vault's views, in two catalog queries."""
    columns: dict[str, set[str]] = {}
    for table, column in con.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = ?", [SCHEMA]
    ).fetchall():
        columns.setdefault(table, set()).add(column)
    names = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'VIEW'",
            [SCHEMA],
        ).fetchall()
    }
    return {t: c for t, c in columns.items() if t not in names}, names


def create_vault_tables(con, rules: Rules | VaultModel) -> None:
    """Create missing vault tables, add columns new in the rules, (re)create the as-of views when a
    table changed or a view is missing, and insert the ghost rows that are missing (ghost records on).
    A vault that is up to date costs two catalog queries and one probe for the ghost rows."""
    model = _model(rules)
    tables, existing_views = _existing(con)
    wanted = []
    for obj in model.objects.values():
        wanted.append((obj.name, obj.columns, obj.not_null))
        if obj.kind in HISTORISED:
            wanted.append((obj.name + SEEN_SUFFIX, seen_columns(obj), ()))
            wanted.append((obj.name + LATEST_SUFFIX, LATEST_COLUMNS, ()))
    changed = False
    for name, columns, not_null in wanted:
        have = tables.get(name)
        if have is None or any(c not in have for c, _ in columns):
            ensure_table(con, SCHEMA, name, columns, not_null=not_null)
            changed = True
    for obj in model.objects.values():  # a satellite loaded before its `__latest` existed
        if obj.kind in HISTORISED and obj.name in tables and obj.name + LATEST_SUFFIX not in tables:
            key = q(hash_column(obj.parent))
            con.execute(
                fill_sql(
                    obj.name,
                    key,
                    table_name(obj.name),
                    seen_table(obj.name),
                    distinct=obj.kind == "multi_active",
                )
            )
    if changed or not {name for name, _ in views(model)} <= existing_views:
        for statement in view_ddl(model):
            con.execute(statement)
    ensure_ghosts(con, model)

"""Vault tables created from the rules: one table per hub, link and satellite in schema `vault`.

Table shapes (see docs/vault.md):

* hub:       hk_<hub> BLOB PRIMARY KEY, site, <business key columns as VARCHAR>, load_ts, record_source
* link:      hk_<link> BLOB PRIMARY KEY, hk_<hub> per hub (declared order), site, load_ts, record_source
* satellite: hk_<parent>, hashdiff, <payload columns typed as staged>, effective_ts, load_ts,
             record_source, _site, _date

`hk_<hub>` drops the `hub_` prefix (`hub_person` -> `hk_person`); links and other names keep theirs
(`link_person_event` -> `hk_link_person_event`).

Creation is idempotent; a satellite that gains payload columns in the rules gets them added
(`ALTER TABLE ADD COLUMN`), nothing is ever dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from medvault.platform.rules.models import SQL_TYPES, ColumnDef, Rules, SatelliteLoad, VaultLoad
from medvault.platform.vault.hashing import HASH_SQL_TYPE, quote

SCHEMA = "vault"


SAT_META = ("effective_ts", "load_ts", "record_source", "_site", "_date")
RESERVED = {"site", "load_ts", "record_source", "hashdiff", "effective_ts", "_site", "_date"}


def hash_column(name: str) -> str:
    """Hash-key column of a hub or link: hub_person -> hk_person, link_x -> hk_link_x."""
    return "hk_" + (name[4:] if name.startswith("hub_") else name)


def table_name(name: str) -> str:
    return f"{SCHEMA}.{quote(name)}"


def staging_table(load: VaultLoad) -> str:
    return f"staging.{quote(f'{load.system}__{load.table}')}"


def _column_defs(rules: Rules, source: str) -> list[tuple[str, ColumnDef, str | None]]:
    """(version, column, modified column) for every version that declares `source` (table or child)."""
    system, table = source.split(".", 1)
    out = []
    for s in rules.sources:
        if s.system != system:
            continue
        for t in s.tables:
            if t.name == table:
                out.extend((s.version, c, t.modified) for c in t.columns)
            for child in t.children:
                if child.name == table:
                    out.extend((s.version, c, None) for c in child.columns)
    return out


def staged_type(rules: Rules, source: str, column: str) -> str:
    """SQL type of a staged column; VARCHAR when versions disagree or the column is unknown."""
    types = {c.type for _, c, _ in _column_defs(rules, source) if c.name == column}
    return SQL_TYPES[types.pop()] if len(types) == 1 else "VARCHAR"


def modified_column(rules: Rules, source: str) -> str | None:
    """The staged table's modified column (same canonical name in every version) or None."""
    system, table = source.split(".", 1)
    names = {
        t.modified
        for s in rules.sources
        if s.system == system
        for t in s.tables
        if t.name == table and t.modified
    }
    if len(names) > 1:
        raise ValueError(f"{source}: versions declare different modified columns {sorted(names)}")
    return names.pop() if names else None


@dataclass(frozen=True)
class SatelliteSpec:
    """One satellite with every load that feeds it."""

    name: str
    parent: str
    columns: tuple[str, ...]
    loads: tuple[tuple[VaultLoad, SatelliteLoad], ...]


def satellite_spec(rules: Rules, name: str) -> SatelliteSpec:
    feeds = [(load, sat) for load in rules.vault.loads for sat in load.satellites if sat.name == name]
    if not feeds:
        raise KeyError(f"satellite {name!r} is not fed by any load")
    first = feeds[0][1]
    for load, sat in feeds[1:]:
        if sat.parent != first.parent:
            raise ValueError(
                f"{name}: {load.source} gives parent {sat.parent!r}, another load {first.parent!r}"
            )
        if set(sat.columns) != set(first.columns):
            raise ValueError(f"{name}: every load of one satellite must declare the same columns")
    return SatelliteSpec(name, first.parent, first.columns, tuple(feeds))


def _check_names(rules: Rules) -> None:
    seen: dict[str, str] = {}
    for name in list(rules.vault.hubs) + list(rules.vault.links):
        col = hash_column(name)
        if col in seen:
            raise ValueError(f"{name} and {seen[col]} would share the hash column {col}")
        seen[col] = name
    for hub in rules.vault.hubs.values():
        bad = RESERVED.intersection(hub.business_key)
        if bad:
            raise ValueError(f"{hub.name}: business key column(s) {sorted(bad)} clash with vault columns")
    for link in rules.vault.links.values():
        if len(set(link.hubs)) != len(link.hubs):
            raise ValueError(f"{link.name}: a hub appears twice; use two hubs or a same-as link")
    for sat in rules.vault.satellites():
        spec = satellite_spec(rules, sat)
        bad = RESERVED.intersection(spec.columns) | {c for c in spec.columns if c.startswith("hk_")}
        if bad:
            raise ValueError(f"{sat}: payload column(s) {sorted(bad)} clash with vault columns")


def hub_columns(rules: Rules, hub: str) -> list[tuple[str, str]]:
    h = rules.vault.hubs[hub]
    return (
        [(hash_column(hub), HASH_SQL_TYPE), ("site", "VARCHAR")]
        + [(c, "VARCHAR") for c in h.business_key]
        + [("load_ts", "TIMESTAMP"), ("record_source", "VARCHAR")]
    )


def link_columns(rules: Rules, link: str) -> list[tuple[str, str]]:
    lk = rules.vault.links[link]
    return (
        [(hash_column(link), HASH_SQL_TYPE)]
        + [(hash_column(h), HASH_SQL_TYPE) for h in lk.hubs]
        + [("site", "VARCHAR"), ("load_ts", "TIMESTAMP"), ("record_source", "VARCHAR")]
    )


def satellite_columns(rules: Rules, sat: str) -> list[tuple[str, str]]:
    spec = satellite_spec(rules, sat)
    payload = []
    for c in spec.columns:
        types = {staged_type(rules, load.source, c) for load, _ in spec.loads}
        payload.append((c, types.pop() if len(types) == 1 else "VARCHAR"))
    return (
        [(hash_column(spec.parent), HASH_SQL_TYPE), ("hashdiff", HASH_SQL_TYPE)]
        + payload
        + [
            ("effective_ts", "TIMESTAMP"),
            ("load_ts", "TIMESTAMP"),
            ("record_source", "VARCHAR"),
            ("_site", "VARCHAR"),
            ("_date", "DATE"),
        ]
    )


def _create(name: str, columns: list[tuple[str, str]], primary_key: str | None) -> str:
    cols = [
        f"    {quote(c)} {t}" + (" NOT NULL" if c in (primary_key, "hashdiff", "load_ts") else "")
        for c, t in columns
    ]
    if primary_key:
        cols.append(f"    PRIMARY KEY ({quote(primary_key)})")
    return f"CREATE TABLE IF NOT EXISTS {table_name(name)} (\n" + ",\n".join(cols) + "\n)"


def vault_ddl(rules: Rules) -> list[str]:
    """CREATE statements for every hub, link and satellite of the rules (idempotent)."""
    _check_names(rules)
    stmts = [f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"]
    for hub in rules.vault.hubs:
        stmts.append(_create(hub, hub_columns(rules, hub), hash_column(hub)))
    for link in rules.vault.links:
        stmts.append(_create(link, link_columns(rules, link), hash_column(link)))
    for sat in rules.vault.satellites():
        stmts.append(_create(sat, satellite_columns(rules, sat), None))
    return stmts


def create_vault_tables(con, rules: Rules) -> None:
    """Create missing vault tables and add satellite payload columns new in the rules."""
    for stmt in vault_ddl(rules):
        con.execute(stmt)
    for sat in rules.vault.satellites():
        existing = {
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
                [SCHEMA, sat],
            ).fetchall()
        }
        for col, typ in satellite_columns(rules, sat):
            if col not in existing:
                con.execute(f"ALTER TABLE {table_name(sat)} ADD COLUMN {quote(col)} {typ}")

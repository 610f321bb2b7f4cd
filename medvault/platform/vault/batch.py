"""The hashed batch: one staged (site, date) slice of one load, hashed once, read by every target.

For each rule load that feeds the vault, the partition's staged rows are read once into a temporary
table with every hash the load's hubs, links and satellites need (AutomateDV's `stage()`): hub keys
`hk__<hub>` (the zero key for a missing business key when ghost records are on, else NULL) with their
normalised business-key columns `bk__<hub>__<n>`, link keys `hk__<link>`,
hashdiffs `hd__<satellite>`, the satellite payload columns as staged, `effective_ts`, `record_source`
and the lineage columns. Hubs, links and satellites then read plain columns: no hash expression is
computed twice, and the staging table is scanned once per load, filtered to the partition.
"""

from __future__ import annotations

from dataclasses import dataclass

from medvault.platform.rules.models import VaultLoad, entry_hub
from medvault.platform.vault.derive import derive_select
from medvault.platform.vault.hashing import ZERO_KEY_SQL, hash_key_sql, hashdiff_sql, normalize_sql
from medvault.platform.vault.model import VaultModel, modified_column, staging_table
from medvault.platform.warehouse import quote_ident as q

PARTITION = "WHERE _site = $site AND _date = $date"


def hk(name: str) -> str:
    """The batch column holding a hub's or link's hash key."""
    return q(f"hk__{name}")


def bk(hub: str, n: int) -> str:
    """The batch column holding a hub's n-th business-key column, normalised as stored."""
    return q(f"bk__{hub}__{n}")


def hd(satellite: str) -> str:
    return q(f"hd__{satellite}")


def _effective_ts(model: VaultModel, load: VaultLoad) -> str:
    """The source's modified column, or the partition date when it has none or the value is NULL."""
    effective = "CAST(_date AS TIMESTAMP)"
    modified = modified_column(model.rules, load.source)
    return f"COALESCE(CAST({q(modified)} AS TIMESTAMP), {effective})" if modified else effective


def _key(column: str) -> str:
    return q(f"__k__{column}")


def _value(column: str) -> str:
    return q(f"__v__{column}")


def batch_select(model: VaultModel, i: int) -> str:
    """The SELECT of load `i`'s hashed batch over its staged partition (parameters $site, $date).

    The innermost SELECT adds the load's derived columns (rules `derive:`); the next normalises each key
    column (upper-cased) and each payload column (case kept) once;
    the hashes combine those, so a column in several keys or hashdiffs is normalised once and the
    statement stays small to plan."""
    rules, load = model.rules, model.load(i)
    missing = ZERO_KEY_SQL if model.ghosts else "NULL"  # a hub key with no business key (ghosts.py)
    keys = ["_site"]
    cols = [
        "_site",
        "_date",
        "_row_number",
        f"'{load.source}/' || _version AS record_source",
        f"{_effective_ts(model, load)} AS effective_ts",
    ]
    for entry, columns in load.hubs.items():  # a hub, or a hub in a role (`hub_event.study`)
        wanted = len(rules.vault.hubs[entry_hub(entry)].business_key)
        if len(columns) != wanted:
            raise ValueError(f"{load.source}: hub {entry} needs {wanted} columns")
        keys += [c for c in columns if c not in keys]
        key = hash_key_sql([_key(c) for c in columns], tenant=_key("_site"), normalized=True, missing=missing)
        cols.append(f"{key} AS {hk(entry)}")
        cols += [
            f"NULLIF(TRIM(CAST({q(c)} AS VARCHAR)), '') AS {bk(entry, n)}" for n, c in enumerate(columns)
        ]
    carried: list[str] = []  # staged columns the targets copy as they are
    for link in load.links:
        definition = rules.vault.links[link]  # a transaction's key tells its rows apart: part of the hash
        columns = [c for e in definition.ends() for c in load.hubs[e.entry]] + list(
            definition.transaction_key
        )
        keys += [c for c in definition.transaction_key if c not in keys]
        carried += [c for c in definition.transaction_key + definition.payload if c not in carried]
        cols.append(
            f"{hash_key_sql([_key(c) for c in columns], tenant=_key('_site'), normalized=True)} AS {hk(link)}"
        )
    payload: list[str] = []
    for sat in load.satellites:  # a multi-active row's sub-sequence is part of what it says
        hashed = sat.multi_active + sat.columns
        cols.append(f"{hashdiff_sql(hashed, normalized=_value)} AS {hd(sat.name)}")
        payload += [c for c in hashed if c not in payload]
    cols += [q(c) for c in payload + [c for c in carried if c not in payload]]
    inner = [f"{normalize_sql(q(c))} AS {_key(c)}" for c in keys]
    inner += [f"{normalize_sql(q(c), upper=False)} AS {_value(c)}" for c in payload]
    return (
        f"SELECT {', '.join(cols)} FROM (SELECT *, {', '.join(inner)} FROM "
        f"(SELECT *{derive_select(load)} FROM {staging_table(load)} {PARTITION}))"
    )


@dataclass(frozen=True)
class Batches:
    """The hashed batch table of each load index with staged rows in the partition."""

    tables: dict[int, str]
    rows: dict[int, int]

    def of(self, feeds) -> list[tuple[int, str]]:
        return [(i, self.tables[i]) for i in feeds if i in self.tables]


def build_batches(con, model: VaultModel, loads, params: dict, present) -> Batches:
    """Materialise the hashed batch of each of `loads` whose staging table exists (`present(load)`)."""
    tables: dict[int, str] = {}
    rows: dict[int, int] = {}
    for i in sorted(set(loads)):
        if not present(model.load(i)):
            continue
        name = f"_vault_batch_{i}"
        created = con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS {batch_select(model, i)}",
            {"site": params["site"], "date": params["date"]},
        ).fetchone()
        count = int(created[0]) if created else 0  # CREATE TABLE AS returns its row count
        if count:
            tables[i], rows[i] = name, count
        else:
            con.execute(f"DROP TABLE {name}")
    return Batches(tables, rows)


def drop_batches(con, batches: Batches) -> None:
    for name in batches.tables.values():
        con.execute(f"DROP TABLE IF EXISTS {name}")

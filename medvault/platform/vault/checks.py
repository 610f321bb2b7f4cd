"""The vault's balance and control checks (seed 002's RIF layer), one per object kind, over a partition.

Each reads the partition's hashed batches (batch.py) and the vault table, so it costs what the batch
costs, not what the history costs:

* hub `keys_resolve`: every business key staged in the partition resolves in the hub;
* link and transaction (non-historised link) `hub_keys_exist`: every hub key of the partition's link
  rows exists in its hub;
* satellite `versions_unique`: no version (key, effective_ts, hashdiff) of the batch's keys is stored
  twice, and the load stored no more versions than it had staged rows.

Each also says how many of the batch's keys or versions the vault knew already (the load audit's
`rows_known`) and how many staged rows resolved to the zero key of a missing business key (`ghost_rows`,
the audit's `rows_ghost`; ghosts.py). A zero key resolves to its hub's ghost row, so it is accounted for,
not an orphan; it is not one of the batch's keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from medvault.platform.rules.models import entry_hub
from medvault.platform.vault.batch import Batches, hk
from medvault.platform.vault.ghosts import is_zero, link_row, real_key
from medvault.platform.vault.kinds.satellite import seen_table
from medvault.platform.vault.model import (
    HISTORISED,
    MULTI_ROW,
    VaultModel,
    VaultObject,
    hash_column,
    table_name,
)
from medvault.platform.warehouse import quote_ident as q

CHECKS = {
    "hub": "keys_resolve",
    "link": "hub_keys_exist",
    "transaction": "hub_keys_exist",
    "satellite": "versions_unique",
    "effectivity": "versions_unique",
    "multi_active": "versions_unique",
}


@dataclass(frozen=True)
class VaultCheck:
    name: str
    passed: bool
    batch_keys: int  # distinct keys (hubs, links) or versions (key, effective_ts; satellites) in the batch
    metadata: dict
    ghost_rows: int = 0  # staged rows whose key (hub, a link's end, a satellite's parent) was missing


def _count_zero(con, parts: list[tuple[str, str]]) -> int:
    """Rows of the batch tables whose condition holds: [(table, condition)]."""
    if not parts:
        return 0
    total = " + ".join(f"(SELECT count(*) FROM {t} WHERE {cond})" for t, cond in parts)
    return int(con.execute(f"SELECT {total}").fetchone()[0])


def _keys(model: VaultModel, obj: VaultObject, fed) -> str:
    """The hub keys of the batches: every entry mapping the hub, plainly or in a role."""
    return " UNION ".join(
        f"SELECT DISTINCT {hk(e)} AS hk FROM {t} WHERE {hk(e)} IS NOT NULL"
        for i, t in fed
        for e in model.load(i).hubs
        if entry_hub(e) == obj.name
    )


def _hub(con, model: VaultModel, obj: VaultObject, fed) -> VaultCheck:
    keys, missing = con.execute(
        f"""WITH b AS ({_keys(model, obj, fed)})
        SELECT count(*) FILTER (WHERE {real_key("b.hk")}), count(*) FILTER (WHERE h.hk IS NULL)
        FROM b LEFT JOIN (SELECT {q(obj.hash_key)} AS hk FROM {table_name(obj.name)}
                          WHERE {q(obj.hash_key)} IN (SELECT hk FROM b)) h ON h.hk = b.hk"""
    ).fetchone()
    ghosts = _count_zero(
        con, [(t, is_zero(hk(e))) for i, t in fed for e in model.load(i).hubs if entry_hub(e) == obj.name]
    )
    meta = {"staged_keys": keys, "unresolved_keys": missing, "ghost_rows": ghosts}
    return VaultCheck(CHECKS["hub"], missing == 0, keys, meta, ghosts)


def _link(con, model: VaultModel, obj: VaultObject, fed) -> VaultCheck:
    ends = model.rules.vault.links[obj.name].ends()
    kept = link_row([hk(e.entry) for e in ends])
    rows = " UNION ".join(
        f"SELECT DISTINCT {', '.join(hk(e.entry) for e in ends)}, {hk(obj.name)} FROM {t} WHERE {kept}"
        for _, t in fed
    )
    missing = {}
    for e in ends:
        col, key = q(hash_column(e.hub)), hk(e.entry)
        missing[e.entry] = con.execute(
            f"WITH b AS ({rows}) SELECT count(DISTINCT b.{key}) FROM b "
            f"ANTI JOIN (SELECT {col} FROM {table_name(e.hub)} WHERE {col} IN (SELECT {key} FROM b)) x "
            f"ON x.{col} = b.{key}"
        ).fetchone()[0]
    keys = con.execute(f"WITH b AS ({rows}) SELECT count(DISTINCT {hk(obj.name)}) FROM b").fetchone()[0]
    zero = " OR ".join(is_zero(hk(e.entry)) for e in ends)
    ghosts = _count_zero(con, [(t, f"{kept} AND ({zero})") for _, t in fed])
    meta = {"staged_links": keys, **{f"missing_in_{h}": n for h, n in missing.items()}, "ghost_rows": ghosts}
    return VaultCheck(CHECKS["link"], not any(missing.values()), keys, meta, ghosts)


def _satellite(con, obj: VaultObject, fed, staged_rows: int, inserted: int) -> VaultCheck:
    key = q(hash_column(obj.parent))
    parent = hk(obj.parent)
    batch_keys = " UNION ".join(f"SELECT {parent} AS hk FROM {t} WHERE {real_key(parent)}" for _, t in fed)
    # a multi-active satellite stores a version as several rows sharing its key, time, hashdiff and load
    rows = "SELECT DISTINCT" if obj.kind in MULTI_ROW else "SELECT"
    stored = " UNION ALL ".join(
        f"SELECT hk, effective_ts, hashdiff FROM ({rows} {key} AS hk, effective_ts, hashdiff, load_ts FROM {t} "
        f"WHERE {key} IN (SELECT hk FROM b))"
        for t in (table_name(obj.name), seen_table(obj.name))
    )
    in_batch = " UNION ".join(
        f"SELECT DISTINCT {parent} AS hk, effective_ts FROM {t} WHERE {real_key(parent)}" for _, t in fed
    )
    versions, duplicates = con.execute(
        f"WITH b AS ({batch_keys}), s AS ({stored}) "
        f"SELECT count(*), count(*) - count(DISTINCT (hk, effective_ts, hashdiff)) FROM s"
    ).fetchone()
    batch_versions = con.execute(f"SELECT count(*) FROM ({in_batch})").fetchone()[0]
    ghosts = _count_zero(con, [(t, is_zero(parent)) for _, t in fed])  # not stored: the ghost row stands
    meta = {
        "batch_versions": batch_versions,
        "stored_versions_of_batch_keys": versions,
        "duplicate_versions": duplicates,
        "ghost_rows": ghosts,
    }
    passed = duplicates == 0 and inserted <= staged_rows
    return VaultCheck(CHECKS[obj.kind], passed, batch_versions, meta, ghosts)


def check_object(con, model: VaultModel, name: str, batches: Batches, staged_rows: int, inserted: int):
    """The check of one loaded object for this partition (None when no batch feeds it)."""
    obj = model.objects[name]
    fed = batches.of(obj.feeds)
    if not fed:
        return None
    if obj.kind == "hub":
        return _hub(con, model, obj, fed)
    if obj.kind in ("link", "transaction"):
        return _link(con, model, obj, fed)
    if obj.kind in HISTORISED:
        return _satellite(con, obj, fed, staged_rows, inserted)
    return None

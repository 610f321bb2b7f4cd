"""Point-in-time tables: one per hub with satellites, for marts that join a hub to all its satellites as
of a time without a range join per satellite.

`vault.pit_<hub>` holds, per key, one row per time any of its satellites changed (`as_of`), and per
satellite the version in force then: `<satellite>_hk` and `<satellite>_ts` (the parent key and the
version's effective_ts). A mart joins `pit` to each satellite's `__history` view on
(`<satellite>_hk`, `<satellite>_ts`) = (key, effective_ts), equi-joins only. Before a key's first
version in a satellite, with ghost records on, the pair points at the satellite's ghost row (the zero
key, GHOST_TS: ghosts.py), so PIT -> satellite is an inner join that keeps every PIT row; with them off
both are NULL. The zero key itself has no PIT rows.

Rebuilt incrementally: only keys with satellite rows loaded after the last build (`built_load_ts`, the
newest load_ts it had seen) are deleted and rebuilt, in one transaction; a PIT built before its
satellite columns existed, or with the other ghost-record setting, is rebuilt whole. A PIT is derived
(a query assist, not history): unlike the vault tables it may be rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass

from medvault.platform.vault.ghosts import GHOST_TS_SQL, real_key
from medvault.platform.vault.hashing import ZERO_KEY_SQL
from medvault.platform.vault.kinds.satellite import seen_table
from medvault.platform.vault.model import SCHEMA, VaultModel, hash_column, table_name
from medvault.platform.vault.views import history_view
from medvault.platform.warehouse import ensure_table, transaction
from medvault.platform.warehouse import quote_ident as q


@dataclass(frozen=True)
class Pit:
    name: str
    hub: str
    satellites: tuple[str, ...]
    ghosts: bool = True  # point at the satellites' ghost rows before a key's first version

    @property
    def key(self) -> str:
        return hash_column(self.hub)

    @property
    def columns(self) -> tuple[tuple[str, str], ...]:
        sats = tuple(c for s in self.satellites for c in ((f"{s}_hk", "BLOB"), (f"{s}_ts", "TIMESTAMP")))
        return ((self.key, "BLOB"), ("as_of", "TIMESTAMP"), *sats, ("built_load_ts", "TIMESTAMP"))


def pits(model: VaultModel) -> list[Pit]:
    """One PIT per hub that at least one fed satellite describes."""
    out = []
    for hub in (o for o in model.objects.values() if o.kind == "hub"):
        sats = tuple(o.name for o in model.fed() if o.kind == "satellite" and o.parent == hub.name)
        if sats:
            out.append(Pit("pit_" + hub.name.removeprefix("hub_"), hub.name, sats, model.ghosts))
    return out


def _pointers(pit: Pit, n: int) -> list[str]:
    """The (`_hk`, `_ts`) of satellite n for one PIT row: the version in force, else the ghost row."""
    found = f"s{n}.effective_ts IS NOT NULL"
    if pit.ghosts:
        return [
            f"CASE WHEN {found} THEN t.hk ELSE {ZERO_KEY_SQL} END",
            f"coalesce(s{n}.effective_ts, {GHOST_TS_SQL})",
        ]
    return [f"CASE WHEN {found} THEN t.hk END", f"s{n}.effective_ts"]


def _build_sql(pit: Pit) -> str:
    key = q(pit.key)
    times = " UNION ".join(
        f"SELECT {key} AS hk, effective_ts AS as_of FROM {history_view(s)} WHERE {key} IN (SELECT hk FROM _pit_keys)"
        for s in pit.satellites
    )
    joins, cols = [], []
    for n, s in enumerate(pit.satellites):
        joins.append(
            f"ASOF LEFT JOIN (SELECT {key}, effective_ts FROM {history_view(s)}) s{n} "
            f"ON s{n}.{key} = t.hk AND t.as_of >= s{n}.effective_ts"
        )
        cols += _pointers(pit, n)
    names = ", ".join(q(c) for c, _ in pit.columns)
    return f"""
        INSERT INTO {table_name(pit.name)} ({names})
        SELECT t.hk, t.as_of, {", ".join(cols)}, $built FROM ({times}) t {" ".join(joins)}
    """


def _stale(con, pit: Pit) -> bool:
    """Rows written before a satellite's columns existed, or under the other ghost-record setting."""
    if pit.ghosts:
        wrong = [f"{q(s + '_hk')} IS NULL" for s in pit.satellites]
    else:
        wrong = [
            f"{q(s + '_hk')} = {ZERO_KEY_SQL} OR (({q(s + '_hk')} IS NULL) <> ({q(s + '_ts')} IS NULL))"
            for s in pit.satellites
        ]
    return con.execute(
        f"SELECT EXISTS (SELECT 1 FROM {table_name(pit.name)} WHERE {' OR '.join(wrong)})"
    ).fetchone()[0]


def build_pit(con, pit: Pit) -> tuple[int, int]:
    """Rebuild the PIT rows of every key loaded since the last build (of every key when the PIT is
    stale); returns (keys rebuilt, rows)."""
    ensure_table(con, SCHEMA, pit.name, pit.columns)
    target = table_name(pit.name)
    key = q(pit.key)
    stale = _stale(con, pit)
    watermark = None if stale else con.execute(f"SELECT max(built_load_ts) FROM {target}").fetchone()[0]
    sources = [table_name(s) for s in pit.satellites] + [seen_table(s) for s in pit.satellites]
    since = f"WHERE {real_key(key)}" + ("" if watermark is None else " AND load_ts > $watermark")
    params = {} if watermark is None else {"watermark": watermark}
    newest = " UNION ALL ".join(f"SELECT max(load_ts) AS m FROM {t}" for t in sources)
    built = con.execute(f"SELECT max(m) FROM ({newest})").fetchone()[0]
    if built is None or (watermark is not None and built <= watermark):
        return 0, 0
    with transaction(con):
        if stale:
            con.execute(f"DELETE FROM {target}")
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _pit_keys AS "
            + " UNION ".join(f"SELECT {key} AS hk FROM {t} {since}" for t in sources),
            params or None,
        )
        keys = con.execute("SELECT count(*) FROM _pit_keys").fetchone()[0]
        con.execute(f"DELETE FROM {target} WHERE {key} IN (SELECT hk FROM _pit_keys)")
        rows = con.execute(_build_sql(pit), {"built": built}).fetchone()[0]
        con.execute("DROP TABLE _pit_keys")
    return int(keys), int(rows)

"""Satellites: the history of a hub's or link's payload, order-proof and insert-only.

A version is a parent key's payload at its `effective_ts` (the table's modified column, or the partition
date when it has none or the value is NULL). A load stores each version of the batch that is not stored
yet, as (key, effective_ts, hashdiff):
  - several versions of one key in one batch each land once (one per effective_ts; for the same
    effective_ts the last row in file order wins);
  - a late or replayed batch lands its versions between the stored ones, and a replay stores nothing;
  - a different payload for a stored (key, effective_ts) is a correction: stored beside it, and the
    as-of views take the one from the latest partition, then the latest load.
A version that repeats its predecessor's payload is kept but hidden by the as-of views (see views.py),
so the state in force at any time is the same whatever order the batches arrive in. Only the keys
of the batch are read: a key's one version after its newest stored one is compared with that one alone
(`<sat>__latest`, latest.py), the others with their keys' stored timeline; nothing in the satellite or
`__seen` is updated or deleted. A row without
a parent key (NULL or the zero key) is not stored: the satellite's ghost row stands for it (ghosts.py).
"""

from __future__ import annotations

from medvault.platform.rules.models import Rules, SatelliteLoad
from medvault.platform.vault.batch import hd, hk
from medvault.platform.vault.derive import derived_type
from medvault.platform.vault.ghosts import real_key
from medvault.platform.vault.hashing import HASH_SQL_TYPE
from medvault.platform.vault.kinds.keyed import order_key
from medvault.platform.vault.latest import latest_table, refresh_sql, stored_sql
from medvault.platform.vault.model import (
    RESERVED,
    VaultModel,
    VaultObject,
    hash_column,
    staged_type,
    table_name,
)
from medvault.platform.warehouse import quote_ident as q

META = [("effective_ts", "TIMESTAMP"), ("load_ts", "TIMESTAMP"), ("record_source", "VARCHAR")]
META += [("_site", "VARCHAR"), ("_date", "DATE")]


def payload_columns(obj: VaultObject) -> list[str]:
    """A historised table's payload: its columns between the key and hashdiff and the META columns."""
    return [c for c, _ in obj.columns[2 : len(obj.columns) - len(META)]]


def feeds_of(rules: Rules, name: str) -> list[tuple[int, SatelliteLoad]]:
    """(load index, its declaration of the satellite) for every load feeding `name`."""
    return [
        (i, sat) for i, load in enumerate(rules.vault.loads) for sat in load.satellites if sat.name == name
    ]


def _column_type(load, rules: Rules, column: str) -> str:
    derived = load.derive.get(column)
    return derived_type(derived) if derived else staged_type(rules, load.source, column)


class SatelliteKind:
    name = "satellite"
    order = 30

    def compile(self, rules: Rules) -> list[VaultObject]:
        return [
            self._one(rules, name) for name, sat in rules.vault.satellites().items() if not sat.multi_active
        ]

    def _one(self, rules: Rules, name: str) -> VaultObject:
        """The satellite's table; a multi-active one has its sub-sequence columns first in the payload."""
        feeds = feeds_of(rules, name)
        first = feeds[0][1]
        for i, sat in feeds[1:]:
            if sat.parent != first.parent:
                raise ValueError(
                    f"{name}: {rules.vault.loads[i].source} gives parent {sat.parent!r}, another load {first.parent!r}"
                )
            if set(sat.columns) != set(first.columns) or sat.multi_active != first.multi_active:
                raise ValueError(f"{name}: every load of one satellite must declare the same columns")
        stored = first.multi_active + first.columns
        bad = RESERVED.intersection(stored) | {c for c in stored if c.startswith("hk_")}
        if bad:
            raise ValueError(f"{name}: payload column(s) {sorted(bad)} clash with vault columns")
        payload = []
        for c in stored:
            types = {_column_type(rules.vault.loads[i], rules, c) for i, _ in feeds}
            payload.append((c, types.pop() if len(types) == 1 else "VARCHAR"))
        columns = [(hash_column(first.parent), HASH_SQL_TYPE), ("hashdiff", HASH_SQL_TYPE), *payload, *META]
        description = f"Satellite of {first.parent}: {', '.join(first.columns)} (history by hashdiff)."
        return VaultObject(
            name, self.name, description, tuple(columns), tuple(i for i, _ in feeds), parent=first.parent
        )

    def source_rows(self, model: VaultModel, obj: VaultObject, i: int, table: str) -> str:
        """The batch's rows as (hk, effective_ts, hashdiff, payload..., record_source, _site, _date, _order)."""
        types = dict(obj.columns)
        payload = payload_columns(obj)
        parent = hk(obj.parent)
        return (
            f"SELECT {parent} AS hk, effective_ts, {hd(obj.name)} AS hashdiff, "
            + "".join(f"CAST({q(c)} AS {types[c]}) AS {q(c)}, " for c in payload)
            + f"record_source, _site, _date, {order_key(i)} AS _order FROM {table} WHERE {real_key(parent)}"
        )

    def load_sql(self, model: VaultModel, obj: VaultObject, batches) -> list[tuple[str, str | None]] | None:
        """Statements (sql, what its row count is): classify the batch's new versions, then insert the
        changes into the satellite ("inserted") and the repeats into its `__seen` table ("seen")."""
        payload = payload_columns(obj)
        parts = [self.source_rows(model, obj, i, table) for i, table in batches]
        if not parts:
            return None
        carried = ["hashdiff", *payload, "record_source", "_site", "_date"]
        packed = ", ".join(f"{q(c)}: {q(c)}" for c in carried)
        target, seen = table_name(obj.name), seen_table(obj.name)
        key = q(hash_column(obj.parent))
        fresh = f"_vault_fresh_{obj.name}"
        versions = f"""src AS ({" UNION ALL ".join(parts)}),
            versions AS (
                SELECT hk, effective_ts, arg_max({{{packed}}}, _order) AS w FROM src GROUP BY hk, effective_ts
            )"""
        classify = classify_sql(fresh, versions, key, target, seen, latest_table(obj.name))
        columns = ", ".join(q(c) for c, _ in obj.columns)
        out = ", ".join(f"w.{q(c)}" for c in ["hashdiff", *payload])
        meta = "effective_ts, CAST($load_ts AS TIMESTAMP), w.record_source, w._site, w._date"
        changes = (
            f"INSERT INTO {target} ({columns}) SELECT hk, {out}, {meta} FROM {fresh} WHERE NOT is_repeat"
        )
        repeats = (
            f"INSERT INTO {seen} ({key}, hashdiff, effective_ts, load_ts, record_source, _site, _date) "
            f"SELECT hk, w.hashdiff, {meta} FROM {fresh} WHERE is_repeat"
        )
        refresh = refresh_sql(obj.name, fresh, key, target, seen, distinct=False)
        return [
            *((sql, None) for sql in classify),
            (changes, "inserted"),
            (repeats, "seen"),
            *((sql, None) for sql in refresh),
            (f"DROP TABLE {fresh}", None),
        ]


def classify_sql(
    fresh: str, versions: str, key: str, target: str, seen: str, latest: str, distinct: bool = False
) -> list[str]:
    """Statements creating TEMP TABLE `fresh`: the batch's versions not stored yet, each with
    `is_repeat` (it repeats the version in force before it, so it goes to `__seen`) and `in_order` (its
    key's newest, read from `__latest`). `versions`: CTEs ending in `versions(hk, effective_ts, w)`, `w` a
    struct with at least hashdiff, _site and _date. `distinct`: the target stores several rows per
    version (a multi-active satellite's members).

    A key's one version of the batch, after its newest stored one, is compared with that one alone
    (`latest.py`); the other keys' versions (late, replayed, corrected, several in one batch) are placed
    among their keys' stored versions (`_timeline_sql`)."""
    batch, slow = f"{fresh}__versions", f"{fresh}__slow"
    return [
        f"CREATE OR REPLACE TEMP TABLE {batch} AS WITH {versions} SELECT * FROM versions",
        f"""CREATE OR REPLACE TEMP TABLE {fresh} AS
            WITH counts AS (SELECT hk, count(*) AS n FROM {batch} GROUP BY hk)
            SELECT v.*, coalesce(l.hashdiff = v.w.hashdiff, false) AS is_repeat, true AS in_order
            FROM {batch} v JOIN counts c ON c.hk = v.hk LEFT JOIN {latest} l ON l.hk = v.hk
            WHERE c.n = 1 AND (l.hk IS NULL OR (l.effective_ts < v.effective_ts AND l.n = 1))""",
        f"CREATE OR REPLACE TEMP TABLE {slow} AS SELECT * FROM {batch} ANTI JOIN {fresh} USING (hk)",
        f"INSERT INTO {fresh} {_timeline_sql(f'versions AS (SELECT * FROM {slow})', key, target, seen, distinct)}",
        f"DROP TABLE {batch}",
        f"DROP TABLE {slow}",
    ]


def _timeline_sql(versions: str, key: str, target: str, seen: str, distinct: bool) -> str:
    """SELECT (hk, effective_ts, w, is_repeat, in_order = false) of `versions` not stored yet, each
    placed among its key's stored versions; reads every stored version of those keys only."""
    known = stored_sql(key, target, seen, f"{key} IN (SELECT hk FROM versions)", distinct)
    return f"""
        WITH {versions},
        known AS ({known}),
        fresh AS (
            SELECT v.* FROM versions v
            ANTI JOIN known k ON k.hk = v.hk AND k.effective_ts = v.effective_ts AND k.hashdiff = v.w.hashdiff
        ),
        fresh_keys AS (SELECT hk, count(*) AS n FROM fresh GROUP BY hk),
        known_times AS (
            SELECT hk, effective_ts, count(*) AS n, any_value(hashdiff) AS hashdiff
            FROM known GROUP BY hk, effective_ts
        ),
        known_last AS (
            SELECT hk, max(effective_ts) AS ts, arg_max(hashdiff, effective_ts) AS hashdiff,
                   arg_max(n, effective_ts) AS n
            FROM known_times GROUP BY hk
        ),
        in_order AS (  -- one new version, after every stored one: compare with the latest
            SELECT f.hk, f.effective_ts, coalesce(l.hashdiff = f.w.hashdiff, false) AS is_repeat
            FROM fresh f JOIN fresh_keys c ON c.hk = f.hk LEFT JOIN known_last l ON l.hk = f.hk
            WHERE c.n = 1 AND (l.hk IS NULL OR (l.ts < f.effective_ts AND l.n = 1))
        ),
        other_keys AS (SELECT DISTINCT hk FROM fresh ANTI JOIN in_order USING (hk)),
        timeline AS (  -- late, several or corrected versions: place them among the stored ones
            SELECT hk, effective_ts, hashdiff, _date, load_ts, false AS is_fresh FROM known
            WHERE hk IN (SELECT hk FROM other_keys)
            UNION ALL
            SELECT hk, effective_ts, w.hashdiff, w._date, CAST($load_ts AS TIMESTAMP), true FROM fresh
            WHERE hk IN (SELECT hk FROM other_keys)
        ),
        standing AS (
            SELECT * FROM timeline
            QUALIFY row_number() OVER (
                PARTITION BY hk, effective_ts ORDER BY _date DESC, load_ts DESC, is_fresh DESC) = 1
        ),
        placed AS (
            SELECT hk, effective_ts,
                   coalesce(lag(hashdiff) OVER (PARTITION BY hk ORDER BY effective_ts) = hashdiff, false)
                       AS is_repeat, is_fresh
            FROM standing
        ),
        classified AS (
            SELECT hk, effective_ts, is_repeat FROM in_order
            UNION ALL
            SELECT hk, effective_ts, is_repeat FROM placed WHERE is_fresh
        )
        SELECT f.*, coalesce(c.is_repeat, false) AS is_repeat, false AS in_order
        FROM fresh f LEFT JOIN classified c ON c.hk = f.hk AND c.effective_ts = f.effective_ts
    """


def seen_table(satellite: str) -> str:
    """Where a satellite keeps the versions that repeated their predecessor (key, time, hashdiff only):
    the as-of views need them when a late batch lands between, and they cost no payload."""
    return table_name(satellite + SEEN_SUFFIX)


def seen_columns(obj: VaultObject) -> tuple[tuple[str, str], ...]:
    return ((hash_column(obj.parent), HASH_SQL_TYPE), ("hashdiff", HASH_SQL_TYPE), *META)


SEEN_SUFFIX = "__seen"


KIND = SatelliteKind()

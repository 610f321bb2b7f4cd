"""Satellites: the history of a hub's or link's payload, one row per change (by hashdiff).

Within the batch the latest staged row per parent key wins (by `effective_ts`, then `_row_number`), where
`effective_ts` is the table's modified column, or the partition date when the table has none or the
value is NULL. It is inserted only when
  - the key has no satellite row yet, or
  - its hashdiff differs from the key's latest satellite row AND it is not older than that row:
    `(effective_ts, _date) >= (latest.effective_ts, latest._date)`.
So replaying an older partition after a newer one adds nothing, and re-delivering a corrected partition
(same date, changed payload) adds one row. The latest row per key is the one with the greatest
(effective_ts, _date, load_ts); only keys of the batch are looked up (same site), not the whole satellite.
"""

from __future__ import annotations

from medvault.platform.rules.models import Rules, SatelliteLoad
from medvault.platform.vault.hashing import HASH_SQL_TYPE, hashdiff_sql
from medvault.platform.vault.kinds.keyed import PARTITION, parent_key, record_source
from medvault.platform.vault.model import (
    RESERVED,
    VaultModel,
    VaultObject,
    hash_column,
    modified_column,
    staged_type,
    staging_table,
    table_name,
)
from medvault.platform.warehouse import quote_ident as q

META = [("effective_ts", "TIMESTAMP"), ("load_ts", "TIMESTAMP"), ("record_source", "VARCHAR")]
META += [("_site", "VARCHAR"), ("_date", "DATE")]


def feeds_of(rules: Rules, name: str) -> list[tuple[int, SatelliteLoad]]:
    """(load index, its declaration of the satellite) for every load feeding `name`."""
    return [
        (i, sat) for i, load in enumerate(rules.vault.loads) for sat in load.satellites if sat.name == name
    ]


class SatelliteKind:
    name = "satellite"
    order = 30

    def compile(self, rules: Rules) -> list[VaultObject]:
        return [self._one(rules, name) for name in rules.vault.satellites()]

    def _one(self, rules: Rules, name: str) -> VaultObject:
        feeds = feeds_of(rules, name)
        first = feeds[0][1]
        for i, sat in feeds[1:]:
            if sat.parent != first.parent:
                raise ValueError(
                    f"{name}: {rules.vault.loads[i].source} gives parent {sat.parent!r}, another load {first.parent!r}"
                )
            if set(sat.columns) != set(first.columns):
                raise ValueError(f"{name}: every load of one satellite must declare the same columns")
        bad = RESERVED.intersection(first.columns) | {c for c in first.columns if c.startswith("hk_")}
        if bad:
            raise ValueError(f"{name}: payload column(s) {sorted(bad)} clash with vault columns")
        payload = []
        for c in first.columns:
            types = {staged_type(rules, rules.vault.loads[i].source, c) for i, _ in feeds}
            payload.append((c, types.pop() if len(types) == 1 else "VARCHAR"))
        columns = [(hash_column(first.parent), HASH_SQL_TYPE), ("hashdiff", HASH_SQL_TYPE), *payload, *META]
        description = f"Satellite of {first.parent}: {', '.join(first.columns)} (history by hashdiff)."
        return VaultObject(
            name, self.name, description, tuple(columns), tuple(i for i, _ in feeds), parent=first.parent
        )

    def load_sql(self, model: VaultModel, obj: VaultObject, present) -> str | None:
        rules = model.rules
        types = dict(obj.columns)
        payload_cols = [c for c, _ in obj.columns[2 : len(obj.columns) - len(META)]]
        parts = []
        for i, sat in feeds_of(rules, obj.name):
            load = rules.vault.loads[i]
            if not present(load):
                continue
            payload = ", ".join(f"CAST({q(c)} AS {types[c]}) AS {q(c)}" for c in payload_cols)
            modified = modified_column(rules, load.source)
            effective = "CAST(_date AS TIMESTAMP)"
            if modified:
                effective = f"COALESCE(CAST({q(modified)} AS TIMESTAMP), {effective})"
            parts.append(
                f"SELECT {parent_key(rules, load, obj.parent)} AS hk, {hashdiff_sql(sat.columns)} AS hashdiff, "
                f"{payload}, {effective} AS effective_ts, {record_source(load)} AS record_source, _site, _date, "
                f"{i} AS _load, _row_number FROM {staging_table(load)} {PARTITION}"
            )
        if not parts:
            return None
        hk = q(hash_column(obj.parent))
        target = table_name(obj.name)
        cols = ", ".join(q(c) for c, _ in obj.columns)
        payload_sel = ", ".join(f"b.{q(c)}" for c in payload_cols)
        return f"""
            INSERT INTO {target} ({cols})
            WITH src AS ({" UNION ALL ".join(parts)}),
            batch AS (
                SELECT * FROM src WHERE hk IS NOT NULL
                QUALIFY row_number() OVER (
                    PARTITION BY hk ORDER BY effective_ts DESC, _row_number DESC, _load DESC) = 1
            ),
            cur AS (
                SELECT s.{hk} AS hk, s.hashdiff, s.effective_ts, s._date
                FROM {target} s
                WHERE s._site = $site AND s.{hk} IN (SELECT hk FROM batch)
                QUALIFY row_number() OVER (
                    PARTITION BY s.{hk} ORDER BY s.effective_ts DESC, s._date DESC, s.load_ts DESC) = 1
            )
            SELECT b.hk, b.hashdiff, {payload_sel}, b.effective_ts, CAST($load_ts AS TIMESTAMP),
                   b.record_source, b._site, b._date
            FROM batch b LEFT JOIN cur c ON c.hk = b.hk
            WHERE c.hk IS NULL
               OR (b.hashdiff <> c.hashdiff
                   AND (b.effective_ts > c.effective_ts
                        OR (b.effective_ts = c.effective_ts AND b._date >= c._date)))
        """


KIND = SatelliteKind()

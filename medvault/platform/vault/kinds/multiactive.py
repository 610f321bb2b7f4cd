"""Multi-active satellites: several rows per parent key at once (the tests of one lab order, a
patient's phone numbers), told apart by a sub-sequence, with the key's whole set as one version.

A satellite declared with `multi_active: [<sub-sequence columns>]` stores, per key and `effective_ts`,
the set of the batch's rows (one per sub-sequence; the last in file order wins for a repeated one).
Each row carries the set's hashdiff (of its members' hashdiffs, sub-sequence included, sorted), so the
set is a version like a satellite's: it is stored whole when it differs from the set in force before
it, recorded in `__seen` when it repeats it, and placed between stored versions when it arrives late,
with the satellites' order-proof classification (satellite.classify_sql). One row more, one less or
one changed is a new set. `__history`/`__current` give every row of the set in force (views.py).
"""

from __future__ import annotations

from medvault.platform.rules.models import Rules
from medvault.platform.vault.kinds.satellite import KIND as SATELLITE
from medvault.platform.vault.kinds.satellite import classify_sql, payload_columns, seen_table
from medvault.platform.vault.latest import latest_table, refresh_sql
from medvault.platform.vault.model import VaultModel, VaultObject, hash_column, table_name
from medvault.platform.warehouse import quote_ident as q


def set_hashdiff_sql(member: str) -> str:
    """The hashdiff of a set of rows: MD5 over its members' hashdiffs, sorted (order-free)."""
    return f"unhex(md5(string_agg(hex({member}), ',' ORDER BY {member})))"


class MultiActiveKind:
    name = "multi_active"
    order = 31

    def compile(self, rules: Rules) -> list[VaultObject]:
        out = []
        for name, sat in rules.vault.satellites().items():
            if not sat.multi_active:
                continue
            obj = SATELLITE._one(rules, name)
            description = (
                f"Multi-active satellite of {sat.parent}: {', '.join(sat.columns)} per "
                f"{', '.join(sat.multi_active)} (each key's set of rows is one version)."
            )
            out.append(VaultObject(name, self.name, description, obj.columns, obj.feeds, parent=obj.parent))
        return out

    def load_sql(self, model: VaultModel, obj: VaultObject, batches) -> list[tuple[str, str | None]] | None:
        """Statements: the batch's members (one per key, effective_ts and sub-sequence), their sets
        classified as versions, then the members of new sets inserted ("inserted", rows) and repeated
        sets recorded in `__seen` ("seen", sets)."""
        parts = [SATELLITE.source_rows(model, obj, i, table) for i, table in batches]
        if not parts:
            return None
        sat = model.rules.vault.satellites()[obj.name]
        payload = payload_columns(obj)  # sub-sequence first, then the declared columns
        sub = ", ".join(q(c) for c in sat.multi_active)
        carried = ["hashdiff", *payload, "record_source", "_site", "_date"]
        packed = ", ".join(f"{q(c)}: {q(c)}" for c in carried)
        members, fresh = f"_vault_members_{obj.name}", f"_vault_fresh_{obj.name}"
        target, seen = table_name(obj.name), seen_table(obj.name)
        key = q(hash_column(obj.parent))
        collect = f"""
            CREATE OR REPLACE TEMP TABLE {members} AS
            SELECT hk, effective_ts, arg_max({{{packed}}}, _order) AS m
            FROM ({" UNION ALL ".join(parts)}) GROUP BY hk, effective_ts, {sub}
        """
        versions = f"""versions AS (
            SELECT hk, effective_ts,
                   {{hashdiff: {set_hashdiff_sql("m.hashdiff")}, record_source: max(m.record_source),
                    _site: max(m._site), _date: max(m._date)}} AS w
            FROM {members} GROUP BY hk, effective_ts
        )"""
        classify = classify_sql(fresh, versions, key, target, seen, latest_table(obj.name), distinct=True)
        columns = ", ".join(q(c) for c, _ in obj.columns)
        out = ", ".join(f"b.m.{q(c)}" for c in payload)
        meta = "f.effective_ts, CAST($load_ts AS TIMESTAMP), f.w.record_source, f.w._site, f.w._date"
        changes = (
            f"INSERT INTO {target} ({columns}) SELECT f.hk, f.w.hashdiff, {out}, {meta} "
            f"FROM {fresh} f JOIN {members} b ON b.hk = f.hk AND b.effective_ts = f.effective_ts "
            "WHERE NOT f.is_repeat"
        )
        repeats = (
            f"INSERT INTO {seen} ({key}, hashdiff, effective_ts, load_ts, record_source, _site, _date) "
            f"SELECT f.hk, f.w.hashdiff, {meta} FROM {fresh} f WHERE f.is_repeat"
        )
        return [
            (collect, None),
            *((sql, None) for sql in classify),
            (changes, "inserted"),
            (repeats, "seen"),
            *((sql, None) for sql in refresh_sql(obj.name, fresh, key, target, seen, distinct=True)),
            (f"DROP TABLE {fresh}", None),
            (f"DROP TABLE {members}", None),
        ]


KIND = MultiActiveKind()

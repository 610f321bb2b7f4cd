"""Record-tracking satellites: every partition a hub key appeared in, so "when was this patient last
in a full extract" and "which keys stopped arriving" are a query, not a guess.

A hub declared with `record_tracking: true` gets `sat_<hub>_record_tracking`: one row per (key,
partition date, record source) the key was staged in, insert-if-absent (a rerun or a replay adds
nothing, an arrival in any order lands). No payload, no hashdiff: it records presence, not content, so
the zero key of a missing business key is not recorded and there is no ghost row.
"""

from __future__ import annotations

from medvault.platform.rules.models import Rules
from medvault.platform.vault.batch import hk
from medvault.platform.vault.ghosts import real_key
from medvault.platform.vault.hashing import HASH_SQL_TYPE
from medvault.platform.vault.model import VaultModel, VaultObject, feeding, hash_column, table_name
from medvault.platform.warehouse import quote_ident as q


def tracking_name(hub: str) -> str:
    return f"sat_{hub.removeprefix('hub_')}_record_tracking"


class TrackingKind:
    name = "tracking"
    order = 40

    def compile(self, rules: Rules) -> list[VaultObject]:
        out = []
        for hub in rules.vault.hubs.values():
            if not hub.record_tracking:
                continue
            feeds = feeding(rules, lambda load, name=hub.name: name in load.hubs)
            columns = (
                (hash_column(hub.name), HASH_SQL_TYPE),
                ("_date", "DATE"),
                ("record_source", "VARCHAR"),
                ("_site", "VARCHAR"),
                ("load_ts", "TIMESTAMP"),
            )
            description = f"Every partition each {hub.name} key was staged in (record tracking)."
            out.append(
                VaultObject(tracking_name(hub.name), self.name, description, columns, feeds, parent=hub.name)
            )
        return out

    def load_sql(self, model: VaultModel, obj: VaultObject, batches) -> str | None:
        key = hk(obj.parent)
        parts = [
            f"SELECT DISTINCT {key} AS hk, _date, record_source, _site FROM {t} WHERE {real_key(key)}"
            for _, t in batches
        ]
        if not parts:
            return None
        target = table_name(obj.name)
        column = q(hash_column(obj.parent))
        return f"""
            INSERT INTO {target} ({column}, _date, record_source, _site, load_ts)
            SELECT b.hk, b._date, b.record_source, b._site, CAST($load_ts AS TIMESTAMP)
            FROM ({" UNION ".join(parts)}) b
            ANTI JOIN (SELECT {column}, _date, record_source FROM {target}
                       WHERE {column} IN (SELECT {key} FROM ({" UNION ALL ".join(f"SELECT {key} FROM {t}" for _, t in batches)}))) t
              ON t.{column} = b.hk AND t._date = b._date AND t.record_source = b.record_source
        """


KIND = TrackingKind()

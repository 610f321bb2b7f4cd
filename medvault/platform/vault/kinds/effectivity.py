"""Effectivity satellites: when a relationship with a driving key starts and ends.

A link declared with `effectivity: {driving_key: hub_bed}` gets `sat_<driving>_<partners>_effectivity`:
per driving key (the bed), the partner hub keys in force (the patient), as versions by effective_ts
with the satellites' order-proof machinery (kinds/satellite.py): a change of partner, or none (an empty
bed: the partner key is NULL), is a new version. Its `__history` view then reads as the relationship's
periods: `effective_ts` it started, `effective_to` it ended (NULL: still in force). Source rows without
a partner are read too, since they are what ends a relationship.
"""

from __future__ import annotations

from medvault.platform.rules.models import Rules
from medvault.platform.vault.batch import hk
from medvault.platform.vault.ghosts import real_key
from medvault.platform.vault.hashing import HASH_SQL_TYPE, ZERO_KEY_SQL
from medvault.platform.vault.kinds.keyed import order_key
from medvault.platform.vault.kinds.satellite import META, SatelliteKind, payload_columns
from medvault.platform.vault.model import VaultModel, VaultObject, feeding, hash_column
from medvault.platform.warehouse import quote_ident as q


def effectivity_name(rules: Rules, link: str) -> str:
    definition = rules.vault.links[link]
    partners = [h.removeprefix("hub_") for h in definition.hubs if h != definition.driving_key]
    return f"sat_{definition.driving_key.removeprefix('hub_')}_{'_'.join(partners)}_effectivity"


class EffectivityKind(SatelliteKind):
    name = "effectivity"
    order = 35

    def compile(self, rules: Rules) -> list[VaultObject]:
        out = []
        for link in rules.vault.links.values():
            if not link.driving_key:
                continue
            partners = [h for h in link.hubs if h != link.driving_key]
            feeds = feeding(
                rules, lambda load, link=link: link.name in load.links and link.driving_key in load.hubs
            )
            columns = (
                [(hash_column(link.driving_key), HASH_SQL_TYPE), ("hashdiff", HASH_SQL_TYPE)]
                + [(hash_column(p), HASH_SQL_TYPE) for p in partners]
                + META
            )
            description = (
                f"Effectivity of {link.name}: the {', '.join(partners)} in force for each {link.driving_key}, "
                "and when each relationship started and ended (`__history`)."
            )
            out.append(
                VaultObject(
                    effectivity_name(rules, link.name),
                    self.name,
                    description,
                    tuple(columns),
                    feeds,
                    parent=link.driving_key,
                )
            )
        return out

    def source_rows(self, model: VaultModel, obj: VaultObject, i: int, table: str) -> str:
        partners = payload_columns(obj)
        hubs = [c.removeprefix("hk_") for c in partners]
        # no partner is NULL, as without ghost records: an empty bed has nobody, not an unknown person
        batch_cols = [f"NULLIF({hk('hub_' + h)}, {ZERO_KEY_SQL})" for h in hubs]
        hashdiff = "unhex(md5(" + " || '||' || ".join(f"COALESCE(hex({c}), '^^')" for c in batch_cols) + "))"
        driving = hk(obj.parent)
        return (
            f"SELECT {driving} AS hk, effective_ts, {hashdiff} AS hashdiff, "
            + "".join(f"{b} AS {q(p)}, " for b, p in zip(batch_cols, partners, strict=True))
            + f"record_source, _site, _date, {order_key(i)} AS _order FROM {table} WHERE {real_key(driving)}"
        )


KIND = EffectivityKind()

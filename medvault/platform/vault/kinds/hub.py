"""Hubs: one row per business key (with the site, since ids are site-local), insert-only."""

from __future__ import annotations

from medvault.platform.rules.models import Rules
from medvault.platform.vault.hashing import HASH_SQL_TYPE
from medvault.platform.vault.kinds.keyed import hub_key, insert_if_absent, record_source
from medvault.platform.vault.model import RESERVED, VaultModel, VaultObject, hash_column
from medvault.platform.warehouse import quote_ident as q


class HubKind:
    name = "hub"
    order = 10

    def compile(self, rules: Rules) -> list[VaultObject]:
        out = []
        for hub in rules.vault.hubs.values():
            bad = RESERVED.intersection(hub.business_key)
            if bad:
                raise ValueError(f"{hub.name}: business key column(s) {sorted(bad)} clash with vault columns")
            columns = (
                [(hash_column(hub.name), HASH_SQL_TYPE), ("site", "VARCHAR")]
                + [(c, "VARCHAR") for c in hub.business_key]
                + [("load_ts", "TIMESTAMP"), ("record_source", "VARCHAR")]
            )
            description = hub.description or (
                f"Hub of the {hub.family} family, keyed by site + {', '.join(hub.business_key)}."
            )
            feeds = tuple(i for i, load in enumerate(rules.vault.loads) if hub.name in load.hubs)
            out.append(
                VaultObject(
                    hub.name, self.name, description, tuple(columns), feeds, hash_key=hash_column(hub.name)
                )
            )
        return out

    def load_sql(self, model: VaultModel, obj: VaultObject, present) -> str | None:
        rules = model.rules
        hub = rules.vault.hubs[obj.name]

        def select(i, load):
            bks = ", ".join(
                f"NULLIF(TRIM(CAST({q(src)} AS VARCHAR)), '') AS {q(bk)}"
                for src, bk in zip(load.hubs[obj.name], hub.business_key, strict=True)
            )
            return (
                f"SELECT {hub_key(rules, load, obj.name)} AS hk, _site AS site, {bks}, "
                f"{record_source(load)} AS record_source"
            )

        out = "b.site, " + ", ".join(f"b.{q(c)}" for c in hub.business_key)
        return insert_if_absent(model, obj, present, select, "hk IS NOT NULL", out)


KIND = HubKind()

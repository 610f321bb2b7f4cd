"""Hubs: one row per business key (with the site, since ids are site-local), insert-only; with ghost
records on, one ghost row too (ghosts.py), never a staged row under the zero key."""

from __future__ import annotations

from medvault.platform.rules.models import Rules, entry_hub
from medvault.platform.vault.batch import bk, hk
from medvault.platform.vault.ghosts import real_key
from medvault.platform.vault.hashing import HASH_SQL_TYPE
from medvault.platform.vault.kinds.keyed import insert_if_absent
from medvault.platform.vault.model import RESERVED, VaultModel, VaultObject, feeding, hash_column


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
            feeds = feeding(rules, lambda load, name=hub.name: any(entry_hub(e) == name for e in load.hubs))
            out.append(
                VaultObject(
                    hub.name, self.name, description, tuple(columns), feeds, hash_key=hash_column(hub.name)
                )
            )
        return out

    def load_sql(self, model: VaultModel, obj: VaultObject, batches) -> str | None:
        keys = model.rules.vault.hubs[obj.name].business_key

        def fields(i, entry):
            return [("_site", "site"), *((bk(entry, n), c) for n, c in enumerate(keys))]

        def entries(i):  # the hub plainly and in each role a link gives it (`hub_event.study`)
            return [e for e in model.load(i).hubs if entry_hub(e) == obj.name]

        # a missing business key (NULL, or the zero key) adds no row: the ghost row stands for it
        return insert_if_absent(obj, batches, fields, lambda i, e: real_key(hk(e)), entries=entries)


KIND = HubKind()

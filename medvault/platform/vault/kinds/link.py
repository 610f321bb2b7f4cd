"""Links: one row per relationship between hubs (hash of every hub's business key), insert-only."""

from __future__ import annotations

from medvault.platform.rules.models import Rules
from medvault.platform.vault.batch import hk
from medvault.platform.vault.hashing import HASH_SQL_TYPE
from medvault.platform.vault.kinds.keyed import insert_if_absent
from medvault.platform.vault.model import VaultModel, VaultObject, feeding, hash_column


class LinkKind:
    name = "link"
    order = 20

    def compile(self, rules: Rules) -> list[VaultObject]:
        out = []
        for link in rules.vault.links.values():
            if link.transactional:  # kinds/transaction.py
                continue
            if len(set(link.hubs)) != len(link.hubs):
                raise ValueError(f"{link.name}: a hub appears twice; use two hubs or a same-as link")
            columns = (
                [(hash_column(link.name), HASH_SQL_TYPE)]
                + [(hash_column(h), HASH_SQL_TYPE) for h in link.hubs]
                + [("site", "VARCHAR"), ("load_ts", "TIMESTAMP"), ("record_source", "VARCHAR")]
            )
            description = link.description or f"Link between {', '.join(link.hubs)}."
            feeds = feeding(rules, lambda load, name=link.name: name in load.links)
            out.append(
                VaultObject(
                    link.name, self.name, description, tuple(columns), feeds, hash_key=hash_column(link.name)
                )
            )
        return out

    def load_sql(self, model: VaultModel, obj: VaultObject, batches) -> str | None:
        hubs = model.rules.vault.links[obj.name].hubs

        def fields(i):
            return [*((hk(h), hash_column(h)) for h in hubs), ("_site", "site")]

        def not_null(i):
            return " AND ".join(f"{hk(h)} IS NOT NULL" for h in hubs)

        return insert_if_absent(obj, batches, fields, not_null, dependent=True)


KIND = LinkKind()

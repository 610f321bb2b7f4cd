"""Links: one row per relationship between hubs (hash of every hub's business key), insert-only."""

from __future__ import annotations

from medvault.platform.rules.models import Rules
from medvault.platform.vault.hashing import HASH_SQL_TYPE
from medvault.platform.vault.kinds.keyed import hub_key, insert_if_absent, link_key, record_source
from medvault.platform.vault.model import VaultModel, VaultObject, hash_column


class LinkKind:
    name = "link"
    order = 20

    def compile(self, rules: Rules) -> list[VaultObject]:
        out = []
        for link in rules.vault.links.values():
            if len(set(link.hubs)) != len(link.hubs):
                raise ValueError(f"{link.name}: a hub appears twice; use two hubs or a same-as link")
            columns = (
                [(hash_column(link.name), HASH_SQL_TYPE)]
                + [(hash_column(h), HASH_SQL_TYPE) for h in link.hubs]
                + [("site", "VARCHAR"), ("load_ts", "TIMESTAMP"), ("record_source", "VARCHAR")]
            )
            description = link.description or f"Link between {', '.join(link.hubs)}."
            feeds = tuple(i for i, load in enumerate(rules.vault.loads) if link.name in load.links)
            out.append(
                VaultObject(
                    link.name, self.name, description, tuple(columns), feeds, hash_key=hash_column(link.name)
                )
            )
        return out

    def load_sql(self, model: VaultModel, obj: VaultObject, present) -> str | None:
        rules = model.rules
        hubs = rules.vault.links[obj.name].hubs

        def select(i, load):
            keys = ", ".join(f"{hub_key(rules, load, h)} AS hk{j}" for j, h in enumerate(hubs))
            return (
                f"SELECT {link_key(rules, load, obj.name)} AS hk, {keys}, _site AS site, "
                f"{record_source(load)} AS record_source"
            )

        not_null = " AND ".join(f"hk{j} IS NOT NULL" for j in range(len(hubs)))
        out = ", ".join(f"b.hk{j}" for j in range(len(hubs))) + ", b.site"
        return insert_if_absent(model, obj, present, select, not_null, out)


KIND = LinkKind()

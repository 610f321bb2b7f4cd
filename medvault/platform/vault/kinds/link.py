"""Links: one row per relationship between hubs (hash of every hub's business key), insert-only. With
ghost records on, a row whose business key is missing for one end keeps that end as the zero key."""

from __future__ import annotations

from medvault.platform.rules.models import Rules
from medvault.platform.vault.batch import hk
from medvault.platform.vault.ghosts import link_row
from medvault.platform.vault.hashing import HASH_SQL_TYPE
from medvault.platform.vault.kinds.keyed import insert_if_absent
from medvault.platform.vault.model import VaultModel, VaultObject, end_column, feeding, hash_column


class LinkKind:
    name = "link"
    order = 20

    def compile(self, rules: Rules) -> list[VaultObject]:
        out = []
        for link in rules.vault.links.values():
            if link.transactional:  # kinds/transaction.py
                continue
            if len(set(link.hubs)) != len(link.hubs) and not link.roles:
                raise ValueError(f"{link.name}: a hub appears twice; give each end a role")
            columns = (
                [(hash_column(link.name), HASH_SQL_TYPE)]
                + [(end_column(e), HASH_SQL_TYPE) for e in link.ends()]
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
        ends = model.rules.vault.links[obj.name].ends()

        def fields(i, entry):
            return [*((hk(e.entry), end_column(e)) for e in ends), ("_site", "site")]

        def not_null(i, entry):
            return link_row([hk(e.entry) for e in ends])

        return insert_if_absent(obj, batches, fields, not_null, dependent=True)


KIND = LinkKind()

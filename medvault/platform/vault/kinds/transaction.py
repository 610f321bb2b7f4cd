"""Non-historised links: transactions (a bill line, a lab result) as link rows that carry their payload.

A transaction happens once and is never corrected in place, so it needs no satellite: its row holds the
hub keys, the transaction key that tells two transactions between the same hub keys apart (a line
number) and the payload, and its hash key covers the hubs' business keys and the transaction key.
Insert-only and insert-if-absent like a link; within a batch the first row per key in file order wins.
"""

from __future__ import annotations

from medvault.platform.rules.models import Rules
from medvault.platform.vault.batch import hk
from medvault.platform.vault.ghosts import link_row
from medvault.platform.vault.hashing import HASH_SQL_TYPE
from medvault.platform.vault.kinds.keyed import insert_if_absent
from medvault.platform.vault.model import (
    VaultModel,
    VaultObject,
    end_column,
    feeding,
    hash_column,
    staged_type,
)
from medvault.platform.warehouse import quote_ident as q


def _typed(rules: Rules, sources: set[str], column: str) -> str:
    types = {staged_type(rules, s, column) for s in sources}
    return types.pop() if len(types) == 1 else "VARCHAR"


class TransactionKind:
    name = "transaction"
    order = 25

    def compile(self, rules: Rules) -> list[VaultObject]:
        out = []
        for link in rules.vault.links.values():
            if not link.transactional:
                continue
            if len(set(link.hubs)) != len(link.hubs) and not link.roles:
                raise ValueError(f"{link.name}: a hub appears twice; give each end a role")
            feeds = feeding(rules, lambda load, name=link.name: name in load.links)
            sources = {rules.vault.loads[i].source for i in feeds}
            columns = (
                [(hash_column(link.name), HASH_SQL_TYPE)]
                + [(end_column(e), HASH_SQL_TYPE) for e in link.ends()]
                + [(c, _typed(rules, sources, c)) for c in link.transaction_key + link.payload]
                + [("site", "VARCHAR"), ("_site", "VARCHAR"), ("_date", "DATE")]
                + [("load_ts", "TIMESTAMP"), ("record_source", "VARCHAR")]
            )
            description = link.description or (
                f"Transactions between {', '.join(link.hubs)}, one row each (non-historised link)."
            )
            out.append(
                VaultObject(
                    link.name, self.name, description, tuple(columns), feeds, hash_key=hash_column(link.name)
                )
            )
        return out

    def load_sql(self, model: VaultModel, obj: VaultObject, batches) -> str | None:
        link = model.rules.vault.links[obj.name]
        types = dict(obj.columns)

        def fields(i, entry):
            return [
                *((hk(e.entry), end_column(e)) for e in link.ends()),
                *((f"CAST({q(c)} AS {types[c]})", c) for c in link.transaction_key + link.payload),
                ("_site", "site"),
                ("_site", "_site"),
                ("_date", "_date"),
            ]

        def not_null(i, entry):
            return link_row([hk(e.entry) for e in link.ends()])

        return insert_if_absent(obj, batches, fields, not_null)


KIND = TransactionKind()

"""Bridge tables: the paths from an anchor hub through a chain of links, one row per path, for marts
that would otherwise join one link after another (every image of a study: study -> series -> image).

`vault.bridge_<name>` holds the anchor's hash key, then for each link of the path its hash key and the
hash key of the hub it reaches, the anchor link's `site` and `built_load_ts`. A path starts with a row
of the first link; a deeper level with no row yet is NULL (a study whose images have not arrived), and
is filled in when they do. Links are insert-only, so a bridge only grows; an ended relationship (an
effectivity satellite) still has its path here. Paths run over real keys: a link row pointing at the
zero key on the path (ghost records) is not a step, as if the row were absent.

Rebuilt incrementally: the anchors reached backwards from link rows loaded after the last build
(`built_load_ts`) are deleted and rebuilt, in one transaction. Derived, like the PITs: rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass

from medvault.platform.rules.bridges import hubs_walked
from medvault.platform.rules.models import BridgeDef
from medvault.platform.vault.ghosts import real_key
from medvault.platform.vault.model import SCHEMA, VaultModel, hash_column, table_name
from medvault.platform.warehouse import ensure_table, transaction
from medvault.platform.warehouse import quote_ident as q


@dataclass(frozen=True)
class Bridge:
    name: str
    links: tuple[str, ...]  # the path, in order
    hubs: tuple[str, ...]  # the anchor, then the hub each link reaches
    description: str = ""

    @property
    def key(self) -> str:
        return hash_column(self.hubs[0])

    @property
    def key_columns(self) -> tuple[str, ...]:
        out = [self.key]
        for link, hub in zip(self.links, self.hubs[1:], strict=True):
            out += [hash_column(link), hash_column(hub)]
        return tuple(out)

    @property
    def columns(self) -> tuple[tuple[str, str], ...]:
        keys = tuple((c, "BLOB") for c in self.key_columns)
        return (*keys, ("site", "VARCHAR"), ("built_load_ts", "TIMESTAMP"))


def bridges(model: VaultModel) -> list[Bridge]:
    """Every bridge of the rules whose path links are all fed."""
    fed = {o.name for o in model.fed()}
    links = model.rules.vault.links
    out = []
    for b in model.rules.vault.bridges.values():
        if all(name in fed for name in b.path):
            out.append(_bridge(b, links))
    return out


def _bridge(b: BridgeDef, links) -> Bridge:
    return Bridge(b.name, b.path, hubs_walked(b, links), b.description)


def _affected_sql(bridge: Bridge, since: str) -> str:
    """Anchor keys reached backwards from each path link's rows loaded since the last build."""
    parts = []
    for i, link in enumerate(bridge.links):
        select = f"SELECT {q(hash_column(bridge.hubs[i]))} AS hk FROM {table_name(link)} {since}"
        for j in range(i - 1, -1, -1):
            near, far = q(hash_column(bridge.hubs[j])), q(hash_column(bridge.hubs[j + 1]))
            select = f"SELECT {near} AS hk FROM {table_name(bridge.links[j])} WHERE {far} IN ({select})"
        parts.append(select)
    return f"SELECT hk FROM ({' UNION '.join(parts)}) WHERE {real_key('hk')}"


def _build_sql(bridge: Bridge) -> str:
    """Paths over real keys only: a link row whose end on the path is the zero key (a missing business
    key, ghosts.py) starts or continues no path, so no path joins unrelated rows through a ghost."""
    picks, joins = [f"l0.{q(bridge.key)}"], []
    for i, link in enumerate(bridge.links):
        reached = q(hash_column(bridge.hubs[i + 1]))
        picks += [f"l{i}.{q(hash_column(link))}", f"l{i}.{reached}"]
        if i:
            near = q(hash_column(bridge.hubs[i]))
            joins.append(
                f"LEFT JOIN {table_name(link)} l{i} ON l{i}.{near} = l{i - 1}.{near} AND {real_key(f'l{i}.{reached}')}"
            )
    first = q(hash_column(bridge.hubs[1]))
    return f"""
        INSERT INTO {table_name(bridge.name)}
        SELECT {", ".join(picks)}, l0.site, $built FROM {table_name(bridge.links[0])} l0 {" ".join(joins)}
        WHERE l0.{q(bridge.key)} IN (SELECT hk FROM _bridge_keys) AND {real_key(f"l0.{first}")}
    """


def build_bridge(con, bridge: Bridge) -> tuple[int, int]:
    """Rebuild the paths of every anchor a link row loaded since the last build reaches; returns
    (anchors rebuilt, rows written)."""
    ensure_table(con, SCHEMA, bridge.name, bridge.columns)
    target = table_name(bridge.name)
    watermark = con.execute(f"SELECT max(built_load_ts) FROM {target}").fetchone()[0]
    newest = " UNION ALL ".join(f"SELECT max(load_ts) AS m FROM {table_name(x)}" for x in bridge.links)
    built = con.execute(f"SELECT max(m) FROM ({newest})").fetchone()[0]
    if built is None or (watermark is not None and built <= watermark):
        return 0, 0
    since = "" if watermark is None else "WHERE load_ts > $watermark"
    with transaction(con):
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _bridge_keys AS SELECT DISTINCT hk FROM ({_affected_sql(bridge, since)})",
            None if watermark is None else {"watermark": watermark},
        )
        anchors = con.execute("SELECT count(*) FROM _bridge_keys").fetchone()[0]
        con.execute(f"DELETE FROM {target} WHERE {q(bridge.key)} IN (SELECT hk FROM _bridge_keys)")
        rows = con.execute(_build_sql(bridge), {"built": built}).fetchone()[0]
        con.execute("DROP TABLE _bridge_keys")
    return int(anchors), int(rows)

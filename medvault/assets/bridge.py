"""vault/bridge_<name>: bridge tables declared in the rules (`bridges:`), unpartitioned (cross-site),
rebuilt by the marts job for the anchors reached by link rows loaded since their last build
(platform/vault/bridge.py)."""

import dagster as dg

from medvault.assets import schemas
from medvault.assets.cross_site import cross_site_step
from medvault.assets.partitions import OWNERS
from medvault.assets.vault import vault_key
from medvault.platform.steps import bridge as bridge_step
from medvault.platform.vault.bridge import bridges
from medvault.platform.vault.model import VaultModel, hash_column

GROUP = "bridge"


def _spec(b) -> dg.AssetSpec:
    columns = [(b.key, "BLOB", f"hash key of {b.hubs[0]}, the anchor")]
    for link, hub in zip(b.links, b.hubs[1:], strict=True):
        columns += [
            (hash_column(link), "BLOB", f"hash key of the {link} row (NULL: none yet)"),
            (hash_column(hub), "BLOB", f"hash key of the {hub} it reaches"),
        ]
    columns += [
        ("site", "VARCHAR", "site of the anchor's link row"),
        ("built_load_ts", "TIMESTAMP", "newest link load_ts this row was built from"),
    ]
    path = " -> ".join(b.hubs)
    return dg.AssetSpec(
        key=vault_key(b.name),
        deps=[vault_key(x) for x in b.links],
        group_name=GROUP,
        kinds={"duckdb"},
        owners=OWNERS,
        skippable=True,
        description=f"Bridge {path}: one row per path. {b.description}".strip(),
        metadata={"dagster/table_name": f"vault.{b.name}", "dagster/column_schema": schemas.table(columns)},
    )


def build_bridge_asset(model: VaultModel) -> dg.AssetsDefinition | None:
    specs = [_spec(b) for b in bridges(model)]
    if not specs:
        return None
    return cross_site_step("bridge", specs, bridge_step.run)

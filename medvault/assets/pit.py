"""vault/pit_<hub>: point-in-time tables, one per hub with satellites, unpartitioned (cross-site), rebuilt
by the marts job for the keys loaded since their last build (platform/vault/pit.py)."""

import dagster as dg

from medvault.assets import schemas
from medvault.assets.cross_site import cross_site_step
from medvault.assets.partitions import OWNERS
from medvault.assets.vault import vault_key
from medvault.platform.steps import pit as pit_step
from medvault.platform.vault.model import VaultModel
from medvault.platform.vault.pit import pits

GROUP = "pit"


def _spec(p) -> dg.AssetSpec:
    columns = [
        (p.key, "BLOB", f"hash key of {p.hub}"),
        ("as_of", "TIMESTAMP", "a time any satellite changed"),
    ]
    columns += [(f"{s}_ts", "TIMESTAMP", f"effective_ts of the {s} version in force") for s in p.satellites]
    columns += [("built_load_ts", "TIMESTAMP", "newest satellite load_ts this row was built from")]
    return dg.AssetSpec(
        key=vault_key(p.name),
        deps=[vault_key(s) for s in p.satellites],
        group_name=GROUP,
        kinds={"duckdb"},
        owners=OWNERS,
        skippable=True,
        description=f"Point in time of {p.hub}: per key and change, the version in force of {', '.join(p.satellites)}.",
        metadata={"dagster/table_name": f"vault.{p.name}", "dagster/column_schema": schemas.table(columns)},
    )


def build_pit_asset(model: VaultModel) -> dg.AssetsDefinition | None:
    specs = [_spec(p) for p in pits(model)]
    if not specs:
        return None

    return cross_site_step("pit", specs, pit_step.run)

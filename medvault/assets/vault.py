"""vault/<hub|link|satellite>: Data Vault 2.0 tables from the compiled vault model (rules/vault/*.yaml).

Every fed hub, link and satellite is its own asset in the lineage graph, depending on the staging
assets whose loads feed it; they are materialized by the `load` step, in model order.
"""

import dagster as dg

from medvault.assets import schemas
from medvault.assets.ingest import staging_key
from medvault.assets.partitions import OWNERS
from medvault.platform.vault.checks import CHECKS
from medvault.platform.vault.model import VaultModel

CHECK_DESCRIPTIONS = {
    "hub": "Every business key staged in the partition resolves in the hub.",
    "link": "Every hub key of the partition's link rows exists in its hub.",
    "transaction": "Every hub key of the partition's transactions exists in its hub.",
    "effectivity": (
        "No version (key, effective_ts, hashdiff) of the partition's driving keys is stored twice, and the load "
        "stored no more versions than it had staged rows."
    ),
    "multi_active": (
        "No version (key, effective_ts, set hashdiff) of the partition's keys is stored twice, and the load "
        "stored no more rows than it had staged rows."
    ),
    "satellite": (
        "No version (key, effective_ts, hashdiff) of the partition's keys is stored twice, and the load stored "
        "no more versions than it had staged rows."
    ),
}


def vault_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["vault", name])


def vault_specs(model: VaultModel) -> list[dg.AssetSpec]:
    return [
        dg.AssetSpec(
            key=vault_key(obj.name),
            deps=[staging_key(*source.split(".", 1)) for source in model.sources(obj)],
            group_name="vault",
            kinds={"duckdb"},
            owners=OWNERS,
            skippable=True,
            description=obj.description,
            metadata={
                "dagster/table_name": f"vault.{obj.name}",
                "dagster/column_schema": schemas.vault(obj),
                "vault_kind": obj.kind,
            },
        )
        for obj in model.fed()
    ]


def vault_check_specs(model: VaultModel) -> list[dg.AssetCheckSpec]:
    """One balance check per fed hub, link and satellite, computed by the vault step (vault/checks.py)."""
    return [
        dg.AssetCheckSpec(
            CHECKS[obj.kind], asset=vault_key(obj.name), description=CHECK_DESCRIPTIONS[obj.kind]
        )
        for obj in model.fed()
        if obj.kind in CHECKS
    ]

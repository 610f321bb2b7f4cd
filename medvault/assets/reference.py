"""vault/ref_<name>: the rules' code lists as reference tables, unpartitioned, written by the marts job when
their content changed (platform/vault/reference.py)."""

import dagster as dg

from medvault.assets import schemas
from medvault.assets.cross_site import cross_site_step
from medvault.assets.partitions import OWNERS
from medvault.assets.vault import vault_key
from medvault.platform.rules import Rules
from medvault.platform.steps import reference

GROUP = "reference"


def build_reference_asset(rules: Rules) -> dg.AssetsDefinition | None:
    refs = list(rules.vault.references.values())
    if not refs:
        return None
    specs = [
        dg.AssetSpec(
            key=vault_key(r.name),
            group_name=GROUP,
            kinds={"duckdb"},
            owners=OWNERS,
            skippable=True,
            description=r.description or f"Reference table {r.name}, keyed by {r.key}.",
            metadata={
                "dagster/table_name": f"vault.{r.name}",
                "dagster/column_schema": schemas.table(
                    [
                        (c, "VARCHAR", "the code (unique)" if c == r.key else f"{c} of the code")
                        for c in r.columns
                    ]
                    + [
                        ("rules_sha256", "VARCHAR", "which content of the rules the table holds"),
                        ("loaded_at", "TIMESTAMP", "when that content was written"),
                    ]
                ),
            },
        )
        for r in refs
    ]

    return cross_site_step("references", specs, reference.run)

"""marts/<name>: one asset per mart of rules/marts/*.sql, cross-site, rebuilt by the marts job after the
vault tables, point-in-time tables and other marts it reads; its checks are the mart's own."""

import dagster as dg

from medvault.assets import schemas
from medvault.assets.cross_site import cross_site_step
from medvault.assets.partitions import OWNERS
from medvault.platform.marts.inputs import known_inputs
from medvault.platform.marts.models import MartDef
from medvault.platform.marts.validate import bind
from medvault.platform.rules.models import Rules
from medvault.platform.steps import marts as marts_step
from medvault.platform.vault.model import VaultModel

GROUP = "marts"


def _spec(mart: MartDef, producers: dict[str, str], types: list[tuple[str, str]]) -> dg.AssetSpec:
    deps = sorted({producers[i] for i in mart.inputs if i in producers})
    columns = [(c, t, mart.columns.get(c, "")) for c, t in types]
    return dg.AssetSpec(
        key=dg.AssetKey(["marts", mart.name]),
        deps=[dg.AssetKey(d.split(".", 1)) for d in deps],
        group_name=GROUP,
        kinds={"duckdb"},
        owners=OWNERS,
        description=mart.description,
        metadata={
            "dagster/table_name": mart.table,
            "dagster/column_schema": schemas.table(columns),
            "grain": ", ".join(mart.grain),
            "owner": mart.owner,
            "rules_file": f"rules/marts/{mart.name}.sql",
        },
    )


def build_marts_asset(rules: Rules, model: VaultModel) -> dg.AssetsDefinition | None:
    if not rules.marts:
        return None
    producers = known_inputs(model, rules.marts)
    types = bind(rules, model).columns
    specs = [_spec(m, producers, types.get(m.name, [])) for m in rules.marts]
    checks = [
        dg.AssetCheckSpec(c.name, asset=dg.AssetKey(["marts", m.name]), description=c.description or None)
        for m in rules.marts
        for c in m.checks
    ]
    return cross_site_step("marts", specs, marts_step.run, checks)

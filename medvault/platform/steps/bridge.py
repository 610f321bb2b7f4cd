"""Rebuild the bridge tables (vault/bridge.py) for the anchors reached by link rows loaded since their
last build."""

from __future__ import annotations

from medvault.platform.ledger import Ledger, LoadRecord
from medvault.platform.results import StepResult, TableResult
from medvault.platform.steps.context import StepContext
from medvault.platform.vault.bridge import bridges, build_bridge
from medvault.platform.vault.ddl import create_vault_tables
from medvault.platform.vault.model import SCHEMA
from medvault.platform.warehouse import row_count


def run(ctx: StepContext, names: set[str] | None = None) -> StepResult:
    """`names`: the bridges to build (None: all of them)."""
    result = StepResult()
    with ctx.connect() as con:
        create_vault_tables(con, ctx.vault)
        for bridge in bridges(ctx.vault):
            if names is not None and bridge.name not in names:
                continue
            anchors, rows = build_bridge(con, bridge)
            Ledger(con).audit.record(
                LoadRecord("bridge", f"{SCHEMA}.{bridge.name}", rows, rows_in=anchors), ctx.run_id
            )
            total = row_count(con, SCHEMA, bridge.name)
            meta = {"anchors_rebuilt": anchors, "rows_written": rows, "rows_in_table": total}
            result.tables.append(TableResult((SCHEMA, bridge.name), meta, total))
    return result

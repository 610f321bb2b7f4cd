"""Rebuild the point-in-time tables (vault/pit.py) for the keys loaded since their last build."""

from __future__ import annotations

from medvault.platform.ledger import Ledger, LoadRecord
from medvault.platform.results import StepResult, TableResult
from medvault.platform.steps.context import StepContext
from medvault.platform.vault.ddl import create_vault_tables
from medvault.platform.vault.model import SCHEMA
from medvault.platform.vault.pit import build_pit, pits
from medvault.platform.warehouse import row_count


def run(ctx: StepContext, names: set[str] | None = None) -> StepResult:
    """`names`: the PITs to build (None: all of them)."""
    result = StepResult()
    with ctx.connect() as con:
        create_vault_tables(con, ctx.vault)
        for pit in pits(ctx.vault):
            if names is not None and pit.name not in names:
                continue
            keys, rows = build_pit(con, pit)
            Ledger(con).audit.record(
                LoadRecord("pit", f"{SCHEMA}.{pit.name}", rows, rows_in=keys), ctx.run_id
            )
            meta = {
                "keys_rebuilt": keys,
                "rows_written": rows,
                "rows_in_table": row_count(con, SCHEMA, pit.name),
            }
            result.tables.append(TableResult((SCHEMA, pit.name), meta, row_count(con, SCHEMA, pit.name)))
    return result

"""Rebuild the dashboard marts from the vault (cross-site, unpartitioned)."""

from __future__ import annotations

from medvault.platform.ledger import Ledger, LoadRecord
from medvault.platform.marts.exams import TABLE, build_exams_per_month
from medvault.platform.results import StepResult, TableResult
from medvault.platform.steps.context import StepContext
from medvault.platform.vault.ddl import create_vault_tables
from medvault.platform.warehouse import transaction

PREVIEW_ROWS = 20


def run(ctx: StepContext) -> StepResult:
    with ctx.connect() as con:
        create_vault_tables(con, ctx.vault)  # an empty vault gives an empty mart, not an error
        with transaction(con):
            rows = build_exams_per_month(con)
            Ledger(con).audit.record(LoadRecord("marts", TABLE, rows), ctx.run_id)
        preview = con.execute(
            f"SELECT site, CAST(month AS VARCHAR) AS month, modality, exams FROM {TABLE} "
            f"ORDER BY site, month, modality LIMIT {PREVIEW_ROWS}"
        ).fetchall()
    columns = ("site", "month", "modality", "exams")
    return StepResult(
        tables=[TableResult(("marts", "exams_per_month"), {}, rows, preview=(columns, preview))]
    )

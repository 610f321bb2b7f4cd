"""Rebuild the marts (rules/marts/*.sql) from the vault and the DICOM tables, cross-site, and compute
their checks.

Each mart is rebuilt whole in its own transaction, after the marts it reads; one mart's failure (an SQL
error on data the rules check could not foresee) is reported and the others still build.
"""

from __future__ import annotations

from medvault.platform.ledger import Ledger, LoadRecord
from medvault.platform.marts.build import build_mart, preview, run_check
from medvault.platform.marts.functions import register_functions
from medvault.platform.marts.inputs import ensure_inputs
from medvault.platform.marts.models import SCHEMA, build_order
from medvault.platform.redact import safe_error
from medvault.platform.results import StepResult, TableResult
from medvault.platform.steps.context import StepContext
from medvault.platform.warehouse import transaction


def run(ctx: StepContext, names: set[str] | None = None) -> StepResult:
    """`names`: the marts to build (None: all of them)."""
    result = StepResult()
    failed: set[str] = set()
    with ctx.connect() as con:
        register_functions(con, ctx.settings.pseudonym_secret())
        with transaction(con):
            ensure_inputs(con, ctx.vault)
        for mart in build_order(ctx.rules.marts):
            if names is not None and mart.name not in names:
                continue
            if failed & set(mart.mart_inputs()):
                result.failures.append(f"{mart.table}: not built, a mart it reads failed")
                result.failed.append((SCHEMA, mart.name))
                failed.add(mart.name)
                continue
            try:
                with transaction(con):
                    rows = build_mart(con, mart)
                    Ledger(con).audit.record(LoadRecord("marts", mart.table, rows), ctx.run_id)
            except Exception as exc:
                result.failures.append(f"{mart.table}: {safe_error(exc)}")
                result.failed.append((SCHEMA, mart.name))
                failed.add(mart.name)
                continue
            result.tables.append(
                TableResult(
                    (SCHEMA, mart.name), {"grain": ", ".join(mart.grain)}, rows, preview=preview(con, mart)
                )
            )
            result.checks.extend(run_check(con, mart, check) for check in mart.checks)
    return result

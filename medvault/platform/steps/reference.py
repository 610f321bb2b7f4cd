"""Write the rules' reference tables (vault/reference.py) whose content changed."""

from __future__ import annotations

from medvault.platform.ledger import Ledger, LoadRecord
from medvault.platform.results import StepResult, TableResult
from medvault.platform.steps.context import StepContext
from medvault.platform.vault.model import SCHEMA
from medvault.platform.vault.reference import load_reference


def run(ctx: StepContext, names: set[str] | None = None) -> StepResult:
    result = StepResult()
    with ctx.connect() as con:
        for ref in ctx.rules.vault.references.values():
            if names is not None and ref.name not in names:
                continue
            written = load_reference(con, ref)
            if written is not None:
                Ledger(con).audit.record(LoadRecord("reference", f"{SCHEMA}.{ref.name}", written), ctx.run_id)
            meta = {"rows": len(ref.rows), "rewritten": written is not None}
            result.tables.append(TableResult((SCHEMA, ref.name), meta, len(ref.rows)))
    return result

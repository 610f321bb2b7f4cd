"""Rebuild the marts (rules/marts/*.sql) from the vault and the DICOM tables, cross-site, and compute
their checks.

Each mart is rebuilt in its own transaction, after the marts it reads: whole, or only the sites whose
data changed since its last build (`rebuild: by_site`, marts/incremental.py). One mart's failure (an SQL
error on data the rules check could not foresee) is reported and the others still build.
"""

from __future__ import annotations

from medvault.platform.ledger import Ledger, LoadRecord
from medvault.platform.marts.build import build_mart, mart_sites, preview, run_check
from medvault.platform.marts.functions import register_functions
from medvault.platform.marts.incremental import FULL, Plan, fingerprint, plan
from medvault.platform.marts.inputs import ensure_inputs
from medvault.platform.marts.models import SCHEMA, build_order
from medvault.platform.redact import safe_error
from medvault.platform.results import StepResult, TableResult
from medvault.platform.steps.context import StepContext
from medvault.platform.warehouse import table_exists, transaction


def run(ctx: StepContext, names: set[str] | None = None) -> StepResult:
    """`names`: the marts to build (None: all of them)."""
    result = StepResult()
    failed: set[str] = set()
    plans: dict[str, Plan] = {}
    with ctx.connect() as con:
        register_functions(con, ctx.settings.pseudonym_secret())
        with transaction(con):
            ensure_inputs(con, ctx.vault)
        ledger = Ledger(con)
        started = ledger.marts.now()
        known = ledger.marts.known_sites()
        for mart in build_order(ctx.rules.marts):
            if names is not None and mart.name not in names:
                continue
            if failed & set(mart.mart_inputs()):
                result.failures.append(f"{mart.table}: not built, a mart it reads failed")
                result.failed.append((SCHEMA, mart.name))
                failed.add(mart.name)
                continue
            fp = fingerprint(mart, ctx.rules.vault.references)
            try:
                chosen = _plan(con, ledger, mart, fp, plans, known)
                with transaction(con):
                    rows = build_mart(con, mart, None if chosen.mode == FULL else chosen.sites)
                    ledger.marts.record(mart.name, fp, chosen.mode, chosen.sites, started, ctx.run_id)
                    ledger.audit.record(LoadRecord("marts", mart.table, rows), ctx.run_id)
            except Exception as exc:
                result.failures.append(f"{mart.table}: {safe_error(exc)}")
                result.failed.append((SCHEMA, mart.name))
                failed.add(mart.name)
                continue
            plans[mart.name] = chosen
            meta = {
                "grain": ", ".join(mart.grain),
                "rebuild": chosen.mode,
                "why": chosen.reason,
                "sites_rebuilt": sorted(chosen.sites) if chosen.sites is not None else "all",
            }
            result.tables.append(TableResult((SCHEMA, mart.name), meta, rows, preview=preview(con, mart)))
            result.checks.extend(run_check(con, mart, check) for check in mart.checks)
    return result


def _plan(con, ledger: Ledger, mart, fp: str, plans: dict[str, Plan], known: set[str]) -> Plan:
    last = ledger.marts.last_build(mart.name)
    exists = table_exists(con, SCHEMA, mart.name)
    if mart.rebuild != "by_site" or last is None or not exists:
        return plan(mart, fp, last, exists, set(), plans, set())
    changed = ledger.marts.changed_sites_since(last.started_at)
    return plan(mart, fp, last, exists, changed, plans, mart_sites(con, mart) - known)

"""Rebuild the marts (rules/marts/*.sql) from the vault and the DICOM tables, cross-site, and compute
their checks.

Each mart is rebuilt in its own transaction, after the marts it reads: whole, or only the sites whose
data changed since its last build (`rebuild: by_site`), or only the (site, month) pairs the loads into
its month's satellite may have changed (`rebuild: by_month`; marts/incremental.py, marts/months.py). One mart's failure (an SQL
error on data the rules check could not foresee) is reported and the others still build.
"""

from __future__ import annotations

from medvault.platform.ledger import Ledger, LoadRecord
from medvault.platform.marts.build import build_mart, mart_sites, preview, run_check
from medvault.platform.marts.functions import register_functions
from medvault.platform.marts.incremental import BY_MONTH, FULL, Plan, fingerprint, plan
from medvault.platform.marts.inputs import ensure_inputs
from medvault.platform.marts.models import SCHEMA, build_order
from medvault.platform.marts.months import affected_months, month_label
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
                chosen = _plan(con, ctx, ledger, mart, fp, plans, known)
                months = [month_label(m) for m in chosen.months] if chosen.mode == BY_MONTH else None
                with transaction(con):
                    if chosen.mode == BY_MONTH:
                        rows = build_mart(con, mart, chosen.sites, chosen.months)
                    else:
                        rows = build_mart(con, mart, None if chosen.mode == FULL else chosen.sites)
                    sites = None if chosen.mode == FULL else chosen.touched()
                    ledger.marts.record(mart.name, fp, chosen.mode, sites, started, ctx.run_id, months)
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
                "sites_rebuilt": sorted(chosen.touched()) if chosen.mode != FULL else "all",
            }
            if months is not None:
                meta["months_rebuilt"] = sorted(months)
            result.tables.append(TableResult((SCHEMA, mart.name), meta, rows, preview=preview(con, mart)))
            result.checks.extend(run_check(con, mart, check) for check in mart.checks)
    return result


def _plan(
    con, ctx: StepContext, ledger: Ledger, mart, fp: str, plans: dict[str, Plan], known: set[str]
) -> Plan:
    last = ledger.marts.last_build(mart.name)
    exists = table_exists(con, SCHEMA, mart.name)
    if mart.rebuild == FULL or last is None or not exists or last.fingerprint != fp:
        return plan(mart, fp, last, exists, set(), plans, set())
    orphans = mart_sites(con, mart) - known
    if mart.rebuild == BY_MONTH:  # the months of the keys the loads since wrote to the month's satellite
        loads = ledger.marts.partitions_loaded_since(f"vault.{mart.month.satellite}", last.started_at)
        months = affected_months(con, ctx.vault, mart, loads)
        return plan(mart, fp, last, exists, set(), plans, orphans, months)
    changed = ledger.marts.changed_sites_since(last.started_at)
    return plan(mart, fp, last, exists, changed, plans, orphans)

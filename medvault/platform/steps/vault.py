"""Load the vault for one (site, date): every selected hub, link and satellite, in one transaction.

An object is loaded only when a staged table feeding it has rows in the partition (otherwise nothing
arrived for it, and it gets no result); an object fed by a table whose staging failed in this run is not
loaded from the stale slice. One load timestamp and ONE transaction for the partition, its load audit
rows included: a failure or a crash leaves the vault as it was, every object of the partition is
reported failed, and the rerun completes it. After the load each object's balance check (vault/checks.py)
runs on the same hashed batch.
"""

from __future__ import annotations

from datetime import UTC, datetime

from medvault.platform import stopping
from medvault.platform.ledger import Ledger, LoadRecord
from medvault.platform.redact import safe_error
from medvault.platform.results import CheckOutcome, StepResult, TableResult
from medvault.platform.steps.context import StepContext
from medvault.platform.vault.checks import check_object
from medvault.platform.vault.ddl import create_vault_tables
from medvault.platform.vault.loader import hashed_batches, load_batches
from medvault.platform.vault.model import SCHEMA
from medvault.platform.warehouse import row_count, transaction


def run(ctx: StepContext, names: set[str], failed_sources: set[str] = frozenset(), checks=None) -> StepResult:
    """`names`: the objects to load; `failed_sources`: staged tables ("system.table") that failed now;
    `checks`: the (table parts, check name) selected (None: every object's check)."""
    site, date = ctx.partition
    load_ts = datetime.now(UTC).replace(tzinfo=None)
    result = StepResult()
    with ctx.connect() as con:
        ledger = Ledger(con)
        create_vault_tables(con, ctx.vault)
        wanted = []
        for obj in ctx.vault.fed():
            if obj.name not in names:
                continue
            if failed_sources.intersection(ctx.vault.sources(obj)):
                ctx.log.warning(
                    f"vault {obj.name} not loaded: staging of {', '.join(sorted(failed_sources))} failed"
                )
                continue
            wanted.append(obj.name)
        with hashed_batches(con, ctx.vault, wanted, site, date) as batches:
            try:
                with transaction(con):
                    done = load_batches(con, ctx.vault, wanted, batches, load_ts)
                    verdicts = {
                        name: check_object(con, ctx.vault, name, batches, load.rows_in, load.rows_inserted)
                        for name, load in done.items()
                    }
                    for name, load in done.items():
                        ledger.audit.record(_record(name, load, verdicts[name], site, date), ctx.run_id)
            except Exception as exc:  # the partition's vault load is one unit: all of it failed
                if stopping.interrupted(exc):
                    raise
                ctx.log.error(f"vault load of {site} {date} failed, nothing of it kept: {safe_error(exc)}")
                for name in wanted:
                    result.failures.append(name)
                    result.failed.append((SCHEMA, name))
                return result
        for name, load in done.items():
            meta = {"rows_inserted": load.rows_inserted, "rows_in_table": row_count(con, SCHEMA, name)}
            if load.rows_seen:
                meta["versions_seen_unchanged"] = load.rows_seen
            if verdicts[name] and verdicts[name].ghost_rows:
                meta["rows_ghost"] = verdicts[name].ghost_rows
            result.tables.append(TableResult((SCHEMA, name), meta, load.rows_inserted))
            verdict = verdicts[name]
            if verdict and (checks is None or ((SCHEMA, name), verdict.name) in checks):
                result.checks.append(
                    CheckOutcome(verdict.name, (SCHEMA, name), verdict.passed, metadata=verdict.metadata)
                )
    return result


def _record(name, load, verdict, site, date) -> LoadRecord:
    known = ghosts = None
    if verdict is not None:
        known = max(verdict.batch_keys - load.rows_inserted - load.rows_seen, 0)
        ghosts = verdict.ghost_rows
    return LoadRecord(
        "vault",
        f"{SCHEMA}.{name}",
        load.rows_inserted,
        site,
        date,
        rows_in=load.rows_in,
        seconds=load.seconds,
        rows_known=known,
        rows_ghost=ghosts,
    )

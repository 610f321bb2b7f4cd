"""Load the vault for one (site, date): every selected hub, link and satellite, in model order.

An object is loaded only when a staged table feeding it has rows in the partition (otherwise nothing
arrived for it, and it gets no result); an object fed by a table whose staging failed in this run is not
loaded from the stale slice. One load timestamp for the partition; one transaction per table; a table
that fails does not stop the others (its error is in `failures`). Every load is in the load audit.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from medvault.platform import stopping
from medvault.platform.ledger import Ledger, LoadRecord
from medvault.platform.redact import safe_error
from medvault.platform.results import StepResult, TableResult
from medvault.platform.staging.tables import slice_rows, staging_name
from medvault.platform.steps.context import StepContext
from medvault.platform.vault.ddl import create_vault_tables
from medvault.platform.vault.loader import load_object
from medvault.platform.vault.model import SCHEMA
from medvault.platform.warehouse import row_count


def run(ctx: StepContext, names: set[str], failed_sources: set[str] = frozenset()) -> StepResult:
    """`names`: the objects to load; `failed_sources`: staged tables ("system.table") that failed now."""
    site, date = ctx.partition
    load_ts = datetime.now(UTC).replace(tzinfo=None)
    result = StepResult()
    with ctx.connect() as con:
        ledger = Ledger(con)
        create_vault_tables(con, ctx.vault)
        arrived: dict[str, bool] = {}
        for obj in ctx.vault.fed():
            if obj.name not in names:
                continue
            sources = ctx.vault.sources(obj)
            if failed_sources.intersection(sources):
                ctx.log.warning(
                    f"vault {obj.name} not loaded: staging of {', '.join(sorted(failed_sources))} failed"
                )
                continue
            for source in sources:
                if source not in arrived:
                    arrived[source] = slice_rows(con, staging_name(*source.split(".", 1)), site, date) > 0
            if not any(arrived[s] for s in sources):
                continue
            started = time.monotonic()
            try:
                inserted = load_object(con, ctx.vault, obj.name, site, date, load_ts)
            except Exception as exc:  # keep loading the other tables; report at the end
                if stopping.interrupted(exc):
                    raise
                ctx.log.error(f"vault {obj.name} failed: {safe_error(exc)}")
                result.failures.append(obj.name)
                result.failed.append((SCHEMA, obj.name))
                continue
            seconds = round(time.monotonic() - started, 3)
            ledger.audit.record(
                LoadRecord("vault", f"{SCHEMA}.{obj.name}", inserted, site, date, seconds=seconds), ctx.run_id
            )
            meta = {"rows_inserted": inserted, "rows_in_table": row_count(con, SCHEMA, obj.name)}
            result.tables.append(TableResult((SCHEMA, obj.name), meta, inserted))
    return result

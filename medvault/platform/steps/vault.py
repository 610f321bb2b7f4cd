"""Load the vault for one (site, date): every selected hub, link and satellite, in model order.

One load timestamp for the partition; one transaction per table; a table that fails does not stop the
others (its error is in `failures`). Every load is written to the ledger's load audit.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from medvault.platform.ledger import Ledger, LoadRecord
from medvault.platform.redact import safe_error
from medvault.platform.results import StepResult, TableResult
from medvault.platform.steps.context import StepContext
from medvault.platform.vault.ddl import create_vault_tables
from medvault.platform.vault.loader import load_object
from medvault.platform.vault.model import SCHEMA
from medvault.platform.warehouse import row_count


def run(ctx: StepContext, names: set[str]) -> StepResult:
    site, date = ctx.partition
    load_ts = datetime.now(UTC).replace(tzinfo=None)
    result = StepResult()
    with ctx.warehouse.connect() as con:
        ledger = Ledger(con)
        create_vault_tables(con, ctx.vault)
        for obj in ctx.vault.fed():
            if obj.name not in names:
                continue
            started = time.monotonic()
            try:
                inserted = load_object(con, ctx.vault, obj.name, site, date, load_ts)
            except Exception as exc:  # keep loading the other tables; report at the end
                ctx.log.error(f"vault {obj.name} failed: {safe_error(exc)}")
                result.failures.append(obj.name)
                continue
            seconds = round(time.monotonic() - started, 3)
            ledger.audit.record(
                LoadRecord("vault", f"{SCHEMA}.{obj.name}", inserted, site, date, seconds=seconds), ctx.run_id
            )
            total = row_count(con, SCHEMA, obj.name)
            result.tables.append(TableResult((SCHEMA, obj.name), {"rows_inserted": inserted}, total))
    return result

"""Set-based Data Vault loads from the staged (site, date) slices, driven only by the compiled model.

`load_objects` hashes each feeding load's partition once (batch.py), then runs every object's INSERT
(written by its kind, see `kinds/`) in ONE transaction: a crash or a failure leaves the vault as it was,
and the rerun completes it. Loads only insert; running the same partition twice inserts 0 rows.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

from medvault.platform.rules.models import Rules, VaultLoad
from medvault.platform.staging.tables import staging_name
from medvault.platform.vault.batch import Batches, build_batches, drop_batches
from medvault.platform.vault.ddl import create_vault_tables
from medvault.platform.vault.kinds import BY_NAME
from medvault.platform.vault.model import VaultModel, compile_vault
from medvault.platform.warehouse import table_exists, transaction


@dataclass(frozen=True)
class ObjectLoad:
    """What one load did to one vault table: staged rows that fed it, rows it inserted, seconds, and
    for a satellite the versions it recorded as repeats (`__seen`)."""

    rows_in: int
    rows_inserted: int
    seconds: float
    rows_seen: int = 0


def _params(site: str, day: date | str, load_ts: datetime | None) -> dict:
    if isinstance(day, str):
        day = date.fromisoformat(day)
    if load_ts is None:
        load_ts = datetime.now(UTC)
    if load_ts.tzinfo is not None:
        load_ts = load_ts.astimezone(UTC).replace(tzinfo=None)
    return {"site": site, "date": day, "load_ts": load_ts}


def _execute(con, plan, load_ts: datetime) -> dict[str, int]:
    """Run a kind's statements: one INSERT, or [(sql, role)]; returns the row counts by role
    ("inserted": new rows of the table, "seen": repeats a satellite recorded beside it)."""
    statements = [(plan, "inserted")] if isinstance(plan, str) else plan
    counts = {"inserted": 0, "seen": 0}
    for sql, role in statements:
        params = {"load_ts": load_ts} if "$load_ts" in sql else None
        row = con.execute(sql, params).fetchone() if params else con.execute(sql).fetchone()
        if role and row:
            counts[role] += int(row[0])
    return counts


@contextmanager
def hashed_batches(con, model: VaultModel, names, site: str, day: date | str):
    """The hashed batches feeding `names` for one (site, date), dropped when the block ends."""
    params = _params(site, day, None)

    def present(load: VaultLoad) -> bool:
        return table_exists(con, "staging", staging_name(load.system, load.table))

    feeds = {i for n in names for i in model.objects[n].feeds}
    batches = build_batches(con, model, feeds, params, present)
    try:
        yield batches
    finally:
        drop_batches(con, batches)


def load_batches(con, model: VaultModel, names, batches: Batches, load_ts: datetime) -> dict[str, ObjectLoad]:
    """Load `names` (in model order) from the hashed batches in one transaction; objects no batch
    feeds are left out of the result."""
    wanted = [model.objects[n] for n in model.objects if n in set(names)]
    out: dict[str, ObjectLoad] = {}
    with transaction(con):
        for obj in wanted:
            fed = batches.of(obj.feeds)
            plan = BY_NAME[obj.kind].load_sql(model, obj, fed)
            if plan is None:
                continue
            started = time.monotonic()
            counts = _execute(con, plan, load_ts)
            out[obj.name] = ObjectLoad(
                sum(batches.rows[i] for i, _ in fed),
                counts["inserted"],
                round(time.monotonic() - started, 3),
                counts["seen"],
            )
    return out


def load_objects(
    con, model: VaultModel, names, site: str, day: date | str, load_ts: datetime | None = None
) -> dict[str, ObjectLoad]:
    """Hash the batches of one (site, date), then load `names` from them in one transaction."""
    params = _params(site, day, load_ts)
    with hashed_batches(con, model, names, site, params["date"]) as batches:
        return load_batches(con, model, names, batches, params["load_ts"])


def load_object(
    con, model: VaultModel, name: str, site: str, day: date | str, load_ts: datetime | None = None
) -> int:
    """Insert what one (site, date) slice adds to one hub, link or satellite; returns inserted rows."""
    done = load_objects(con, model, [name], site, day, load_ts)
    return done[name].rows_inserted if name in done else 0


def load_partition(
    con, rules: Rules | VaultModel, site: str, day: date | str, load_ts: datetime | None = None
) -> dict[str, int]:
    """Create missing vault tables, then load every object for one (site, date) in one transaction.

    Returns inserted rows per table (0 for tables nothing in the partition feeds)."""
    model = rules if isinstance(rules, VaultModel) else compile_vault(rules)
    create_vault_tables(con, model)
    done = load_objects(con, model, model.objects, site, day, load_ts)
    return {name: done[name].rows_inserted if name in done else 0 for name in model.objects}


def _load_one(kind: str):
    def load(
        con, rules: Rules, name: str, site: str, day: date | str, load_ts: datetime | None = None
    ) -> int:
        model = compile_vault(rules)
        if model.objects[name].kind != kind:
            raise KeyError(f"{name} is a {model.objects[name].kind}, not a {kind}")
        return load_object(con, model, name, site, day, load_ts)

    load.__doc__ = f"Load one {kind} for one (site, date) (compiles the rules; steps use `load_objects`)."
    return load


load_hub = _load_one("hub")
load_link = _load_one("link")
load_satellite = _load_one("satellite")

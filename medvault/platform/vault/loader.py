"""Set-based Data Vault loads from the staged (site, date) slices, driven only by the compiled model.

`load_object` runs one object's load SQL (written by its kind, see `kinds/`) over every staged table
feeding it, `WHERE _site = site AND _date = date`, in ONE transaction, and returns the inserted rows.
Running the same partition twice inserts 0 rows the second time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from medvault.platform.rules.models import Rules, VaultLoad
from medvault.platform.staging.tables import staging_name
from medvault.platform.vault.ddl import create_vault_tables
from medvault.platform.vault.kinds import BY_NAME
from medvault.platform.vault.model import VaultModel, compile_vault
from medvault.platform.warehouse import table_exists, transaction


def _params(site: str, day: date | str, load_ts: datetime | None) -> dict:
    if isinstance(day, str):
        day = date.fromisoformat(day)
    if load_ts is None:
        load_ts = datetime.now(UTC)
    if load_ts.tzinfo is not None:
        load_ts = load_ts.astimezone(UTC).replace(tzinfo=None)
    return {"site": site, "date": day, "load_ts": load_ts}


def load_object(
    con, model: VaultModel, name: str, site: str, day: date | str, load_ts: datetime | None = None
) -> int:
    """Insert what one (site, date) slice adds to one hub, link or satellite; returns inserted rows."""
    obj = model.objects[name]

    def present(load: VaultLoad) -> bool:
        return table_exists(con, "staging", staging_name(load.system, load.table))

    sql = BY_NAME[obj.kind].load_sql(model, obj, present)
    if sql is None:
        return 0
    with transaction(con):
        row = con.execute(sql, _params(site, day, load_ts)).fetchone()
    return int(row[0]) if row else 0


def load_partition(
    con, rules: Rules | VaultModel, site: str, day: date | str, load_ts: datetime | None = None
) -> dict[str, int]:
    """Create missing vault tables, then load every object for one (site, date), in model order.

    Returns inserted rows per table. One load_ts for the whole partition; one transaction per table."""
    model = rules if isinstance(rules, VaultModel) else compile_vault(rules)
    params = _params(site, day, load_ts)
    create_vault_tables(con, model)
    return {
        name: load_object(con, model, name, site, params["date"], params["load_ts"]) for name in model.objects
    }


def _load_one(kind: str):
    def load(
        con, rules: Rules, name: str, site: str, day: date | str, load_ts: datetime | None = None
    ) -> int:
        model = compile_vault(rules)
        if model.objects[name].kind != kind:
            raise KeyError(f"{name} is a {model.objects[name].kind}, not a {kind}")
        return load_object(con, model, name, site, day, load_ts)

    load.__doc__ = f"Load one {kind} for one (site, date) (compiles the rules; steps use `load_object`)."
    return load


load_hub = _load_one("hub")
load_link = _load_one("link")
load_satellite = _load_one("satellite")

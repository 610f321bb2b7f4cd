"""Set-based Data Vault loads from the staged (site, date) slices, driven only by the rules.

Each `load_*` call reads every VaultLoad that feeds its target from `staging.<system>__<table>` WHERE
`_site = site AND _date = date`, writes inside ONE transaction and returns the number of inserted rows.
Running the same partition twice inserts 0 rows the second time.

* Hubs and links: insert-if-absent; rows without a key (all-NULL business key) are skipped; within the
  batch one row per hash key (first load in rule order, then lowest `_row_number`).
* Satellites: within the batch the latest staged row per parent key wins (by `effective_ts`, then
  `_row_number`), where `effective_ts` is the table's modified column, or the partition date when the
  table has none or the value is NULL. It is inserted only when
    - the key has no satellite row yet, or
    - its hashdiff differs from the key's latest satellite row AND it is not older than that row:
      `(effective_ts, _date) >= (latest.effective_ts, latest._date)`.
  So replaying an older partition after a newer one adds nothing, and re-delivering a corrected
  partition (same date, changed payload) adds one row.
The latest satellite row per key is the one with the greatest (effective_ts, _date, load_ts); only
keys of the batch are looked up (and only rows of the same site), not the whole satellite.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from medvault.platform.rules.models import Rules, VaultLoad
from medvault.platform.vault.ddl import (
    create_vault_tables,
    hash_column,
    hub_columns,
    link_columns,
    modified_column,
    satellite_columns,
    satellite_spec,
    staging_table,
    table_name,
)
from medvault.platform.vault.hashing import hash_key_sql, hashdiff_sql, quote


def _params(site: str, day: date | str, load_ts: datetime | None) -> dict:
    if isinstance(day, str):
        day = date.fromisoformat(day)
    if load_ts is None:
        load_ts = datetime.now(UTC)
    if load_ts.tzinfo is not None:
        load_ts = load_ts.astimezone(UTC).replace(tzinfo=None)
    return {"site": site, "date": day, "load_ts": load_ts}


def _staging_exists(con, load: VaultLoad) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'staging' AND table_name = ?",
        [f"{load.system}__{load.table}"],
    ).fetchone()
    return bool(row and row[0])


def _record_source(load: VaultLoad) -> str:
    return f"'{load.source}/' || _version"


def _hub_key(rules: Rules, load: VaultLoad, hub: str) -> str:
    cols = load.hubs[hub]
    if len(cols) != len(rules.vault.hubs[hub].business_key):
        raise ValueError(f"{load.source}: hub {hub} needs {len(rules.vault.hubs[hub].business_key)} columns")
    return hash_key_sql([quote(c) for c in cols], tenant="_site")


def _link_key(rules: Rules, load: VaultLoad, link: str) -> str:
    exprs = [quote(c) for h in rules.vault.links[link].hubs for c in load.hubs[h]]
    return hash_key_sql(exprs, tenant="_site")


def _run(con, sql: str, params: dict) -> int:
    """Execute one INSERT inside its own transaction and return the inserted row count."""
    con.execute("BEGIN TRANSACTION")
    try:
        row = con.execute(sql, params).fetchone()
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return int(row[0]) if row else 0


_WHERE = "WHERE _site = $site AND _date = $date"


def load_hub(
    con, rules: Rules, hub_name: str, site: str, date: date | str, load_ts: datetime | None = None
) -> int:
    """Insert the hub keys of one (site, date) slice that the hub does not have yet."""
    hub = rules.vault.hubs[hub_name]
    parts = []
    for i, load in enumerate(rules.vault.loads):
        if hub_name not in load.hubs or not _staging_exists(con, load):
            continue
        bks = ", ".join(
            f"NULLIF(TRIM(CAST({quote(src)} AS VARCHAR)), '') AS {quote(bk)}"
            for src, bk in zip(load.hubs[hub_name], hub.business_key, strict=True)
        )
        parts.append(
            f"SELECT {_hub_key(rules, load, hub_name)} AS hk, _site AS site, {bks}, "
            f"{_record_source(load)} AS record_source, {i} AS _load, _row_number "
            f"FROM {staging_table(load)} {_WHERE}"
        )
    if not parts:
        return 0
    hk = quote(hash_column(hub_name))
    target = table_name(hub_name)
    cols = ", ".join(quote(c) for c, _ in hub_columns(rules, hub_name))
    bk_sel = ", ".join(f"b.{quote(c)}" for c in hub.business_key)
    sql = f"""
        INSERT INTO {target} ({cols})
        WITH src AS ({" UNION ALL ".join(parts)}),
        batch AS (
            SELECT * FROM src WHERE hk IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY hk ORDER BY _load, _row_number) = 1
        )
        SELECT b.hk, b.site, {bk_sel}, CAST($load_ts AS TIMESTAMP), b.record_source
        FROM batch b
        WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE t.{hk} = b.hk)
    """
    return _run(con, sql, _params(site, date, load_ts))


def load_link(
    con, rules: Rules, link_name: str, site: str, date: date | str, load_ts: datetime | None = None
) -> int:
    """Insert the link rows of one (site, date) slice that the link does not have yet."""
    link = rules.vault.links[link_name]
    parts = []
    for i, load in enumerate(rules.vault.loads):
        if link_name not in load.links or not _staging_exists(con, load):
            continue
        hub_keys = ", ".join(f"{_hub_key(rules, load, h)} AS hk{j}" for j, h in enumerate(link.hubs))
        parts.append(
            f"SELECT {_link_key(rules, load, link_name)} AS hk, {hub_keys}, _site AS site, "
            f"{_record_source(load)} AS record_source, {i} AS _load, _row_number "
            f"FROM {staging_table(load)} {_WHERE}"
        )
    if not parts:
        return 0
    hk = quote(hash_column(link_name))
    target = table_name(link_name)
    cols = ", ".join(quote(c) for c, _ in link_columns(rules, link_name))
    not_null = " AND ".join(f"hk{j} IS NOT NULL" for j in range(len(link.hubs)))
    hub_sel = ", ".join(f"b.hk{j}" for j in range(len(link.hubs)))
    sql = f"""
        INSERT INTO {target} ({cols})
        WITH src AS ({" UNION ALL ".join(parts)}),
        batch AS (
            SELECT * FROM src WHERE {not_null}
            QUALIFY row_number() OVER (PARTITION BY hk ORDER BY _load, _row_number) = 1
        )
        SELECT b.hk, {hub_sel}, b.site, CAST($load_ts AS TIMESTAMP), b.record_source
        FROM batch b
        WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE t.{hk} = b.hk)
    """
    return _run(con, sql, _params(site, date, load_ts))


def load_satellite(
    con, rules: Rules, sat_name: str, site: str, date: date | str, load_ts: datetime | None = None
) -> int:
    """Insert the changed payloads of one (site, date) slice (see the module docstring for the rule)."""
    spec = satellite_spec(rules, sat_name)
    types = dict(satellite_columns(rules, sat_name))
    parts = []
    for i, (load, sat) in enumerate(spec.loads):
        if not _staging_exists(con, load):
            continue
        if spec.parent in rules.vault.hubs:
            parent_key = _hub_key(rules, load, spec.parent)
        else:
            parent_key = _link_key(rules, load, spec.parent)
        payload = ", ".join(f"CAST({quote(c)} AS {types[c]}) AS {quote(c)}" for c in spec.columns)
        modified = modified_column(rules, load.source)
        effective = "CAST(_date AS TIMESTAMP)"
        if modified:
            effective = f"COALESCE(CAST({quote(modified)} AS TIMESTAMP), {effective})"
        parts.append(
            f"SELECT {parent_key} AS hk, {hashdiff_sql(sat.columns)} AS hashdiff, {payload}, "
            f"{effective} AS effective_ts, {_record_source(load)} AS record_source, _site, _date, "
            f"{i} AS _load, _row_number "
            f"FROM {staging_table(load)} {_WHERE}"
        )
    if not parts:
        return 0
    hk = quote(hash_column(spec.parent))
    target = table_name(sat_name)
    cols = ", ".join(quote(c) for c, _ in satellite_columns(rules, sat_name))
    payload_sel = ", ".join(f"b.{quote(c)}" for c in spec.columns)
    sql = f"""
        INSERT INTO {target} ({cols})
        WITH src AS ({" UNION ALL ".join(parts)}),
        batch AS (
            SELECT * FROM src WHERE hk IS NOT NULL
            QUALIFY row_number() OVER (
                PARTITION BY hk ORDER BY effective_ts DESC, _row_number DESC, _load DESC) = 1
        ),
        cur AS (
            SELECT s.{hk} AS hk, s.hashdiff, s.effective_ts, s._date
            FROM {target} s
            WHERE s._site = $site AND s.{hk} IN (SELECT hk FROM batch)
            QUALIFY row_number() OVER (
                PARTITION BY s.{hk} ORDER BY s.effective_ts DESC, s._date DESC, s.load_ts DESC) = 1
        )
        SELECT b.hk, b.hashdiff, {payload_sel}, b.effective_ts, CAST($load_ts AS TIMESTAMP),
               b.record_source, b._site, b._date
        FROM batch b LEFT JOIN cur c ON c.hk = b.hk
        WHERE c.hk IS NULL
           OR (b.hashdiff <> c.hashdiff
               AND (b.effective_ts > c.effective_ts
                    OR (b.effective_ts = c.effective_ts AND b._date >= c._date)))
    """
    return _run(con, sql, _params(site, date, load_ts))


def load_partition(
    con, rules: Rules, site: str, date: date | str, load_ts: datetime | None = None
) -> dict[str, int]:
    """Create missing vault tables, then load every hub, link and satellite for one (site, date).

    Returns inserted rows per table. One load_ts for the whole partition; one transaction per table.
    """
    params = _params(site, date, load_ts)
    create_vault_tables(con, rules)
    counts: dict[str, int] = {}
    for hub in rules.vault.hubs:
        counts[hub] = load_hub(con, rules, hub, site, params["date"], params["load_ts"])
    for link in rules.vault.links:
        counts[link] = load_link(con, rules, link, site, params["date"], params["load_ts"])
    for sat in rules.vault.satellites():
        counts[sat] = load_satellite(con, rules, sat, site, params["date"], params["load_ts"])
    return counts

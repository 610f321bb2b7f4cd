"""site (dynamic, named) x date (daily) partitions shared by every per-drop asset, and the one helper
that builds and parses their keys."""

from __future__ import annotations

from datetime import date as Date

import dagster as dg

from medvault.platform.drops.layout import is_valid_site

SITE_PARTITIONS = dg.DynamicPartitionsDefinition(name="site")
WAREHOUSE_POOL = "warehouse"
OWNERS = ["team:data-platform"]


def site_date_partitions(start_date: Date) -> dg.MultiPartitionsDefinition:
    """site x date, the dates from MEDVAULT_START_DATE to tomorrow (a site's clock may run ahead)."""
    dates = dg.DailyPartitionsDefinition(start_date=start_date.isoformat(), end_offset=1)
    return dg.MultiPartitionsDefinition({"site": SITE_PARTITIONS, "date": dates})


def partition_key(site: str, date: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"site": site, "date": date})


def parse_partition_key(key: str | dg.MultiPartitionKey) -> tuple[str, str]:
    """(site, date) of a key, given as a MultiPartitionKey or its text form "<date>|<site>" (Dagster sorts
    dimension names, so the date comes first)."""
    if isinstance(key, dg.MultiPartitionKey):
        dims = key.keys_by_dimension
        return dims["site"], dims["date"]
    date, site = str(key).split("|")
    return site, date


def site_date(context: dg.OpExecutionContext | dg.AssetExecutionContext) -> tuple[str, str]:
    """(site, date) of the running partition."""
    key = context.partition_key
    if not isinstance(key, dg.MultiPartitionKey):
        raise dg.Failure("medvault assets run per (site, date) partition")
    site, date = parse_partition_key(key)
    if not is_valid_site(site):
        raise dg.Failure(f"site partition {site!r} is not a valid site code (lower_snake_case)")
    return site, date

"""site (dynamic, named) x date (daily) partitions shared by every per-drop asset."""

import dagster as dg

from medvault.platform.config import env
from medvault.platform.drops.layout import is_valid_site

SITE_PARTITIONS = dg.DynamicPartitionsDefinition(name="site")
DATE_PARTITIONS = dg.DailyPartitionsDefinition(start_date=env("MEDVAULT_START_DATE"), end_offset=1)
SITE_DATE = dg.MultiPartitionsDefinition({"site": SITE_PARTITIONS, "date": DATE_PARTITIONS})

WAREHOUSE_POOL = "warehouse"
OWNERS = ["team:data-platform"]


def site_date(context: dg.AssetExecutionContext) -> tuple[str, str]:
    """(site, date) of the running partition."""
    key = context.partition_key
    if not isinstance(key, dg.MultiPartitionKey):
        raise dg.Failure("medvault assets run per (site, date) partition")
    dims = key.keys_by_dimension
    if not is_valid_site(dims["site"]):
        raise dg.Failure(f"site partition {dims['site']!r} is not a valid site code (lower_snake_case)")
    return dims["site"], dims["date"]


def partition_key(site: str, date: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"site": site, "date": date})

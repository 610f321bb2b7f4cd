"""Staging: typed, validated rows per source table, one slice per (site, date), and their checks."""

from medvault.platform.staging.tables import (
    META_COLUMNS,
    ensure_staging_tables,
    staging_name,
    staging_table,
    union_columns,
)

__all__ = ["META_COLUMNS", "ensure_staging_tables", "staging_name", "staging_table", "union_columns"]

"""The warehouse: one DuckDB file with a schema per zone, and the only place that opens transactions.

Everything else in the engine talks to the warehouse through this package (connections, transactions,
quoting, table helpers), so a second backend can land later behind the same seam.
"""

from medvault.platform.warehouse.db import Warehouse, WarehouseLocked, transaction
from medvault.platform.warehouse.sql import json_path, quote_ident, quote_literal
from medvault.platform.warehouse.tables import (
    column_names,
    ensure_table,
    row_count,
    table_exists,
    tables_with_column,
)

__all__ = [
    "Warehouse",
    "WarehouseLocked",
    "column_names",
    "ensure_table",
    "json_path",
    "quote_ident",
    "quote_literal",
    "row_count",
    "table_exists",
    "tables_with_column",
    "transaction",
]

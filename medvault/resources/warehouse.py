"""The one warehouse writer as a Dagster resource (every writing asset also sits in the `warehouse` pool)."""

from __future__ import annotations

import dagster as dg

from medvault.platform.warehouse.db import Warehouse


class WarehouseResource(dg.ConfigurableResource):
    """DuckDB warehouse file; production points MEDVAULT_WAREHOUSE elsewhere."""

    path: str

    def warehouse(self) -> Warehouse:
        return Warehouse(self.path)

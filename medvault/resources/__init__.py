"""Thin Dagster resources over the engine: the warehouse writer, the zones and rules, the drop stores."""

from medvault.resources.drop_stores import DropStoresResource
from medvault.resources.platform import PlatformResource
from medvault.resources.warehouse import WarehouseResource

__all__ = ["DropStoresResource", "PlatformResource", "WarehouseResource"]

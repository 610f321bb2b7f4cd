"""The one Dagster resource: the engine (settings, rules, stores, warehouse), under the key `medvault`."""

from medvault.resources.platform import RESOURCE_KEY, MedvaultResource, build_engine

__all__ = ["RESOURCE_KEY", "MedvaultResource", "build_engine"]

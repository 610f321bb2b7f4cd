"""The engine as a Dagster resource: settings resolved once from the environment, rules loaded once.

Why a plain object and not a ConfigurableResource: every value already comes from the environment
(`Settings`), secrets included, so nothing is copied into run configuration or run snapshots. S3
clients are made with dagster-aws's `S3Resource`, the same client the engine would build itself.
"""

from __future__ import annotations

import dagster as dg
from dagster_aws.s3 import S3Resource

from medvault.platform.config import Settings
from medvault.platform.rules import Rules
from medvault.platform.steps.context import Engine
from medvault.platform.stores.open import StoreFactory

RESOURCE_KEY = "medvault"


def build_engine(settings: Settings, rules: Rules | None = None) -> Engine:
    def s3_client():
        s3 = S3Resource(endpoint_url=settings.s3.endpoint_url or None, region_name=settings.s3.region or None)
        return s3.get_client()

    return Engine(settings, rules, StoreFactory(settings, s3_client=s3_client))


MedvaultResource = dg.ResourceParam[Engine]

"""The medvault code location: assets by layer, the ingest and marts jobs, sensors, resources.

Everything is built from the rules folder and environment variables at load time, so a new source
system (YAML) shows up as new staging assets without code changes.
"""

from __future__ import annotations

import os

import dagster as dg

from medvault.assets.checks import sites_fresh
from medvault.assets.dicom import dicom_instances
from medvault.assets.marts import exams_per_month
from medvault.assets.raw import raw_drops
from medvault.assets.staging import build_staging_assets
from medvault.assets.strays import raw_strays
from medvault.assets.vault import build_vault_assets
from medvault.jobs import freshness_job, ingest_job, marts_job, strays_job
from medvault.platform.config import Settings, env
from medvault.platform.rules import load_rules
from medvault.resources import DropStoresResource, PlatformResource, WarehouseResource
from medvault.schedules import freshness_schedule, nightly_marts_schedule
from medvault.sensors.drop_sensors import build_drop_sensor
from medvault.sensors.marts_refresh import marts_refresh_sensor


def _optional_secret(name: str):
    """An EnvVar when the variable is set (so the value never lands in config), else empty."""
    return dg.EnvVar(name) if os.environ.get(name) else ""


def build_resources(settings: Settings) -> dict:
    return {
        "warehouse": WarehouseResource(path=str(settings.warehouse)),
        "platform": PlatformResource(
            rules_dir=str(settings.rules),
            lake_dir=str(settings.lake),
            quarantine_dir=str(settings.quarantine),
        ),
        "drop_stores": DropStoresResource(
            enabled=",".join(settings.stores),
            local_root=str(settings.drops),
            s3_bucket=env("MEDVAULT_S3_BUCKET"),
            s3_prefix=env("MEDVAULT_S3_PREFIX"),
            s3_endpoint_url=env("MEDVAULT_S3_ENDPOINT_URL"),
            s3_region=env("MEDVAULT_S3_REGION"),
            sftp_host=env("MEDVAULT_SFTP_HOST"),
            sftp_port=int(env("MEDVAULT_SFTP_PORT")),
            sftp_user=env("MEDVAULT_SFTP_USER"),
            sftp_key_file=env("MEDVAULT_SFTP_KEY_FILE"),
            sftp_key_passphrase=_optional_secret("MEDVAULT_SFTP_KEY_PASSPHRASE"),
            sftp_known_hosts=env("MEDVAULT_SFTP_KNOWN_HOSTS"),
            sftp_root=env("MEDVAULT_SFTP_ROOT"),
        ),
    }


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    rules = load_rules(settings.rules)
    partitioned = [raw_drops, *build_staging_assets(rules), dicom_instances, *build_vault_assets(rules)]
    interval = int(env("MEDVAULT_SENSOR_INTERVAL"))
    sensors = [build_drop_sensor(name, settings.lookback_days, interval) for name in settings.stores]
    return dg.Definitions(
        assets=[*partitioned, raw_strays, exams_per_month],
        asset_checks=[sites_fresh],
        jobs=[ingest_job, marts_job, strays_job, freshness_job],
        sensors=[*sensors, marts_refresh_sensor],
        schedules=[nightly_marts_schedule, freshness_schedule],
        resources=build_resources(settings),
    )


defs = build_definitions()

"""The medvault code location: assets by domain, the jobs, sensors, schedules and the engine resource.

Everything is built from one `Settings` (the environment, read once) and the rules folder at load time,
so a new source system (YAML) shows up as new staging assets without code changes.
"""

from __future__ import annotations

import dagster as dg

from medvault.assets.backfill import build_backfill_job
from medvault.assets.bridge import build_bridge_asset
from medvault.assets.ingest import build_raw_drops, raw_strays
from medvault.assets.load import build_load_asset
from medvault.assets.marts import build_marts_asset
from medvault.assets.ops import sites_fresh
from medvault.assets.partitions import site_date_partitions
from medvault.assets.pit import build_pit_asset
from medvault.assets.publish import build_publish_asset
from medvault.assets.reference import build_reference_asset
from medvault.jobs import dicom_reprocess_job, freshness_job, ingest_job, marts_job, strays_job
from medvault.platform.config import Settings, keep_files_private
from medvault.pool_wait import sleep_between_claim_checks
from medvault.resources import RESOURCE_KEY, build_engine
from medvault.resources.mail import SMTP_KEY, build_smtp
from medvault.schedules.marts import nightly_marts_schedule
from medvault.schedules.notify import build_digest_schedule, user_digest_job
from medvault.schedules.ops import freshness_schedule
from medvault.sensors.ingest import build_drop_sensor
from medvault.sensors.marts import marts_refresh_sensor
from medvault.sensors.notify import admin_run_failure_email
from medvault.sensors.ops import dead_runs_sensor


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    keep_files_private()
    sleep_between_claim_checks()  # a step waiting for the warehouse pool must not spin a core
    settings = settings or Settings.from_env()
    engine = build_engine(settings)
    partitions = site_date_partitions(settings.start_date)
    load = build_load_asset(engine.rules, engine.vault, partitions)
    partitioned = [build_raw_drops(partitions), load]
    backfill_job = build_backfill_job(load)
    sensors = [
        build_drop_sensor(name, settings.sensor_interval, settings.rerun_delay_seconds, backfill_job)
        for name in settings.stores
    ]
    return dg.Definitions(
        assets=[
            *partitioned,
            raw_strays,
            *filter(
                None,
                [
                    build_pit_asset(engine.vault),
                    build_bridge_asset(engine.vault),
                    build_reference_asset(engine.rules),
                    build_marts_asset(engine.rules, engine.vault),
                    build_publish_asset(engine.rules),
                ],
            ),
        ],
        asset_checks=[sites_fresh],
        jobs=[
            ingest_job,
            backfill_job,
            marts_job,
            strays_job,
            freshness_job,
            dicom_reprocess_job,
            user_digest_job,
        ],
        sensors=[*sensors, marts_refresh_sensor, dead_runs_sensor, admin_run_failure_email],
        schedules=[nightly_marts_schedule, freshness_schedule, build_digest_schedule(settings.digest_cron)],
        resources={RESOURCE_KEY: engine, SMTP_KEY: build_smtp(settings)},
    )


defs = build_definitions()

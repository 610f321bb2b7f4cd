"""One sensor per enabled drop store: scan incrementally, add new sites, request one run per (site, date)
(a backlog of one site's dates: one batch run)."""

import time
from datetime import UTC, datetime

import dagster as dg

from medvault.assets.ingest import ingest_run_config, strays_run_config
from medvault.assets.partitions import SITE_PARTITIONS, partition_key
from medvault.jobs import INGEST_JOB, STRAYS_JOB, ingest_job, strays_job
from medvault.platform.drops.layout import is_valid_site, partition_range
from medvault.platform.drops.ready import ScanResult, run_key
from medvault.platform.drops.scan import scan
from medvault.platform.steps.context import Engine
from medvault.sensors.batching import batch_requests, partition_done
from medvault.sensors.follow_up import follow_up, join_cursor, remember, split_cursor


def evaluate_drop_scan(
    store_name: str,
    engine: Engine,
    cursor: str | None,
    known_sites: set[str],
    log=None,
) -> tuple[dg.SensorResult, ScanResult]:
    """The sensor body, callable from `medvault run` too: same cursor, same run keys."""
    today = datetime.now(UTC).date()
    with engine.stores.drops(store_name) as store:
        result = scan(
            store,
            cursor,
            lookback_days=engine.settings.lookback_days,
            dates=partition_range(engine.settings.start_date, today),
        )
    seen = {s for s in result.new_sites if is_valid_site(s)} | {
        site for site, _ in result.ready if is_valid_site(site)
    }
    new_sites = sorted(seen - known_sites)
    run_requests = [
        dg.RunRequest(
            job_name=INGEST_JOB,
            run_key=run_key(site, date, files),
            partition_key=partition_key(site, date),
            # only files complete without a marker need their version passed: the run sees markers itself
            run_config=ingest_run_config(store_name, {f.key: f.version for f in files if not f.marked}),
            tags={"medvault/store": store_name, "medvault/files": str(len(files))},
        )
        for (site, date), files in sorted(result.ready.items())
        if is_valid_site(site)
    ]
    if result.strays:
        run_requests.append(strays_request(store_name, result.strays))
    if log is not None:
        for _key, code, message in result.strays:
            log.warning(f"{store_name}: {code}: {message}")
        if result.pending:
            log.info(f"{store_name}: {len(result.pending)} file(s) not yet stable, waiting for the next tick")
        for folder in result.future:
            log.warning(f"{store_name}: {folder}/ is dated after tomorrow; it waits until it is a partition")
        for site, error in result.errors.items():
            log.error(f"{store_name}: listing {site}/ failed ({error}); the other sites were scanned")
    sensor_result = dg.SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=[SITE_PARTITIONS.build_add_request(new_sites)] if new_sites else [],
        cursor=result.cursor,
    )
    return sensor_result, result


def strays_request(store_name: str, strays: list[tuple[str, str, str]]) -> dg.RunRequest:
    """One strays_job run for the stray files this tick found. No run key: the scan reports each stray
    version once, and the job itself skips content it already quarantined."""
    return dg.RunRequest(
        job_name=STRAYS_JOB,
        run_config=strays_run_config(store_name, strays),
        tags={"medvault/store": store_name, "medvault/files": str(len(strays))},
    )


def build_drop_sensor(
    store_name: str, interval_seconds: int, rerun_delay: float, batch_job: dg.JobDefinition
) -> dg.SensorDefinition:
    """The drop sensor of one store; `batch_job` is the backfill batch job, which runs a backlog of one
    site's dates (sensors/batching.py)."""

    @dg.sensor(
        name=f"{store_name}_drop_sensor",
        jobs=[ingest_job, strays_job, batch_job],
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            f"Watches the {store_name} drop store for `<site>/<YYYY-MM-DD>/<file>` drops; picks up stable files only "
            "and asks for one ingest run per (site, date) with a run key encoding the files' content versions; "
            "several dates of one site found in one tick go to one `backfill_batch_job` run "
            "(at most `MEDVAULT_BACKFILL_PER_RUN`)."
        ),
    )
    def _sensor(context: dg.SensorEvaluationContext, medvault: dg.ResourceParam[Engine]) -> dg.SensorResult:
        known = set(context.instance.get_dynamic_partitions(SITE_PARTITIONS.name))
        scan_cursor, open_runs = split_cursor(context.cursor)
        retries = follow_up(context.instance, open_runs, context.log, delay=rerun_delay)
        result, _ = evaluate_drop_scan(store_name, medvault, scan_cursor, known, context.log)
        requests = batch_requests(
            result.run_requests,
            medvault.settings.backfill_per_run,
            done=lambda r: partition_done(context.instance, r),
        )
        remember(open_runs, requests, time.time())
        return dg.SensorResult(
            run_requests=[*requests, *retries],
            dynamic_partitions_requests=result.dynamic_partitions_requests,
            cursor=join_cursor(result.cursor, open_runs),
        )

    return _sensor

"""Headless runs: one sensor evaluation per enabled store plus the runs it asks for, in a real instance.

`medvault run` is what cron or a script calls. Runs go through DAGSTER_HOME, so they show in the UI
afterwards with the same run keys and tags the sensors would have used (the daemon's sensor then
skips them). The headless cursor is kept in the instance's key-value store, apart from the daemon's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import dagster as dg

from medvault.assets.backfill import (
    BACKFILL_JOB,
    FAILED_KEYS,
    PARTITIONS_TAG,
    backfill_run_config,
    batch_partitions,
)
from medvault.assets.ingest import announced, ingest_run_config
from medvault.assets.partitions import SITE_PARTITIONS, partition_key
from medvault.jobs import INGEST_JOB, MARTS_JOB, STRAYS_JOB
from medvault.platform import stopping
from medvault.platform.config import Settings, SettingsError
from medvault.platform.drops.batches import batches
from medvault.platform.drops.layout import is_valid_date, is_valid_site, partition_range
from medvault.platform.redact import safe_error
from medvault.pool_wait import stoppable_pool_wait
from medvault.recovery import process_tags, recover
from medvault.resources import RESOURCE_KEY
from medvault.sensors.batching import batch_requests, partition_done
from medvault.sensors.ingest import evaluate_drop_scan

CURSOR_KEY = "medvault/headless_cursor/{store}"
# Console output of headless runs: warnings and errors only (the full event log is in the instance/UI).
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass
class RunReport:
    requested: int = 0
    skipped: int = 0
    succeeded: int = 0
    failed: list[str] = field(default_factory=list)
    new_sites: list[str] = field(default_factory=list)
    strays_runs: int = 0
    marts_refreshed: bool = False
    # checks that warned: "<check> on <asset> (<partition>)"
    warnings: list[str] = field(default_factory=list)
    # runs of dead processes failed, and their pool slots freed, before this one started
    recovered: list[str] = field(default_factory=list)
    interrupted: bool = False  # an operator's stop: no further run was started

    @property
    def problems(self) -> str:
        """One line for the console: how many checks warned, and the first few."""
        if not self.warnings:
            return ""
        shown = "; ".join(self.warnings[:3]) + (" ..." if len(self.warnings) > 3 else "")
        return f"{len(self.warnings)} check(s) warned: {shown}"

    def record_batch(self, outcome, keys: list[str]) -> None:
        """Count one finished backfill batch run: its failed partitions (all of them when the run
        failed before naming any), and the checks that did not pass, per partition."""
        failed = keys
        if outcome.success:
            failed = []
        else:
            for event in outcome.all_events:
                data = getattr(event.event_specific_data, "user_failure_data", None)
                if event.is_step_failure and data is not None and FAILED_KEYS in data.metadata:
                    failed = list(data.metadata[FAILED_KEYS].value)
        self.succeeded += len(keys) - len(failed)
        self.failed += failed
        self._warned(outcome)

    def record(self, outcome, partition: str) -> None:
        """Count one finished ingest run: success or failure, and the checks that did not pass."""
        if outcome.success:
            self.succeeded += 1
        else:
            self.failed.append(partition)
        self._warned(outcome, partition)

    def _warned(self, outcome, partition: str | None = None) -> None:
        for evaluation in outcome.get_asset_check_evaluations():
            if not evaluation.passed:
                where = evaluation.partition or partition
                self.warnings.append(
                    f"{evaluation.check_name} on {evaluation.asset_key.to_user_string()} ({where})"
                )


def _launch_tags(request: dg.RunRequest, store: str) -> dict[str, str]:
    """Tags of a run this process executes for a drop sensor's request: the run key under the sensor's
    name, so the daemon's sensor never asks for it again."""
    return {
        **request.tags,
        "dagster/run_key": request.run_key,
        "dagster/sensor_name": f"{store}_drop_sensor",
        "medvault/launched_by": "medvault run",
        **process_tags(),
    }


def _scan(defs: dg.Definitions, instance: dg.DagsterInstance, store: str, cursor: str | None):
    known = set(instance.get_dynamic_partitions(SITE_PARTITIONS.name))
    return evaluate_drop_scan(store, defs.resources[RESOURCE_KEY], cursor, known)


def run_pending(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    settings: Settings,
    settle_seconds: float = 2.0,
    full: bool = False,
    log=print,
) -> RunReport:
    """Scan every enabled store, apply new sites, execute the requested runs, then refresh the marts."""
    settings.require_stores()
    report = RunReport(recovered=recover(instance))
    job = defs.resolve_job_def(INGEST_JOB)
    for store in settings.stores:
        key = CURSOR_KEY.format(store=store)
        cursor = None if full else instance.run_storage.get_cursor_values({key}).get(key)
        try:  # one unreachable store never stops the others: it is reported and scanned again next time
            result, scanned = _scan(defs, instance, store, cursor)
            if settle_seconds and scanned.pending:
                time.sleep(
                    settle_seconds
                )  # a file without a marker is stable once size+mtime hold across two looks
                more, scanned = _scan(defs, instance, store, result.cursor)
            else:
                more = None
        except SettingsError:
            raise  # a configuration mistake is the user's to fix, not an outage to ride out
        except Exception as exc:  # noqa: BLE001 - reported per store
            report.failed.append(f"{store} scan ({safe_error(exc)})")
            continue
        if more is not None:
            result = dg.SensorResult(
                run_requests=_merge(result.run_requests, more.run_requests),
                dynamic_partitions_requests=[
                    *result.dynamic_partitions_requests,
                    *more.dynamic_partitions_requests,
                ],
                cursor=more.cursor,
            )
        for request in result.dynamic_partitions_requests:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
            report.new_sites.extend(request.partition_keys)
        all_ok = True
        pending = []
        # loaded already, or being loaded (by the daemon, another `medvault run`, inside a batch): skipped;
        # the batches are made of the others only, so no request below needs the check again
        for request in result.run_requests:
            if request.job_name == INGEST_JOB and partition_done(instance, request):
                report.requested += 1
                report.skipped += 1
            else:
                pending.append(request)
        for request in batch_requests(pending, settings.backfill_per_run):
            if request.job_name == BACKFILL_JOB:
                ok = _run_batch(defs, instance, settings, report, request, store, log)
                all_ok = all_ok and ok
                if report.interrupted:
                    return report
                continue
            if request.job_name == STRAYS_JOB:
                outcome = defs.resolve_job_def(STRAYS_JOB).execute_in_process(
                    run_config={**request.run_config, **QUIET},
                    instance=instance,
                    raise_on_error=False,
                    tags={**request.tags, **process_tags(), "medvault/launched_by": "medvault run"},
                )
                report.strays_runs += 1
                if not outcome.success:
                    all_ok = False
                    report.failed.append(f"strays_job ({store})")
                continue
            report.requested += 1
            log(
                f"  run {request.partition_key} ({request.tags.get('medvault/files')} new files from {store})"
            )
            with stoppable_pool_wait(instance, settings.pool_wait_seconds):
                outcome = job.execute_in_process(
                    partition_key=request.partition_key,
                    instance=instance,
                    tags=_launch_tags(request, store),
                    raise_on_error=False,
                    run_config={**request.run_config, **QUIET},
                )
            report.record(outcome, str(request.partition_key))
            all_ok = all_ok and outcome.success
            if stopping.requested() or _interrupted(outcome):
                report.interrupted = True
                return report
        if all_ok:
            instance.run_storage.set_cursor_values({key: result.cursor})
    if report.succeeded or full:
        _refresh_marts(defs, instance, report, "medvault run")
    return report


def _run_batch(
    defs, instance, settings: Settings, report: RunReport, request: dg.RunRequest, store: str, log
) -> bool:
    """Execute a drop sensor's batch request (several dates of one site) in this process, as the
    daemon would launch it; True when it succeeded."""
    keys = batch_partitions(request.run_config)
    report.requested += len(keys)
    log(
        f"  run {keys[0]}..{keys[-1]} ({len(keys)} partitions, {request.tags.get('medvault/files')} new files from {store})"
    )
    with stoppable_pool_wait(instance, settings.pool_wait_seconds):
        outcome = defs.resolve_job_def(BACKFILL_JOB).execute_in_process(
            instance=instance,
            tags=_launch_tags(request, store),
            raise_on_error=False,
            run_config={**request.run_config, **QUIET},
        )
    report.record_batch(outcome, keys)
    if stopping.requested() or _interrupted(outcome):
        report.interrupted = True
    return outcome.success


INTERRUPTS = ("DagsterExecutionInterruptedError", "InterruptException", "KeyboardInterrupt")


def _interrupted(outcome) -> bool:
    """Did this run end because the operator stopped it (Ctrl-C, SIGTERM)?"""
    for event in outcome.all_events:
        error = getattr(event.event_specific_data, "error", None)
        if (
            event.is_failure
            and error is not None
            and (error.cls_name in INTERRUPTS or "interrupted" in error.message)
        ):
            stopping.request()
            return True
    return False


def _refresh_marts(
    defs: dg.Definitions, instance: dg.DagsterInstance, report: RunReport, launched_by: str
) -> None:
    outcome = defs.resolve_job_def(MARTS_JOB).execute_in_process(
        instance=instance,
        tags={"medvault/launched_by": launched_by, **process_tags()},
        raise_on_error=False,
        run_config=QUIET,
    )
    report.marts_refreshed = outcome.success
    if not outcome.success:
        report.failed.append("marts_job")


def run_partitions(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    settings: Settings,
    partitions: list[tuple[str, str]],
    settle_seconds: float | None = None,
    launched_by: str = "medvault backfill",
    per_run: int | None = None,
    log=print,
) -> RunReport:
    """The partitions in batch runs of `backfill_batch_job` (one site's dates, at most `per_run` per run,
    default MEDVAULT_BACKFILL_PER_RUN),
    executed in this process (definitions loaded once), then one mart refresh. Every enabled store is
    read; files without a marker count once unchanged for `settle_seconds` (default
    MEDVAULT_SETTLE_SECONDS)."""
    report = RunReport(recovered=recover(instance))
    job = defs.resolve_job_def(BACKFILL_JOB)
    sites = sorted({site for site, _ in partitions})
    known = set(instance.get_dynamic_partitions(SITE_PARTITIONS.name))
    if set(sites) - known:
        instance.add_dynamic_partitions(SITE_PARTITIONS.name, sorted(set(sites) - known))
        report.new_sites = sorted(set(sites) - known)
    for batch in batches(partitions, per_run or settings.backfill_per_run):
        keys = [str(partition_key(site, day)) for site, day in batch]
        report.requested += len(keys)
        log(f"  run {batch[0][0]} {batch[0][1]}..{batch[-1][1]} ({len(keys)} partitions)")
        with stoppable_pool_wait(instance, settings.pool_wait_seconds):
            outcome = job.execute_in_process(
                instance=instance,
                tags={
                    "medvault/launched_by": launched_by,
                    PARTITIONS_TAG: f"{keys[0]}..{keys[-1]}",
                    **process_tags(),
                },
                raise_on_error=False,
                run_config={**backfill_run_config(keys, settle_seconds), **QUIET},
            )
        report.record_batch(outcome, keys)
        if stopping.requested() or _interrupted(outcome):
            report.interrupted = True
            return report
    if report.requested:
        _refresh_marts(defs, instance, report, launched_by)
    return report


def backfill(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    settings: Settings,
    sites: list[str] | None,
    first: date,
    last: date,
    settle_seconds: float | None = None,
    per_run: int | None = None,
    log=print,
) -> RunReport:
    """Every (site, date) between `first` and `last` that has a drop folder on an enabled store (all
    sites with `sites=None`), clipped to the partition range."""
    settings.require_stores()
    engine = defs.resources[RESOURCE_KEY]
    low, high = partition_range(settings.start_date, datetime.now(UTC).date())
    lo, hi = max(first.isoformat(), low), min(last.isoformat(), high)
    found: set[tuple[str, str]] = set()
    for name in settings.stores:
        with engine.stores.drops(name) as store:
            for site in sites or [s for s in store.list_prefixes("") if is_valid_site(s)]:
                found.update(
                    (site, d) for d in store.list_prefixes(site) if is_valid_date(d) and lo <= d <= hi
                )
    return run_partitions(defs, instance, settings, sorted(found), settle_seconds, per_run=per_run, log=log)


def _merge(first: list[dg.RunRequest], second: list[dg.RunRequest]) -> list[dg.RunRequest]:
    """Run requests of two looks, one per partition (the later look covers the files of both)."""
    others = [r for r in [*first, *second] if r.partition_key is None]
    by_partition = {str(r.partition_key): r for r in first if r.partition_key is not None}
    for request in (r for r in second if r.partition_key is not None):
        earlier = by_partition.get(str(request.partition_key))
        if earlier is not None:
            store, files = announced(earlier.run_config)
            files = {**files, **announced(request.run_config)[1]}
            request = request.with_replaced_attrs(
                run_key=f"{earlier.run_key}+{request.run_key}",
                run_config=ingest_run_config(store, files),
                tags={**request.tags, "medvault/files": str(len(files))},
            )
        by_partition[str(request.partition_key)] = request
    return [*by_partition.values(), *others]

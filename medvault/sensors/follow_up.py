"""Nothing handed out is dropped: the drop sensor follows its ingest (and batch) runs until each one succeeds.

A sensor hands a file version out once (its cursor moves on), and Dagster never re-runs a run key. So
the sensor remembers every ingest run it asked for; when one ends failed or canceled (after the
instance's own run retries), it asks again after MEDVAULT_RERUN_DELAY_SECONDS with a new run key,
up to MAX_ATTEMPTS times, and forgets a run once it succeeded. A batch run that named the partitions it
failed on is asked again for those partitions only: the others were loaded.
"""

import json
import time

import dagster as dg

from medvault.assets.backfill import (
    BACKFILL_JOB,
    BACKFILL_OP,
    FAILED_KEYS,
    PARTITIONS_TAG,
    backfill_run_config,
)
from medvault.assets.partitions import parse_partition_key, partition_key
from medvault.jobs import INGEST_JOB
from medvault.sensors.batching import partition_tag

MAX_ATTEMPTS = 10
FAILED = (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)


def split_cursor(cursor: str | None) -> tuple[str | None, dict]:
    """(the drop scan's cursor, the runs still followed) from the sensor's stored cursor."""
    if not cursor:
        return None, {}
    data = json.loads(cursor)
    if isinstance(data, dict) and "scan" in data:
        return data["scan"], data.get("open", {})
    return cursor, {}  # a bare scan cursor


def join_cursor(scan_cursor: str, open_runs: dict) -> str:
    return json.dumps({"scan": scan_cursor, "open": open_runs}, separators=(",", ":"), sort_keys=True)


def remember(open_runs: dict, requests: list[dg.RunRequest], now: float) -> None:
    """Follow the ingest runs and batch runs (a backlog of one site's dates) among `requests`."""
    for request in requests:
        if request.job_name in (INGEST_JOB, BACKFILL_JOB) and request.run_key:
            batch = request.job_name == BACKFILL_JOB
            open_runs[request.run_key] = {
                "key": request.run_key,
                "job": request.job_name,
                # what the log names: the partition, or a batch's first..last partitions
                "partition": request.tags[PARTITIONS_TAG] if batch else str(request.partition_key),
                "run_config": request.run_config,
                "tags": dict(request.tags),
                "at": now,
                "attempt": 0,
            }


def follow_up(
    instance: dg.DagsterInstance, open_runs: dict, log=None, now: float | None = None, delay: float = 600.0
) -> list[dg.RunRequest]:
    """New requests for followed runs that failed (`delay` seconds after they ended); drops succeeded
    ones from `open_runs` (in place)."""
    now = time.time() if now is None else now
    again: list[dg.RunRequest] = []
    for base, entry in list(open_runs.items()):
        records = instance.get_run_records(
            filters=dg.RunsFilter(tags={"dagster/run_key": entry["key"]}), limit=1
        )
        if not records:
            continue  # not launched yet
        record = records[0]
        status = record.dagster_run.status
        if status == dg.DagsterRunStatus.SUCCESS:
            del open_runs[base]
            continue
        if status not in FAILED:
            continue  # queued or running
        ended = record.end_time or record.update_timestamp.timestamp()
        if now - ended < delay:
            continue
        if entry["attempt"] + 1 > MAX_ATTEMPTS:
            if log is not None:
                log.error(
                    f"giving up on {entry['partition']} after {MAX_ATTEMPTS} failed attempts; rerun it by hand"
                )
            del open_runs[base]
            continue
        entry["attempt"] += 1
        entry["key"] = f"{base}#retry{entry['attempt']}"
        entry["at"] = now
        if log is not None:
            log.warning(f"run for {entry['partition']} failed; asking again (attempt {entry['attempt']})")
        job = entry.get("job", INGEST_JOB)  # cursors written before batch runs name no job
        if job == BACKFILL_JOB:  # ask again for the partitions that failed, not the whole batch
            narrow_batch(entry, failed_partitions(instance, record.dagster_run.run_id))
        again.append(
            dg.RunRequest(
                job_name=job,
                run_key=entry["key"],
                partition_key=(
                    partition_key(*parse_partition_key(entry["partition"])) if job == INGEST_JOB else None
                ),
                run_config=entry["run_config"],
                tags={**entry["tags"], "medvault/attempt": str(entry["attempt"])},
            )
        )
    return again


def failed_partitions(instance: dg.DagsterInstance, run_id: str) -> list[str] | None:
    """The partition keys a batch run named as failed (its failure's metadata); None when it failed
    before naming any (a crash, a stop): then every partition is asked for again."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records
    for record in records:
        data = record.event_log_entry.dagster_event.step_failure_data.user_failure_data
        if data is not None and FAILED_KEYS in data.metadata:
            return list(data.metadata[FAILED_KEYS].value)
    return None


def narrow_batch(entry: dict, failed: list[str] | None) -> None:
    """Keep only `failed` of a followed batch (its config, files and tags), in place."""
    config = entry["run_config"]["ops"][BACKFILL_OP]["config"]
    failed_set = set(failed or ())
    keep = [k for k in config["partitions"] if k in failed_set]
    if not keep or len(keep) == len(config["partitions"]):
        return
    files = {k: v for k, v in config.get("files", {}).items() if k in failed_set}
    entry["run_config"] = backfill_run_config(
        keep, config.get("settle_seconds"), config.get("store", ""), files
    )
    dropped = {partition_tag(*parse_partition_key(k)) for k in config["partitions"] if k not in failed_set}
    entry["tags"] = {
        **{t: v for t, v in entry["tags"].items() if t not in dropped},
        PARTITIONS_TAG: f"{keep[0]}..{keep[-1]}",
    }
    entry["partition"] = entry["tags"][PARTITIONS_TAG]

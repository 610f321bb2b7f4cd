"""Runs left behind by a dead process: found, marked failed, and their warehouse pool slots freed.

A run killed with SIGKILL (the OOM killer, a power cut, a container stop) stays STARTED in the instance
and keeps its `warehouse` pool slot, so every later run waits for it forever; marking the run failed
does not free the slot, only `free_concurrency_slots_for_run` does. Every medvault run records the pid
and host of the process executing it (tags `medvault/pid`, `medvault/host`); a run whose process is gone
from this host is dead. `medvault run` and `medvault backfill` recover before they start, and the
`dead_runs_sensor` does it every minute under the daemon.
"""

from __future__ import annotations

import os
import socket

import dagster as dg

PID_TAG, HOST_TAG = "medvault/pid", "medvault/host"
IN_PROGRESS = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
FINISHED = (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)


def process_tags() -> dict[str, str]:
    """Tags naming the process that executes a run (set by medvault on every run it executes)."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def dead(run: dg.DagsterRun) -> bool:
    """Is this in-progress run's process gone? (Only runs that ran on this host can be told.)"""
    pid, host = run.tags.get(PID_TAG), run.tags.get(HOST_TAG)
    if not pid or host != socket.gethostname():
        return False
    return int(pid) != os.getpid() and not _alive(int(pid))


def recover(instance: dg.DagsterInstance, pools: tuple[str, ...] = ("warehouse",)) -> list[str]:
    """Fail runs whose process died and free every pool slot held by a run that is no longer running;
    returns the run ids recovered."""
    recovered = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=IN_PROGRESS)):
        run = record.dagster_run
        if dead(run):
            instance.report_run_failed(
                run, message=f"its process {run.tags[PID_TAG]} is gone (killed); medvault recovered it"
            )
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            recovered.append(run.run_id)
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        for pool in pools:
            for slot in storage.get_concurrency_info(pool).claimed_slots:
                run = instance.get_run_by_id(slot.run_id)
                if run is None or run.status in FINISHED:
                    storage.free_concurrency_slots_for_run(slot.run_id)
                    recovered.append(slot.run_id)
    return sorted(set(recovered))

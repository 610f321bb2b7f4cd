"""Seconds per partition run: `medvault run`, a run launched by a real dagster-daemon, a range backfill,
and how the cost of day N grows with the history.

Each part uses its own MEDVAULT_HOME and DAGSTER_HOME under a temp dir, with the demo's generator:

1. `medvault run` (the headless runner, runs executed in this process) over 3 sites x DAYS days;
2. the same drops picked up by the `local_drop_sensor` of a real `dagster-daemon run` (the default run
   launcher: one process per run, as in production): the mean of the runs' start-to-end durations, and
   wall time from the first launch to the last end. Parts 1 and 2 run with MEDVAULT_BACKFILL_PER_RUN=1,
   one run per partition (a day's drop of each site); then the same backlog through the daemon with the
   sensor batching each site's dates (MEDVAULT_BACKFILL_PER_RUN=10), wall per partition against part 2;
3. `medvault backfill --all-sites` over SITES x HISTORY days (one process, definitions loaded once,
   `backfill_batch_job` runs of up to MEDVAULT_BACKFILL_PER_RUN dates of one site), the total time
   against the 5-minute aim for 3 x 30 days; day HISTORY / day 1 (the last three partitions of one site
   against its first three, timed between their raw/drops materializations: does a partition get slower
   as history accumulates?); and a backfill of SITES x DAYS against the way it ran before the batch
   job: one `ingest_job` asset run per partition in one process (what the batch saves per partition).

The baseline of the ratios is `medvault run` per partition, measured in the same run. Prints figures,
asserts nothing; the last line is one JSON object of the figures.

    .venv/bin/python benchmarks/runs.py [--days 3] [--history 30] [--sites 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import dagster as dg  # noqa: E402

QUIET_ENV = {"DAGSTER_CLI_API_GRPC_LOG_LEVEL": "ERROR"}


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDVAULT_", "DAGSTER_"))}
    return {**env, **QUIET_ENV, "MEDVAULT_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}


def _medvault(args: list[str], home: Path, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "medvault.cli", *args],
        env={**_env(home), **extra},
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )


def _partition_runs(dagster_home: Path) -> list:
    """(created, start, end, status, partitions) of every ingest run (one partition) and batch run (the
    partitions of its config)."""
    out = []
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        for job in ("ingest_job", "backfill_batch_job"):
            for r in instance.get_run_records(filters=dg.RunsFilter(job_name=job)):
                config = (
                    r.dagster_run.run_config.get("ops", {}).get("backfill_partitions", {}).get("config", {})
                )
                n = len(config.get("partitions", [])) if job == "backfill_batch_job" else 1
                out.append(
                    (r.create_timestamp.timestamp(), r.start_time, r.end_time, r.dagster_run.status, n)
                )
    return out


def _per_partition(runs: list, field) -> float:
    """Seconds per partition over successful runs: a batch run's time is shared by its partitions."""
    ok = [r for r in runs if r[3] == dg.DagsterRunStatus.SUCCESS]
    return sum(field(r) for r in ok) / max(sum(r[4] for r in ok), 1)


def bench_run(tmp: Path, sites: int, days: int, per_run: int = 1) -> dict:
    """`medvault run` over the drops; per_run 1 gives one ingest run per partition (what a day's drop of
    each site gets), more batches each site's dates."""
    home = tmp / f"run_{per_run}"
    _medvault(["generate", "--sites", str(sites), "--days", str(days)], home)
    t0 = time.perf_counter()
    _medvault(["run", "--settle", "0"], home, MEDVAULT_BACKFILL_PER_RUN=str(per_run))
    wall = time.perf_counter() - t0
    runs = _partition_runs(home / "dagster")
    partitions = sum(r[4] for r in runs if r[3] == dg.DagsterRunStatus.SUCCESS)
    return {
        "partitions": partitions,
        "wall_s": wall,
        "per_partition_s": _per_partition(runs, lambda r: r[2] - r[1]),
    }


def bench_daemon(tmp: Path, sites: int, days: int, per_run: int = 1, timeout: float = 900) -> dict:
    """The drops picked up by a real daemon's sensor; per_run 1: one run per partition, more: the
    sensor batches each site's dates (the backlog case)."""
    home = tmp / f"daemon_{per_run}"
    _medvault(["generate", "--sites", str(sites), "--days", str(days)], home)
    from medvault.instance import ensure_dagster_home

    ensure_dagster_home(home / "dagster")
    expected = sites * days
    env = {**_env(home), "MEDVAULT_SENSOR_INTERVAL": "5", "MEDVAULT_BACKFILL_PER_RUN": str(per_run)}
    daemon = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", str(REPO / "workspace.yaml")],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = _partition_runs(home / "dagster")
            done = [r for r in runs if r[3] in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE)]
            if sum(r[4] for r in done) >= expected:
                break
            time.sleep(2)
        else:
            raise RuntimeError(
                f"the daemon finished {len(done)} runs, not {expected} partitions, in {timeout:.0f}s"
            )
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
    ok = [r for r in runs if r[3] == dg.DagsterRunStatus.SUCCESS]
    first_launch = min(r[0] for r in ok)
    last_end = max(r[2] for r in ok)
    return {
        "partitions": sum(r[4] for r in ok),
        "runs": len(ok),
        "failed": len(runs) - len(ok),
        "per_partition_s": _per_partition(runs, lambda r: r[2] - r[1]),
        "launch_to_end_per_partition_s": _per_partition(runs, lambda r: r[2] - r[0]),
        "wall_s": last_end - first_launch,
    }


def _partition_spans(dagster_home: Path, site: str) -> list[float]:
    """Seconds each partition of `site` took inside its backfill batch run, in date order: from its
    `raw/drops` materialization to the next partition's (the last one of a run: to the run's end)."""
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        records = instance.fetch_materializations(dg.AssetKey(["raw", "drops"]), limit=10000).records
        ends = {r.dagster_run.run_id: r.end_time for r in instance.get_run_records()}
    starts = sorted(
        (r.timestamp, r.run_id, r.partition_key) for r in records if str(r.partition_key).endswith(f"|{site}")
    )
    spans = []
    for (ts, run_id, key), following in zip(starts, [*starts[1:], None], strict=True):
        end = following[0] if following and following[1] == run_id else ends[run_id]
        spans.append((str(key), end - ts))
    return [span for _, span in sorted(spans)]


def bench_backfill(tmp: Path, sites: int, history: int, per_run: int | None = None, name="backfill") -> dict:
    home = tmp / name
    _medvault(["generate", "--sites", str(sites), "--days", str(history)], home)
    extra = ["--per-run", str(per_run)] if per_run else []
    t0 = time.perf_counter()
    _medvault(
        ["backfill", "--all-sites", "--from", "2026-03-02", "--to", "2026-12-31", "--settle", "0", *extra],
        home,
    )
    wall = time.perf_counter() - t0
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        runs = instance.get_run_records(filters=dg.RunsFilter(job_name="backfill_batch_job"))
        ok = [r for r in runs if r.dagster_run.status == dg.DagsterRunStatus.SUCCESS]
        partitions = len(instance.get_materialized_partitions(dg.AssetKey(["raw", "drops"])))
    spans = _partition_spans(home / "dagster", "aurora_eye")
    first, last = statistics.mean(spans[:3]), statistics.mean(spans[-3:])
    return {
        "partitions": partitions,
        "runs": len(ok),
        "failed_runs": len(runs) - len(ok),
        "wall_s": wall,
        "per_partition_s": wall / max(partitions, 1),
        "day1_s": first,
        "dayN_s": last,
        "growth": last / first,
    }


def one_run_per_partition(home: Path) -> None:
    """The backfill before the batch job, as the baseline: one `ingest_job` run (the asset job the sensors
    launch) per partition with a drop folder, in this process, then one mart refresh."""
    from medvault.assets.ingest import ingest_fetch_config
    from medvault.assets.partitions import SITE_PARTITIONS, partition_key
    from medvault.cli.common import instance_and_defs
    from medvault.platform.config import Settings
    from medvault.runner import QUIET, RunReport, _refresh_marts

    settings = Settings.from_env()
    instance, defs = instance_and_defs(settings)
    found = sorted((s.name, d.name) for s in settings.drops.iterdir() for d in s.iterdir())
    instance.add_dynamic_partitions(SITE_PARTITIONS.name, sorted({s for s, _ in found}))
    job = defs.resolve_job_def("ingest_job")
    for site, day in found:
        outcome = job.execute_in_process(
            partition_key=partition_key(site, day),
            instance=instance,
            raise_on_error=False,
            run_config={**ingest_fetch_config({"settle_seconds": 0}), **QUIET},
        )
        if not outcome.success:
            raise RuntimeError(f"{day}|{site} failed")
    _refresh_marts(defs, instance, RunReport(), "benchmark")


def bench_one_run_per_partition(tmp: Path, sites: int, days: int) -> dict:
    home = tmp / "backfill_asset_runs"
    _medvault(["generate", "--sites", str(sites), "--days", str(days)], home)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, __file__, "--one-run-per-partition"],
        env=_env(home),
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - t0
    return {"partitions": sites * days, "wall_s": wall, "per_partition_s": wall / (sites * days)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sites", type=int, default=3)
    parser.add_argument("--days", type=int, default=3, help="days for the run and daemon parts (default 3)")
    parser.add_argument("--history", type=int, default=30, help="days for the backfill part (default 30)")
    parser.add_argument("--one-run-per-partition", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one_run_per_partition:  # the baseline's child process (MEDVAULT_HOME set by the parent)
        one_run_per_partition(Path(os.environ["MEDVAULT_HOME"]))
        return
    print(
        f"medvault runs benchmark: dagster {dg.__version__}, python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory(prefix="medvault-bench-runs-") as tmp:
        tmp = Path(tmp)
        run = bench_run(tmp, args.sites, args.days)
        print(
            f"\n`medvault run`: {run['partitions']} partitions, {run['per_partition_s']:.2f} s per partition run "
            f"({run['wall_s']:.1f} s wall, process start and mart refresh included)"
        )
        daemon = bench_daemon(tmp, args.sites, args.days)
        print(
            f"daemon-launched: {daemon['partitions']} partitions ({daemon['failed']} failed), "
            f"{daemon['per_partition_s']:.2f} s per run (start to end), "
            f"{daemon['launch_to_end_per_partition_s']:.2f} s from launch to end, {daemon['wall_s']:.1f} s wall"
        )
        backlog = bench_daemon(tmp, args.sites, args.days, per_run=10)
        print(
            f"daemon-launched, the same backlog batched by the sensor: {backlog['partitions']} partitions in "
            f"{backlog['runs']} runs ({backlog['failed']} failed), {backlog['wall_s']:.1f} s wall "
            f"({backlog['wall_s'] / max(backlog['partitions'], 1):.2f} s per partition)"
        )
        back = bench_backfill(tmp, args.sites, args.history)
        print(
            f"backfill {args.sites} sites x {args.history} days: {back['partitions']} partitions in "
            f"{back['runs']} runs ({back['failed_runs']} failed), {back['wall_s']:.1f} s "
            f"({back['per_partition_s']:.2f} s per partition; aim: 300 s for 90)"
        )
        single = bench_one_run_per_partition(tmp, args.sites, args.days)
        batched = bench_backfill(tmp, args.sites, args.days, name="backfill_batched")
        print(
            f"backfill {args.sites} sites x {args.days} days (process start and mart refresh included): one "
            f"ingest_job run per partition {single['per_partition_s']:.2f} s per partition; {batched['runs']} "
            f"batch runs {batched['per_partition_s']:.2f} s per partition "
            f"({batched['per_partition_s'] / single['per_partition_s']:.2f}x)"
        )
        print(
            f"day {args.history} / day 1 of one site: {back['dayN_s']:.2f} s / {back['day1_s']:.2f} s = "
            f"{back['growth']:.2f}x"
        )
    base = run["per_partition_s"]
    wall_run = run["wall_s"] / run["partitions"]
    wall_daemon = daemon["wall_s"] / daemon["partitions"]
    ratio = wall_daemon / wall_run
    print(
        f"\nper partition, wall time: daemon {wall_daemon:.2f} s / medvault run {wall_run:.2f} s = {ratio:.2f}x "
        "(aim: within 1.5x); the daemon's runs overlap, so one run's own duration is longer"
    )
    wall_backlog = backlog["wall_s"] / max(backlog["partitions"], 1)
    print(
        f"a backlog through the daemon, wall per partition: batched {wall_backlog:.2f} s / one run per "
        f"partition {wall_daemon:.2f} s = {wall_backlog / wall_daemon:.2f}x"
    )
    figures = [
        {"name": "medvault_run_wall_per_partition", "value": round(wall_run, 3), "unit": "s", "ratio": 1.0},
        {
            "name": "daemon_backlog_batched_wall_per_partition",
            "value": round(wall_backlog, 3),
            "unit": "s",
            "ratio": round(wall_backlog / wall_daemon, 3),
        },
        {
            "name": "daemon_wall_per_partition",
            "value": round(wall_daemon, 3),
            "unit": "s",
            "ratio": round(ratio, 3),
        },
        {"name": "medvault_run_per_partition", "value": round(base, 3), "unit": "s", "ratio": 1.0},
        {
            "name": "daemon_run_per_partition",
            "value": round(daemon["per_partition_s"], 3),
            "unit": "s",
            "ratio": round(daemon["per_partition_s"] / base, 3),
        },
        {
            "name": "daemon_launch_to_end_per_partition",
            "value": round(daemon["launch_to_end_per_partition_s"], 3),
            "unit": "s",
            "ratio": round(daemon["launch_to_end_per_partition_s"] / base, 3),
        },
        {
            "name": f"backfill_{args.sites}x{args.history}_total",
            "value": round(back["wall_s"], 1),
            "unit": "s",
            "ratio": round(back["per_partition_s"] / base, 3),
        },
        {
            "name": "backfill_batched_over_asset_runs",
            "value": round(batched["per_partition_s"], 3),
            "unit": "s",
            "ratio": round(batched["per_partition_s"] / single["per_partition_s"], 3),
        },
        {
            "name": "day_n_over_day_1",
            "value": round(back["growth"], 3),
            "unit": "x",
            "ratio": round(back["growth"], 3),
        },
    ]
    print(json.dumps({"benchmark": "runs", "figures": figures}))


if __name__ == "__main__":
    main()

"""A backlog of one site's dates goes to one `backfill_batch_job` run instead of a run per date.

The drop scan asks for one ingest run per (site, date). When a tick finds several dates of one site
(a site catching up, a first scan of an existing folder), each run would pay a run start, its planned
events and a step start per asset for one partition; a batch run pays them once and still records
every partition's materializations and checks under its own key. A site with one new date keeps its
ingest run. The batch carries what the ingest runs would have: the store and, per partition, the
versions of the unmarked files the sensor saw stable.

A partition's drop at given versions has one run key wherever it is found. A batch run carries each
of its partitions' keys as a tag (`partition_tag`), so a partition already loaded (or being loaded) by
an ingest run or a batch run, from the daemon or `medvault run`, is left out of the next batch
(`partition_done`), however the two grouped their dates.
"""

import dagster as dg

from medvault.assets.backfill import BACKFILL_JOB, PARTITIONS_TAG, backfill_run_config
from medvault.assets.ingest import announced
from medvault.assets.partitions import parse_partition_key, partition_key
from medvault.jobs import INGEST_JOB
from medvault.platform.drops.batches import batch_run_key, batches
from medvault.recovery import IN_PROGRESS

DONE_OR_RUNNING = [
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    *IN_PROGRESS,
]


def partition_tag(site: str, date: str) -> str:
    """The tag of a batch run naming one of its partitions; its value is that partition's run key."""
    return f"medvault/drop/{site}/{date}"


def run_key_done(instance: dg.DagsterInstance, tags: dict[str, str]) -> bool:
    """A run with these tags succeeded or is being run right now (another `medvault run`, the daemon)."""
    return bool(instance.get_runs(filters=dg.RunsFilter(tags=tags, statuses=DONE_OR_RUNNING), limit=1))


def partition_done(instance: dg.DagsterInstance, request: dg.RunRequest) -> bool:
    """Was this partition's drop, at these versions, loaded or is it being loaded, by its own ingest
    run or inside a batch run?"""
    site, date = parse_partition_key(request.partition_key)
    return run_key_done(instance, {"dagster/run_key": request.run_key}) or run_key_done(
        instance, {partition_tag(site, date): request.run_key}
    )


def batch_requests(requests: list[dg.RunRequest], per_run: int, done=None) -> list[dg.RunRequest]:
    """The same drops, with each site's several dates in runs of at most `per_run` partitions; a
    partition for which `done(request)` is true is left out (see `partition_done`)."""
    ingest = [
        r
        for r in requests
        if r.job_name == INGEST_JOB and r.partition_key is not None and not (done and done(r))
    ]
    others = [r for r in requests if not (r.job_name == INGEST_JOB and r.partition_key is not None)]
    by_partition = {parse_partition_key(r.partition_key): r for r in ingest}
    out: list[dg.RunRequest] = []
    for group in batches(list(by_partition), per_run):
        runs = [by_partition[p] for p in group]
        if len(runs) == 1:
            out.append(runs[0])
            continue
        keys = [str(partition_key(site, date)) for site, date in group]
        store = announced(runs[0].run_config)[0]
        files = {key: announced(r.run_config)[1] for key, r in zip(keys, runs, strict=True)}
        out.append(
            dg.RunRequest(
                job_name=BACKFILL_JOB,
                run_key=batch_run_key([r.run_key for r in runs]),
                run_config=backfill_run_config(keys, store=store, files=files),
                tags={
                    "medvault/store": store,
                    "medvault/files": str(sum(int(r.tags.get("medvault/files", 0)) for r in runs)),
                    PARTITIONS_TAG: f"{keys[0]}..{keys[-1]}",
                    **{partition_tag(*p): r.run_key for p, r in zip(group, runs, strict=True)},
                },
            )
        )
    return [*out, *others]

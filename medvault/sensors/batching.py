"""A backlog of one site's dates goes to one `backfill_batch_job` run instead of a run per date.

The drop scan asks for one ingest run per (site, date). When a tick finds several dates of one site
(a site catching up, a first scan of an existing folder), each run would pay a run start, its planned
events and a step start per asset for one partition; a batch run pays them once and still records
every partition's materializations and checks under its own key. A site with one new date keeps its
ingest run. The batch carries what the ingest runs would have: the store and, per partition, the
versions of the unmarked files the sensor saw stable.
"""

import dagster as dg

from medvault.assets.backfill import BACKFILL_JOB, PARTITIONS_TAG, backfill_run_config
from medvault.assets.ingest import announced
from medvault.assets.partitions import parse_partition_key, partition_key
from medvault.jobs import INGEST_JOB
from medvault.platform.drops.batches import batch_run_key, batches


def batch_requests(requests: list[dg.RunRequest], per_run: int) -> list[dg.RunRequest]:
    """The same drops, with each site's several dates in runs of at most `per_run` partitions."""
    ingest = [r for r in requests if r.job_name == INGEST_JOB and r.partition_key is not None]
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
                },
            )
        )
    return [*out, *others]

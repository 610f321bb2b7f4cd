"""The drop sensor asks again for an ingest run that failed, and forgets runs that succeeded."""

from __future__ import annotations

import time

import dagster as dg

from medvault.sensors.follow_up import follow_up, join_cursor, remember, split_cursor


@dg.op
def fails():
    raise RuntimeError("store unreachable")


@dg.op
def works():
    return 1


def _run(instance, op, run_key: str) -> None:
    job = dg.GraphDefinition(name=f"job_{op.name}", node_defs=[op]).to_job()
    job.execute_in_process(instance=instance, tags={"dagster/run_key": run_key}, raise_on_error=False)


def test_failed_run_is_requested_again_then_forgotten_on_success():
    request = dg.RunRequest(
        job_name="ingest_job",
        run_key="drop:aurora_eye:2026-03-02:abc",
        partition_key=dg.MultiPartitionKey({"site": "aurora_eye", "date": "2026-03-02"}),
        run_config={"ops": {"raw__drops": {"config": {"store": "sftp", "files": {}}}}},
        tags={"medvault/store": "sftp"},
    )
    open_runs: dict = {}
    remember(open_runs, [request], time.time())
    scan_cursor, restored = split_cursor(join_cursor('{"v":1}', open_runs))
    assert scan_cursor == '{"v":1}' and restored == open_runs
    with dg.instance_for_test() as instance:
        assert follow_up(instance, open_runs) == [], "not launched yet: wait"
        _run(instance, fails, request.run_key)
        assert follow_up(instance, open_runs) == [], "failed just now: wait out the delay"
        again = follow_up(instance, open_runs, now=time.time() + 3600)
        assert [r.run_key for r in again] == ["drop:aurora_eye:2026-03-02:abc#retry1"]
        assert again[0].partition_key.keys_by_dimension == {"site": "aurora_eye", "date": "2026-03-02"}
        assert again[0].run_config == request.run_config and again[0].tags["medvault/attempt"] == "1"
        _run(instance, works, again[0].run_key)
        assert follow_up(instance, open_runs, now=time.time() + 7200) == []
        assert open_runs == {}, "succeeded: no longer followed"


def test_a_failed_batch_run_is_requested_again_as_a_batch():
    """A sensor's batch run (several dates of one site) is followed like an ingest run: asked again
    whole, as a batch (no partition key), with the same partitions and announced file versions."""
    from medvault.assets.backfill import BACKFILL_JOB, PARTITIONS_TAG, backfill_run_config

    keys = ["2026-03-02|aurora_eye", "2026-03-03|aurora_eye"]
    request = dg.RunRequest(
        job_name=BACKFILL_JOB,
        run_key="drops:0123456789abcdef",
        run_config=backfill_run_config(keys, store="sftp", files={k: {} for k in keys}),
        tags={"medvault/store": "sftp", PARTITIONS_TAG: f"{keys[0]}..{keys[-1]}"},
    )
    open_runs: dict = {}
    remember(open_runs, [request], time.time())
    assert open_runs[request.run_key]["job"] == BACKFILL_JOB
    with dg.instance_for_test() as instance:
        _run(instance, fails, request.run_key)
        (again,) = follow_up(instance, open_runs, now=time.time() + 3600)
        assert again.job_name == BACKFILL_JOB and again.partition_key is None
        assert again.run_key == "drops:0123456789abcdef#retry1" and again.run_config == request.run_config
        _run(instance, works, again.run_key)
        assert follow_up(instance, open_runs, now=time.time() + 7200) == [] and open_runs == {}


def test_a_cursor_written_before_batch_runs_is_still_followed():
    """Followed runs stored by an earlier version name no job: they are ingest runs."""
    request = dg.RunRequest(
        job_name="ingest_job",
        run_key="drop:aurora_eye:2026-03-02:abc",
        partition_key=dg.MultiPartitionKey({"site": "aurora_eye", "date": "2026-03-02"}),
        run_config={},
        tags={},
    )
    open_runs: dict = {}
    remember(open_runs, [request], time.time())
    del open_runs[request.run_key]["job"]
    with dg.instance_for_test() as instance:
        _run(instance, fails, request.run_key)
        (again,) = follow_up(instance, open_runs, now=time.time() + 3600)
        assert again.job_name == "ingest_job"
        assert again.partition_key.keys_by_dimension == {"site": "aurora_eye", "date": "2026-03-02"}


def test_the_marts_refresh_follows_batch_runs_too():
    """A batch run (a sensor's backlog, a backfill through the daemon) loads partitions: the marts
    refresh counts it like an ingest run, by when it ended (a batch created first but ending last still
    counts), and also when it failed on some of its partitions; a failed ingest run or a mart run does not."""
    from medvault.sensors.marts import latest_load_end, marts_refresh_sensor

    def run_as(instance, job_name: str, op=works) -> float:
        job = dg.GraphDefinition(name=job_name, node_defs=[op]).to_job()
        run_id = job.execute_in_process(instance=instance, raise_on_error=False).run_id
        return instance.get_run_record_by_id(run_id).end_time

    with dg.instance_for_test() as instance:
        assert latest_load_end(instance) is None
        ingest = run_as(instance, "ingest_job")
        assert latest_load_end(instance) == ingest
        assert latest_load_end(instance, after=ingest) is None, "covered: nothing new"
        batch = run_as(instance, "backfill_batch_job", fails)
        assert latest_load_end(instance, after=ingest) == batch, "a batch that failed in part counts"
        run_as(instance, "marts_job")
        run_as(instance, "ingest_job", fails)
        assert latest_load_end(instance, after=batch) is None
        first = marts_refresh_sensor(dg.build_sensor_context(instance=instance, cursor=None))
        assert first.cursor == str(batch) and len(first.run_requests) == 1
        idle = marts_refresh_sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor))
        assert isinstance(idle, dg.SkipReason)
        old = marts_refresh_sensor(dg.build_sensor_context(instance=instance, cursor="a-run-id"))
        assert old.cursor == str(batch), "an earlier version's cursor (a run id) refreshes once"


def test_a_batch_that_failed_on_some_partitions_is_asked_again_for_those_only():
    """The batch run names its failed partitions in its failure's metadata (as backfill_batch_job does):
    the follow-up asks again for those partitions, with their announced files and tags only."""
    from medvault.assets.backfill import BACKFILL_JOB, FAILED_KEYS, PARTITIONS_TAG, backfill_run_config
    from medvault.sensors.batching import partition_tag

    keys = ["2026-03-02|aurora_eye", "2026-03-03|aurora_eye", "2026-03-04|aurora_eye"]
    files = {k: {f"aurora_eye/{k[:10]}/a.csv": f"v{i}"} for i, k in enumerate(keys)}
    request = dg.RunRequest(
        job_name=BACKFILL_JOB,
        run_key="drops:feed",
        run_config=backfill_run_config(keys, store="local", files=files),
        tags={
            "medvault/store": "local",
            PARTITIONS_TAG: f"{keys[0]}..{keys[-1]}",
            **{partition_tag("aurora_eye", k[:10]): f"drop:{k}" for k in keys},
        },
    )

    @dg.op
    def fails_on_one():
        raise dg.Failure("1 of 3 partition(s) failed", metadata={FAILED_KEYS: [keys[1]]})

    open_runs: dict = {}
    remember(open_runs, [request], time.time())
    with dg.instance_for_test() as instance:
        _run(instance, fails_on_one, request.run_key)
        (again,) = follow_up(instance, open_runs, now=time.time() + 3600)
        config = again.run_config["ops"]["backfill_partitions"]["config"]
        assert config["partitions"] == [keys[1]] and config["files"] == {keys[1]: files[keys[1]]}
        assert config["store"] == "local" and again.tags[PARTITIONS_TAG] == f"{keys[1]}..{keys[1]}"
        assert {t for t in again.tags if t.startswith("medvault/drop/")} == {
            partition_tag("aurora_eye", "2026-03-03")
        }

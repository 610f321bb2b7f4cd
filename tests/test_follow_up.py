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

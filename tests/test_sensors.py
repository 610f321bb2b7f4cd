"""The Dagster drop sensor on the local store: dynamic sites, one run per (site, date), cursor round trip."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from medvault.definitions import build_definitions
from medvault.platform.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def _drop(drops: Path, site: str, day: str, name: str, text: str, done: bool = True) -> None:
    folder = drops / site / day
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    if done:
        (folder / "_DONE").write_text("")


def _tick(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None):
    sensor = next(s for s in defs.sensors if s.name == "local_drop_sensor")
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=defs.resources)
    result = sensor(context)
    for request in result.dynamic_partitions_requests:  # a direct call does not apply them
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def test_sensor_new_site_new_date_and_cursor(tmp_path: Path):
    settings = Settings.from_env({"MEDVAULT_HOME": str(tmp_path), "MEDVAULT_RULES": str(ROOT / "rules")})
    defs = build_definitions(settings)
    drops = settings.drops
    _drop(drops, "aurora_eye", "2026-03-02", "smr01_20260302.csv", "a,b\n1,2\n")
    _drop(drops, "aurora_eye", "2026-03-02", "patients_20260302.csv", "a,b\n1,2\n")
    with dg.instance_for_test() as instance:
        first = _tick(defs, instance, None)
        assert instance.get_dynamic_partitions("site") == ["aurora_eye"]
        assert len(first.run_requests) == 1, "one run per (site, date) covering both files"
        request = first.run_requests[0]
        assert request.partition_key.keys_by_dimension == {"site": "aurora_eye", "date": "2026-03-02"}
        assert request.tags["medvault/files"] == "2"

        idle = _tick(defs, instance, first.cursor)
        assert idle.run_requests == [] and idle.dynamic_partitions_requests == []

        _drop(drops, "kestrel_imaging", "2026-03-02", "smr01_20260302.csv", "a,b\n1,2\n")
        _drop(drops, "aurora_eye", "2026-03-03", "smr01_20260303.csv", "a,b\n3,4\n")
        later = _tick(defs, instance, idle.cursor)
        assert sorted(instance.get_dynamic_partitions("site")) == ["aurora_eye", "kestrel_imaging"]
        keys = sorted(str(r.partition_key) for r in later.run_requests)
        assert keys == ["2026-03-02|kestrel_imaging", "2026-03-03|aurora_eye"]
        assert len({r.run_key for r in later.run_requests} | {request.run_key}) == 3


def test_sensor_waits_for_unmarked_file_to_settle(tmp_path: Path):
    settings = Settings.from_env({"MEDVAULT_HOME": str(tmp_path), "MEDVAULT_RULES": str(ROOT / "rules")})
    defs = build_definitions(settings)
    _drop(settings.drops, "aurora_eye", "2026-03-02", "smr01_20260302.csv", "a,b\n", done=False)
    with dg.instance_for_test() as instance:
        first = _tick(defs, instance, None)
        assert first.run_requests == [], "no marker and seen once: not yet stable"
        second = _tick(defs, instance, first.cursor)
        assert len(second.run_requests) == 1, "same size and mtime on the second look: stable"


def test_sensor_preview_through_the_code_server(tmp_path: Path):
    """`dagster sensor preview` evaluates the sensor as the daemon does (run requests are validated)."""
    import os
    import subprocess
    import sys

    home = tmp_path
    (home / "dagster").mkdir()
    (home / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    _drop(home / "drops", "aurora_eye", "2026-03-02", "smr01_20260302.csv", "a,b\n1,2\n")
    (home / "drops" / "loose.csv").write_text("x\n")
    env = {
        **os.environ,
        "MEDVAULT_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster"),
        "MEDVAULT_RULES": str(ROOT / "rules"),
    }
    proc = subprocess.run(
        [
            str(Path(sys.executable).with_name("dagster")),
            "sensor",
            "preview",
            "local_drop_sensor",
            "-m",
            "medvault.definitions",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Sensor returning run requests for 2 run(s)" in proc.stdout
    assert "key: loose.csv" in proc.stdout and "code: outside_convention" in proc.stdout


def test_a_backlog_of_one_site_is_one_batch_run(tmp_path: Path):
    """Several dates of one site in one tick: batch runs of at most MEDVAULT_BACKFILL_PER_RUN partitions,
    each carrying its partitions' unmarked file versions; a site (or a remainder) of one date keeps its
    ingest run. The batch records every partition under its own key."""
    from medvault.assets.backfill import BACKFILL_JOB, PARTITIONS_TAG, backfill_run_config, batch_partitions
    from medvault.assets.partitions import partition_key
    from medvault.jobs import INGEST_JOB

    env = {
        "MEDVAULT_HOME": str(tmp_path),
        "MEDVAULT_RULES": str(ROOT / "rules"),
        "MEDVAULT_BACKFILL_PER_RUN": "2",
    }
    settings = Settings.from_env(env)
    defs = build_definitions(settings)
    days = ("2026-03-02", "2026-03-03", "2026-03-04")
    for day in days:  # no completion marker: taken once unchanged across two looks
        _drop(settings.drops, "aurora_eye", day, f"smr01_{day}.csv", "a,b\n1,2\n", done=False)
    _drop(settings.drops, "kestrel_imaging", "2026-03-02", "smr01_20260302.csv", "a,b\n1,2\n")
    with dg.instance_for_test() as instance:
        first = _tick(defs, instance, None)
        assert [r.job_name for r in first.run_requests] == [INGEST_JOB], "only the marked drop is ready"
        second = _tick(defs, instance, first.cursor)
        assert [r.job_name for r in second.run_requests] == [BACKFILL_JOB, INGEST_JOB]
        batch, rest = second.run_requests
        assert batch_partitions(batch.run_config) == ["2026-03-02|aurora_eye", "2026-03-03|aurora_eye"]
        assert rest.partition_key == partition_key("aurora_eye", "2026-03-04"), "the remainder: one date"
        config = batch.run_config["ops"]["backfill_partitions"]["config"]
        assert config["store"] == "local"
        assert {k: sorted(v) for k, v in config["files"].items()} == {
            f"{day}|aurora_eye": [f"aurora_eye/{day}/smr01_{day}.csv"] for day in days[:2]
        }, "each partition's unmarked files at the versions seen stable"
        assert batch.tags[PARTITIONS_TAG] == "2026-03-02|aurora_eye..2026-03-03|aurora_eye"
        assert batch.tags["medvault/files"] == "2"

        def drops_of(run_config) -> dict:
            outcome = defs.resolve_job_def(BACKFILL_JOB).execute_in_process(
                instance=instance, run_config=run_config
            )
            assert outcome.success
            return {
                str(e.partition): tuple(
                    e.step_materialization_data.materialization.metadata[k].value
                    for k in ("files_seen", "files_pending", "files_received", "files_quarantined")
                )
                for e in outcome.all_events
                if e.is_step_materialization and e.asset_key == dg.AssetKey(["raw", "drops"])
            }

        keys = batch_partitions(batch.run_config)
        # without the sensor's versions a just-written unmarked file waits out MEDVAULT_SETTLE_SECONDS...
        assert drops_of(backfill_run_config(keys)) == {k: (0, 1, 0, 0) for k in keys}
        # ...with them it is taken (and quarantined: "a,b" is no source system's header)
        assert drops_of(batch.run_config) == {k: (1, 0, 0, 1) for k in keys}


def test_a_partition_loaded_in_a_batch_is_not_asked_for_again(tmp_path: Path):
    """However two scans group the dates (the daemon's ticks, a later `medvault run`), a partition
    whose drop was loaded at the same versions, alone or inside a batch, is left out."""
    from medvault.assets.backfill import BACKFILL_JOB, batch_partitions
    from medvault.jobs import INGEST_JOB

    env = {"MEDVAULT_HOME": str(tmp_path), "MEDVAULT_RULES": str(ROOT / "rules")}
    settings = Settings.from_env(env)
    defs = build_definitions(settings)
    for day in ("2026-03-02", "2026-03-03"):
        _drop(settings.drops, "aurora_eye", day, f"smr01_{day}.csv", "a,b\n1,2\n")
    with dg.instance_for_test() as instance:
        (batch,) = _tick(defs, instance, None).run_requests
        assert batch.job_name == BACKFILL_JOB
        outcome = defs.resolve_job_def(BACKFILL_JOB).execute_in_process(
            instance=instance,
            run_config=batch.run_config,
            tags={**batch.tags, "dagster/run_key": batch.run_key},
        )
        assert outcome.success
        _drop(settings.drops, "aurora_eye", "2026-03-04", "smr01_2026-03-04.csv", "a,b\n1,2\n")
        again = _tick(defs, instance, None)  # a scan from scratch: all three dates are ready
        assert [(r.job_name, str(r.partition_key)) for r in again.run_requests] == [
            (INGEST_JOB, "2026-03-04|aurora_eye")
        ], "the two dates loaded inside the batch are not asked for again"
        _drop(settings.drops, "aurora_eye", "2026-03-03", "smr01_2026-03-03.csv", "a,b\n9,9\n")
        changed = _tick(defs, instance, None)
        (rerun,) = changed.run_requests
        assert batch_partitions(rerun.run_config) == ["2026-03-03|aurora_eye", "2026-03-04|aurora_eye"], (
            "a new version of a loaded date is a new drop"
        )

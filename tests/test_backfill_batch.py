"""Backfills run many partitions per Dagster run (`backfill_batch_job`) and still record each partition:
its materializations, its check results, and the same warehouse as one run per partition."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from medvault.assets.backfill import BACKFILL_JOB, BACKFILL_OP
from medvault.definitions import build_definitions
from medvault.platform.config import Settings
from medvault.platform.warehouse import Warehouse
from medvault.runner import backfill, batches, run_pending
from medvault.synth.generator import generate

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow
SITES, DAYS = ("aurora_eye", "kestrel_imaging"), ("2026-03-02", "2026-03-03", "2026-03-04")
KEYS = {f"{d}|{s}" for s in SITES for d in DAYS}


def _settings(home: Path) -> Settings:
    settings = Settings.from_env({"MEDVAULT_HOME": str(home), "MEDVAULT_RULES": str(ROOT / "rules")})
    settings.ensure_folders()
    generate(settings.drops, sites=2, days=3, seed=5)
    return settings


def _table_counts(settings: Settings) -> dict[str, int]:
    """Rows of every table the ingest writes (staging, DICOM, vault), by name."""
    with Warehouse(settings.warehouse).connect(read_only=True) as con:
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() "
            "WHERE schema_name IN ('staging', 'dicom', 'vault') ORDER BY ALL"
        ).fetchall()
        return {
            f"{s}.{t}": con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchall()[0][0] for s, t in tables
        }


def test_batches_group_one_sites_dates():
    parts = [("b", "2026-03-02"), ("a", "2026-03-03"), ("a", "2026-03-02"), ("a", "2026-03-04")]
    assert batches(parts, 2) == [
        [("a", "2026-03-02"), ("a", "2026-03-03")],
        [("a", "2026-03-04")],
        [("b", "2026-03-02")],
    ]


def test_a_batch_backfill_records_every_partition_and_loads_what_single_runs_load(tmp_path: Path):
    batch = _settings(tmp_path / "batch")
    single = _settings(tmp_path / "single")
    with dg.instance_for_test(temp_dir=str(batch.dagster_home)) as instance:
        report = backfill(
            build_definitions(batch),
            instance,
            batch,
            None,
            date(2026, 3, 1),
            date(2026, 3, 9),
            settle_seconds=0,
            per_run=2,
            log=lambda *_: None,
        )
        assert report.failed == [] and report.succeeded == 6 and report.marts_refreshed
        runs = instance.get_runs(filters=dg.RunsFilter(job_name=BACKFILL_JOB))
        assert len(runs) == 4, "each site's three dates in runs of two and one"
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        assert not instance.get_runs(filters=dg.RunsFilter(job_name="ingest_job"))
        for key in (["raw", "drops"], ["staging", "harmony_pacs__studies"], ["vault", "hub_person"]):
            assert instance.get_materialized_partitions(dg.AssetKey(key)) == KEYS, key
        history = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey(["staging", "harmony_pacs__studies"]), "rows_accounted"), limit=20
        )
        evaluations = [h.event.dagster_event.event_specific_data for h in history]
        assert {e.partition for e in evaluations} == KEYS
        assert all(e.passed for e in evaluations)
        counts = {e.partition: e.metadata["rows_in_staging"].value for e in evaluations}
    with dg.instance_for_test(temp_dir=str(single.dagster_home)) as instance:
        report = run_pending(
            build_definitions(single), instance, single, settle_seconds=0, log=lambda *_: None
        )
        assert report.failed == [] and report.succeeded == 6
    batched, alone = _table_counts(batch), _table_counts(single)
    assert batched == alone, "the same rows in every staging, DICOM and vault table"
    assert batched["vault.hub_person"] > 0 and batched["dicom.instances"] > 0
    with Warehouse(batch.warehouse).connect(read_only=True) as con:
        staged = dict(
            con.execute(
                "SELECT strftime(_date, '%Y-%m-%d') || '|' || _site, count(*) "
                "FROM staging.harmony_pacs__studies GROUP BY 1"
            ).fetchall()
        )
    assert counts == staged, "each partition's check reports its own slice"


def test_one_bad_partition_fails_alone_and_the_run_names_it(tmp_path: Path):
    settings = _settings(tmp_path)
    defs = build_definitions(settings)
    keys = ["2026-03-02|aurora_eye", "2026-03-02|not_registered", "2026-03-03|aurora_eye"]
    with dg.instance_for_test(temp_dir=str(settings.dagster_home)) as instance:
        instance.add_dynamic_partitions("site", ["aurora_eye"])
        outcome = defs.resolve_job_def(BACKFILL_JOB).execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"ops": {BACKFILL_OP: {"config": {"partitions": keys, "settle_seconds": 0}}}},
        )
        assert not outcome.success
        failure = outcome.failure_data_for_node(BACKFILL_OP)
        assert "1 of 3 partition(s) failed" in failure.error.message
        assert "not_registered is not a site partition" in failure.error.message
        assert failure.user_failure_data.metadata["failed_partitions"].value == ["2026-03-02|not_registered"]
        done = instance.get_materialized_partitions(dg.AssetKey(["staging", "harmony_pacs__studies"]))
    assert done == {"2026-03-02|aurora_eye", "2026-03-03|aurora_eye"}


def test_keys_are_checked_and_each_runs_once():
    from medvault.assets.backfill import _parsed

    keys = ["2026-03-02|aurora_eye", "2026-03-02|aurora_eye", "2026-03-03|kestrel_imaging"]
    assert _parsed(keys) == [("aurora_eye", "2026-03-02"), ("kestrel_imaging", "2026-03-03")]
    with pytest.raises(dg.Failure, match=re.escape("partition key: 2026-02-30|aurora_eye")):
        _parsed(["2026-02-30|aurora_eye"])
    with pytest.raises(dg.Failure, match=re.escape("partition key: aurora_eye")):
        _parsed(["aurora_eye"])

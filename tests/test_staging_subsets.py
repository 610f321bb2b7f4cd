"""Materializing part of the staging step, as a user does from the UI."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from medvault.definitions import build_definitions
from medvault.platform.config import Settings
from medvault.platform.warehouse.db import Warehouse
from medvault.synth.generator import generate

ROOT = Path(__file__).resolve().parents[1]
PARTITION = dg.MultiPartitionKey({"site": "aurora_eye", "date": "2026-03-02"})
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@pytest.fixture(scope="module")
def received(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    settings = Settings.from_env({"MEDVAULT_HOME": str(home), "MEDVAULT_RULES": str(ROOT / "rules")})
    settings.ensure_folders()
    generate(settings.drops, sites=1, days=1, seed=3)
    defs = build_definitions(settings)
    with dg.instance_for_test(temp_dir=str(settings.dagster_home)) as instance:
        instance.add_dynamic_partitions("site", ["aurora_eye"])
        job = defs.resolve_implicit_global_asset_job_def()
        job.execute_in_process(
            partition_key=PARTITION,
            instance=instance,
            run_config=QUIET,
            asset_selection=[dg.AssetKey(["raw", "drops"])],
        )
        yield settings, job, instance


def _count(settings, table: str) -> int:
    with Warehouse(settings.warehouse).connect(read_only=True) as con:
        return con.execute(f"SELECT count(*) FROM staging.{table}").fetchall()[0][0]


def test_one_table_alone(received):
    settings, job, instance = received
    result = job.execute_in_process(
        partition_key=PARTITION,
        instance=instance,
        run_config=QUIET,
        asset_selection=[dg.AssetKey(["staging", "karexpert_his__bills"])],
    )
    assert result.success
    keys = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert keys == {"staging/karexpert_his__bills"}
    assert _count(settings, "karexpert_his__bills") > 0
    with Warehouse(settings.warehouse).connect(read_only=True) as con:
        tables = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'staging'"
            ).fetchall()
        }
    assert "harmony_pacs__studies" not in tables, "other tables were not staged"


def test_child_alone_is_refused_with_a_clear_error(received):
    _, job, instance = received
    result = job.execute_in_process(
        partition_key=PARTITION,
        instance=instance,
        run_config=QUIET,
        asset_selection=[dg.AssetKey(["staging", "karexpert_his__bill_items"])],
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "select the parent too" in str(failure.event_specific_data.error.message)


def test_check_alone_runs_without_restaging(received):
    settings, job, instance = received
    key = dg.AssetKey(["staging", "karexpert_his__bills"])
    job.execute_in_process(
        partition_key=PARTITION, instance=instance, run_config=QUIET, asset_selection=[key]
    )
    with Warehouse(settings.warehouse).connect(read_only=True) as con:
        loaded_at = con.execute("SELECT max(_loaded_at) FROM staging.karexpert_his__bills").fetchall()
    checks_only = job.get_subset(
        asset_selection=set(), asset_check_selection={dg.AssetCheckKey(key, "rows_accounted")}
    )
    result = checks_only.execute_in_process(partition_key=PARTITION, instance=instance, run_config=QUIET)
    evaluations = result.get_asset_check_evaluations()
    assert [(e.check_name, e.passed) for e in evaluations] == [("rows_accounted", True)]
    assert result.get_asset_materialization_events() == []
    with Warehouse(settings.warehouse).connect(read_only=True) as con:
        assert con.execute("SELECT max(_loaded_at) FROM staging.karexpert_his__bills").fetchall() == loaded_at


def _audit(settings) -> dict:
    with Warehouse(settings.warehouse).connect(read_only=True) as con:
        rows = con.execute(
            "SELECT target, rows_in, rows_inserted, rows_known FROM ops.load_audit WHERE step = 'vault' "
            "ORDER BY recorded_at"
        ).fetchall()
    return {target: (rows_in, inserted, known) for target, rows_in, inserted, known in rows}


def test_vault_checks_pass_and_the_audit_balances(received):
    settings, job, instance = received
    vault_keys = [k for k in job.asset_layer.executable_asset_keys if k.path[0] == "vault"]
    staging_keys = [k for k in job.asset_layer.executable_asset_keys if k.path[0] == "staging"]
    result = job.execute_in_process(
        partition_key=PARTITION,
        instance=instance,
        run_config=QUIET,
        asset_selection=[*staging_keys, *vault_keys],
    )
    vault_checks = [e for e in result.get_asset_check_evaluations() if e.asset_key.path[0] == "vault"]
    assert vault_checks and all(e.passed for e in vault_checks), [
        (e.asset_key, e.check_name) for e in vault_checks
    ]
    assert {e.check_name for e in vault_checks} == {"keys_resolve", "hub_keys_exist", "versions_unique"}
    first = _audit(settings)
    hub = first["vault.hub_person"]
    assert hub[1] > 0 and hub[2] == 0, "a first load knows no key"

    again = job.execute_in_process(
        partition_key=PARTITION,
        instance=instance,
        run_config=QUIET,
        asset_selection=[*staging_keys, *vault_keys],
    )
    assert again.success
    second = _audit(settings)
    assert second["vault.hub_person"] == (hub[0], 0, hub[1]), "the rerun inserts nothing and knows every key"

    key = dg.AssetKey(["vault", "hub_person"])
    checks_only = job.get_subset(
        asset_selection=set(), asset_check_selection={dg.AssetCheckKey(key, "keys_resolve")}
    )
    alone = checks_only.execute_in_process(partition_key=PARTITION, instance=instance, run_config=QUIET)
    assert [(e.check_name, e.passed) for e in alone.get_asset_check_evaluations()] == [("keys_resolve", True)]
    assert not alone.get_asset_materialization_events()

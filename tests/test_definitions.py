"""The code location loads: in-process, and through the `dg` CLI exactly as `dg dev` would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from medvault.definitions import build_definitions
from medvault.platform.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_definitions_load_and_validate(tmp_path: Path):
    settings = Settings.from_env({"MEDVAULT_HOME": str(tmp_path), "MEDVAULT_RULES": str(ROOT / "rules")})
    defs = build_definitions(settings)
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert "raw/drops" in keys
    assert "staging/harmony_pacs__studies" in keys
    assert "dicom/instances" in keys
    assert {"vault/hub_person", "vault/hub_event", "vault/link_person_event"} <= keys
    seed_reports = {
        "examinations_per_month",
        "station_names",
        "device_usage",
        "study_descriptions",
        "diskspace",
    }
    assert {f"marts/{r}" for r in seed_reports} <= keys
    exams = graph.get(dg.AssetKey(["marts", "examinations_per_month"]))
    assert {k.to_user_string() for k in exams.parent_keys} == {
        "vault/hub_event",
        "vault/sat_event_order_details",
    }
    assert [c.name for c in exams.metadata["dagster/column_schema"].columns] == [
        "site",
        "Month",
        "month_start",
        "TotalExams",
    ]
    checks = {k.name for k in graph.asset_check_keys if k.asset_key.path[0] == "marts"}
    assert "exams_match_study_orders" in checks
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert groups == {"raw", "staging", "dicom", "vault", "reference", "pit", "bridge", "marts", "publish"}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description, f"{key.to_user_string()} has a description"
        assert node.owners, f"{key.to_user_string()} has owners"
    assert defs.resolve_job_def("ingest_job").partitions_def is not None
    assert {s.name for s in defs.sensors} >= {"local_drop_sensor", "marts_refresh_sensor"}


def test_one_sensor_per_enabled_store(tmp_path: Path):
    settings = Settings.from_env(
        {
            "MEDVAULT_HOME": str(tmp_path),
            "MEDVAULT_RULES": str(ROOT / "rules"),
            "MEDVAULT_STORES": "local,s3,sftp",
        }
    )
    names = {s.name for s in build_definitions(settings).sensors}
    assert {"local_drop_sensor", "s3_drop_sensor", "sftp_drop_sensor"} <= names


def test_dg_check_defs(tmp_path: Path):
    env = {
        **os.environ,
        "MEDVAULT_HOME": str(tmp_path),
        "DAGSTER_HOME": str(tmp_path / "dagster"),
        "VIRTUAL_ENV": sys.prefix,  # the project's .venv, as after `source .venv/bin/activate`
    }
    (tmp_path / "dagster").mkdir()
    dg_bin = Path(sys.executable).with_name("dg")
    proc = subprocess.run(
        [str(dg_bin), "check", "defs"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "warning" not in proc.stderr.lower(), proc.stderr


def test_readme_documents_every_setting():
    from medvault.platform.config import SETTINGS

    readme = (ROOT / "README.md").read_text()
    missing = [
        s.env
        for s in SETTINGS
        if f"| `{s.env}` | `{s.default}` |" not in readme and f"| `{s.env}` | (unset) |" not in readme
    ]
    assert missing == [], f"README configuration table lacks {missing}"


def test_every_table_asset_has_a_described_column_schema(tmp_path: Path):
    settings = Settings.from_env({"MEDVAULT_HOME": str(tmp_path), "MEDVAULT_RULES": str(ROOT / "rules")})
    graph = build_definitions(settings).resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if "dagster/table_name" not in node.metadata:
            continue
        schema = node.metadata.get("dagster/column_schema")
        assert schema is not None, f"{key.to_user_string()} has a column schema"
        columns = schema.schema.columns if hasattr(schema, "schema") else schema.columns
        undescribed = [c.name for c in columns if not c.description and not c.name.startswith("_")]
        if key.path[0] != "staging":
            assert undescribed == [], (key.to_user_string(), undescribed)
    admissions = graph.get(dg.AssetKey(["staging", "ndc_smr01__admissions"])).metadata[
        "dagster/column_schema"
    ]
    columns = admissions.schema.columns if hasattr(admissions, "schema") else admissions.columns
    docs = {c.name: c.description for c in columns}
    assert docs["chi"] == "Community Health Index number of the patient; patient identifier (pii)"
    assert docs["_source_key"] == "the file's key in its drop store"
    assert "`<site>/<YYYY-MM-DD>/`" in graph.get(dg.AssetKey(["raw", "drops"])).description

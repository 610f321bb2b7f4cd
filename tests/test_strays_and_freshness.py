"""Files outside the drop convention are quarantined with the reason; stale sites fail sites_fresh."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg

from medvault.definitions import build_definitions
from medvault.platform.config import Settings
from medvault.platform.warehouse.db import Warehouse
from medvault.runner import run_pending
from tests.helpers import smr01_csv

ROOT = Path(__file__).resolve().parents[1]


def _settings(tmp_path: Path) -> Settings:
    settings = Settings.from_env({"MEDVAULT_HOME": str(tmp_path), "MEDVAULT_RULES": str(ROOT / "rules")})
    settings.ensure_folders()
    return settings


def test_strays_are_quarantined_once_with_their_reason(tmp_path: Path):
    settings = _settings(tmp_path)
    drops = settings.drops
    (drops / "loose.csv").write_text("a,b\n1,2\n")
    (drops / "aurora_eye").mkdir()
    (drops / "aurora_eye" / "beside_dates.csv").write_text("a,b\n3,4\n")
    (drops / "aurora_eye" / "March").mkdir()
    (drops / "aurora_eye" / "March" / "in_bad_folder.csv").write_text("a,b\n5,6\n")
    defs = build_definitions(settings)
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        report = run_pending(defs, instance, settings, settle_seconds=1.1, log=lambda *_: None)
        assert report.failed == [] and report.strays_runs >= 1
        again = run_pending(defs, instance, settings, settle_seconds=0, full=True, log=lambda *_: None)
        assert again.failed == []
    with Warehouse(settings.warehouse).connect(read_only=True) as con:
        rows = con.execute(
            "SELECT key, status, reason_code, quarantine_path FROM ops.file_manifest WHERE site = '_strays' ORDER BY key"
        ).fetchall()
    assert [r[0] for r in rows] == [
        "aurora_eye/March/in_bad_folder.csv",
        "aurora_eye/beside_dates.csv",
        "loose.csv",
    ]
    assert all(r[1] == "quarantined" and r[2] for r in rows), "each quarantined once, with a reason code"
    for key, _, code, qpath in rows:
        reason = json.loads((settings.quarantine / (qpath + ".reason.json")).read_text())
        assert reason["file"] == key and reason["code"] == code
        assert (settings.quarantine / qpath).read_bytes() == (settings.drops / key).read_bytes()


def test_sites_fresh_per_site_threshold_and_not_yet_delivering(tmp_path: Path):
    import shutil
    import time

    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    sites = rules / "sites.yaml"
    sites.write_text(
        sites.read_text().replace(
            "{code: kestrel_imaging, name: Kestrel Imaging Dublin,",
            "{code: kestrel_imaging, freshness_hours: 0.0002, name: Kestrel Imaging Dublin,",
        )
    )
    settings = Settings.from_env({"MEDVAULT_HOME": str(tmp_path), "MEDVAULT_RULES": str(rules)})
    settings.ensure_folders()
    for site in ("aurora_eye", "kestrel_imaging"):
        folder = settings.drops / site / "2026-03-02"
        folder.mkdir(parents=True)
        (folder / "smr01_20260302.csv").write_text(smr01_csv(1))
        (folder / "_DONE").write_text("")
    defs = build_definitions(settings)
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        report = run_pending(defs, instance, settings, settle_seconds=0, log=lambda *_: None)
        assert report.failed == [] and report.marts_refreshed
        time.sleep(1.0)  # kestrel_imaging's threshold is 0.72 s
        hourly = defs.resolve_job_def("freshness_job").execute_in_process(instance=instance)
        assert hourly.success, "the check also runs on its own, as the hourly schedule does"
        [evaluation] = hourly.get_asset_check_evaluations()
    assert evaluation.passed is False
    assert evaluation.metadata["stale_sites"].value == "kestrel_imaging", "aurora_eye has the default 36 h"
    waiting = evaluation.metadata["not_yet_delivering"].value
    assert "lothian_general" in waiting and "aurora_eye" not in waiting, (
        "listed but never delivered: not stale"
    )
    assert evaluation.metadata["threshold_hours"].value["kestrel_imaging"] == 0.0002


def test_sites_that_never_delivered_do_not_fail_the_check(tmp_path: Path):
    settings = _settings(tmp_path)
    folder = settings.drops / "aurora_eye" / "2026-03-02"
    folder.mkdir(parents=True)
    (folder / "smr01_20260302.csv").write_text(smr01_csv(1))
    (folder / "_DONE").write_text("")
    defs = build_definitions(settings)
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        run_pending(defs, instance, settings, settle_seconds=0, log=lambda *_: None)
        checks = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey(["raw", "drops"]), "sites_fresh"), limit=1
        )
        evaluation = checks[0].event.dagster_event.event_specific_data
    assert evaluation.passed is True, "a fresh demo is green: the other listed sites are not yet delivering"
    assert evaluation.metadata["stale_sites"].value == "none"

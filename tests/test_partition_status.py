"""Partition status answers "did data arrive?", and a run with problems is not green.

- A table that received nothing in a partition gets no materialization (kestrel_imaging has no
  hospital-information system, so no `staging/karexpert_his__*` materialization for its partition).
- Quarantined files and rejected rows raise WARN checks with counts and reasons.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from medvault.definitions import build_definitions
from medvault.platform.config import Settings
from medvault.runner import run_pending
from medvault.synth.generator import generate
from tests.helpers import SMR01_HEADER, SMR01_ROW

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _materialized(instance, site: str) -> set[str]:
    keys = set()
    for key in instance.get_asset_keys():
        partitions = instance.get_materialized_partitions(key)
        if any(p.endswith(f"|{site}") for p in partitions):
            keys.add(key.to_user_string())
    return keys


def _evaluations(instance, key: list[str], check: str, site: str | None = None) -> list:
    history = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey(key), check), limit=10
    )
    out = []
    for h in history:
        partition = instance.get_run_by_id(h.run_id).tags.get("dagster/partition", "")
        if h.event and (site is None or partition.endswith(f"|{site}")):
            out.append(h.event.dagster_event.event_specific_data)
    return out


def test_only_tables_with_data_are_materialized_and_problems_warn(tmp_path: Path):
    settings = Settings.from_env({"MEDVAULT_HOME": str(tmp_path), "MEDVAULT_RULES": str(ROOT / "rules")})
    settings.ensure_folders()
    generate(settings.drops, sites=2, days=1, seed=11)
    folder = settings.drops / "aurora_eye" / "2026-03-02"
    (folder / "mystery.csv").write_text("colour,flavour\nred,sweet\n")  # quarantined: unknown_source
    bad_row = SMR01_ROW.format(n=9).replace(",1,40,", ",7,40,")  # sex 7 is not allowed
    (folder / "smr01_extra.csv").write_text(SMR01_HEADER + SMR01_ROW.format(n=8) + bad_row)
    defs = build_definitions(settings)
    with dg.instance_for_test(temp_dir=str(settings.dagster_home)) as instance:
        report = run_pending(defs, instance, settings, settle_seconds=0, log=lambda *_: None)
        assert report.failed == [] and report.succeeded == 2
        kestrel = _materialized(instance, "kestrel_imaging")
        aurora = _materialized(instance, "aurora_eye")
        files = _evaluations(instance, ["raw", "drops"], "files_accepted")
        rows = _evaluations(instance, ["staging", "ndc_smr01__admissions"], "rows_accounted", "aurora_eye")
    assert "staging/harmony_pacs__studies" in kestrel
    assert not any(k.startswith("staging/karexpert_his__") for k in kestrel), kestrel
    assert "staging/karexpert_his__bills" in aurora
    assert {"raw/drops", "dicom/instances", "vault/hub_person"} <= kestrel

    by_outcome = {e.passed: e for e in files}
    assert set(by_outcome) == {True, False}, "one clean partition, one with a quarantined file"
    warned = by_outcome[False]
    assert warned.severity == dg.AssetCheckSeverity.WARN
    assert warned.metadata["quarantine_reasons"].value == {"unknown_source": 1}

    assert [e.passed for e in rows] == [False]
    assert rows[0].severity == dg.AssetCheckSeverity.WARN, "rejected rows warn; the slice still reconciles"
    assert rows[0].metadata["reconciles"].value is True
    assert rows[0].metadata["rows_rejected"].value == 1
    assert "not_allowed" in rows[0].metadata["reject_reasons"].value

"""A failure while staging leaves the slice and every file's manifest status exactly as they were."""

from __future__ import annotations

from pathlib import Path

import pytest

from medvault.platform.ledger.files import FileLedger
from medvault.platform.rules import load_rules
from medvault.platform.steps.stage import stage_table
from medvault.platform.warehouse.db import Warehouse
from tests.helpers import SMR01_HEADER as HEADER
from tests.helpers import SMR01_ROW as ROW
from tests.helpers import LocalZones, step_context

ROOT = Path(__file__).resolve().parents[1]


def test_failed_stage_rolls_back_slice_and_statuses(tmp_path: Path, monkeypatch):
    folder = tmp_path / "drops" / "aurora_eye" / "2026-03-02"
    folder.mkdir(parents=True)
    (folder / "smr01_a.csv").write_text(HEADER + ROW.format(n=1) + ROW.format(n=2))
    (folder / "_DONE").write_text("")
    rules = load_rules(ROOT / "rules")

    def receive(con):
        LocalZones(tmp_path, rules).receive(con)

    def stage(con):
        return stage_table(step_context(tmp_path, rules), con, "ndc_smr01", "admissions")

    with Warehouse(tmp_path / "w.duckdb").connect() as con:
        receive(con)
        assert stage(con).rows_loaded == 2
        # a second file arrives: all its rows ragged, so staging would quarantine it
        (folder / "smr01_b.csv").write_text(HEADER + "x,y\n" * 3)
        receive(con)
        before = con.execute("SELECT key, status, rows_loaded FROM ops.file_manifest ORDER BY key").fetchall()

        def broken(*args, **kwargs):
            raise RuntimeError("disk full")

        monkeypatch.setattr(FileLedger, "loaded", broken)
        with pytest.raises(RuntimeError, match="disk full"):
            stage(con)
        after = con.execute("SELECT key, status, rows_loaded FROM ops.file_manifest ORDER BY key").fetchall()
        rows = con.execute("SELECT record_id FROM staging.ndc_smr01__admissions ORDER BY 1").fetchall()
    assert after == before, "no status changed: the quarantine of smr01_b waits for a successful stage"
    assert rows == [("SMR1",), ("SMR2",)], "the slice still holds the last good stage"


def test_undeclared_columns_reach_staging_typed(tmp_path: Path):
    folder = tmp_path / "drops" / "aurora_eye" / "2026-03-02"
    folder.mkdir(parents=True)
    (folder / "smr01_a.csv").write_text(
        HEADER.rstrip("\n")
        + ",ward_code,seen_on\n"
        + ROW.format(n=1).rstrip("\n")
        + ",12,2026-03-01\n"
        + ROW.format(n=2).rstrip("\n")
        + ",,2026-03-02\n"
    )
    (folder / "_DONE").write_text("")
    rules = load_rules(ROOT / "rules")
    with Warehouse(tmp_path / "w.duckdb").connect() as con:
        LocalZones(tmp_path, rules).receive(con)
        summary = stage_table(step_context(tmp_path, rules), con, "ndc_smr01", "admissions")
        rows = con.execute(
            "SELECT record_id, _extras->>'$.ward_code', json_type(_extras->'$.ward_code'), _extras->>'$.seen_on' "
            "FROM staging.ndc_smr01__admissions ORDER BY 1"
        ).fetchall()
    assert summary.extra_columns == {"ward_code": "integer", "seen_on": "date"}
    assert rows == [("SMR1", "12", "UBIGINT", "2026-03-01"), ("SMR2", None, "NULL", "2026-03-02")]

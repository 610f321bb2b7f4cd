"""Reliability finding 6: of two versions of one file, the one whose rows are newer (by the table's
modified column) is what staging and the vault hold, whatever order the versions arrive in."""

from __future__ import annotations

from pathlib import Path

import pytest

from medvault.platform.rules import load_rules
from medvault.platform.steps import vault
from medvault.platform.steps.stage import stage_table
from medvault.platform.warehouse.db import Warehouse
from tests.helpers import SMR01_HEADER as HEADER
from tests.helpers import LocalZones, step_context

ROOT = Path(__file__).resolve().parents[1]
OLDER = HEADER + "SMR1,0101011234,2026-03-01,2026-03-02,1,1,40,1A,A,AB1 2CD,I10,,,,,,,2026-03-02T10:00:00\n"
NEWER = HEADER + "SMR1,0101011234,2026-03-01,2026-03-05,4,1,40,1A,A,AB1 2CD,I10,,,,,,,2026-03-05T09:00:00\n"


def _send(tmp_path: Path, rules, text: str) -> dict:
    """Drop `text` as smr01.csv, receive, stage and load the vault; what each layer then says."""
    folder = tmp_path / "drops" / "aurora_eye" / "2026-03-02"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "smr01.csv").write_text(text)
    (folder / "_DONE").write_text("")
    LocalZones(tmp_path, rules).receive()
    ctx = step_context(tmp_path, rules)
    with Warehouse(tmp_path / "w.duckdb").connect() as con:
        stage_table(ctx, con, "ndc_smr01", "admissions")
    vault.run(ctx, {o.name for o in ctx.vault.fed()})
    with Warehouse(tmp_path / "w.duckdb").connect(read_only=True) as con:
        return {
            "staged": con.execute("SELECT length_of_stay FROM staging.ndc_smr01__admissions").fetchall(),
            "latest": con.execute(
                "SELECT length_of_stay FROM staging.ndc_smr01__admissions__latest"
            ).fetchall(),
            "vault": con.execute(
                "SELECT length_of_stay FROM vault.sat_event_admissions_date ORDER BY effective_ts DESC, "
                "load_ts DESC LIMIT 1"
            ).fetchall(),
            "statuses": sorted(
                con.execute("SELECT status, reason_code FROM ops.file_manifest").fetchall(), key=str
            ),
        }


@pytest.mark.parametrize(
    "order",
    [("older", "newer", "older"), ("newer", "older")],
    ids=["older-bytes-replayed", "older-extract-arrives-late"],
)
def test_the_newer_rows_win_whatever_the_order_of_arrival(tmp_path: Path, order):
    rules = load_rules(ROOT / "rules")
    texts = {"older": OLDER, "newer": NEWER}
    for which in order:
        layers = _send(tmp_path, rules, texts[which])
    assert layers["staged"] == [(4,)] and layers["latest"] == [(4,)], "staging holds the newer version"
    assert layers["vault"] == [(4,)], "and so does the vault"
    assert layers["statuses"] == [("loaded", None), ("superseded", "superseded")]

"""Point-in-time tables: the satellites' versions in force at each change of a key, rebuilt only for the
keys loaded since the last build."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import duckdb

from medvault.platform.rules.models import SatelliteLoad
from medvault.platform.vault.ddl import create_vault_tables
from medvault.platform.vault.loader import load_partition
from medvault.platform.vault.model import compile_vault
from medvault.platform.vault.pit import build_pit, pits
from tests.test_vault import _create_staging, _stage_studies, make_rules

T = [datetime(2026, 1, d, 9) for d in range(1, 6)]


def two_satellite_rules():
    """The test rules with a second satellite on hub_event: the modality alone."""
    rules = make_rules()
    studies = rules.vault.loads[0]
    extra = SatelliteLoad("sat_event_study_modality", "hub_event", ("modality",))
    loads = (replace(studies, satellites=(*studies.satellites, extra)), *rules.vault.loads[1:])
    return replace(rules, vault=replace(rules.vault, loads=loads))


def test_pit_rows_follow_every_change_and_rebuild_only_loaded_keys():
    con = duckdb.connect()
    _create_staging(con)
    rules = two_satellite_rules()
    model = compile_vault(rules)
    create_vault_tables(con, model)
    pit = next(p for p in pits(model) if p.hub == "hub_event")
    assert pit.satellites == ("sat_event_study_details", "sat_event_study_modality")

    def load(day, rows, n):
        _stage_studies(con, "site_a", day, rows)
        load_partition(con, model, "site_a", day, datetime(2026, 2, 1, n))

    one = ("1.1", "P1", date(2025, 12, 1), "A1")
    two = ("2.2", "P2", date(2025, 12, 1), "A2")
    load("2026-01-01", [(*one, "CT head", "CT", T[0]), (*two, "MR knee", "MR", T[0])], 1)
    load("2026-01-02", [(*one, "CT head+", "CT", T[1])], 2)  # details change, modality does not
    assert build_pit(con, pit) == (2, 3)
    rows = con.execute(
        "SELECT e.event_id, p.as_of, p.sat_event_study_details_ts, p.sat_event_study_modality_ts "
        "FROM vault.pit_event p JOIN vault.hub_event e USING (hk_event) ORDER BY 1, 2"
    ).fetchall()
    assert rows == [("1.1", T[0], T[0], T[0]), ("1.1", T[1], T[1], T[0]), ("2.2", T[0], T[0], T[0])]

    assert build_pit(con, pit) == (0, 0), "nothing loaded since: nothing rebuilt"
    load("2026-01-03", [(*two, "MR knee", "CT", T[2])], 3)  # only key 2.2 changes
    assert build_pit(con, pit) == (1, 2)
    assert con.execute("SELECT count(*) FROM vault.pit_event").fetchone()[0] == 4
    # the PIT joins each satellite on equality and gives the payload in force at each time
    joined = con.execute(
        """SELECT e.event_id, p.as_of, d.study_description, m.modality
           FROM vault.pit_event p JOIN vault.hub_event e USING (hk_event)
           JOIN vault.sat_event_study_details__history d
             ON d.hk_event = p.hk_event AND d.effective_ts = p.sat_event_study_details_ts
           JOIN vault.sat_event_study_modality__history m
             ON m.hk_event = p.hk_event AND m.effective_ts = p.sat_event_study_modality_ts
           WHERE e.event_id = '2.2' ORDER BY p.as_of"""
    ).fetchall()
    assert joined == [("2.2", T[0], "MR knee", "MR"), ("2.2", T[2], "MR knee", "CT")]

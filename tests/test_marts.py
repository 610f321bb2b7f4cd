"""marts.exams_per_month from a vault loaded through the real loader; counts checked by hand."""

from __future__ import annotations

from datetime import date, datetime

import duckdb

from medvault.platform.marts.exams import build_exams_per_month
from medvault.platform.vault.loader import load_partition
from tests.test_vault import _create_staging, _stage_studies, make_rules

T1, T2 = datetime(2026, 1, 1, 9), datetime(2026, 1, 2, 9)


def test_exams_per_month_hand_count(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    _create_staging(con)
    rules = make_rules()
    _stage_studies(
        con,
        "site_a",
        "2026-01-01",
        [
            ("S1", "P1", date(2025, 12, 1), "A1", "CT head", "CT", T1),
            ("S2", "P1", date(2025, 12, 15), "A2", "CT chest", "CT", T1),
            ("S3", "P2", date(2025, 12, 31), "A3", "fundus", "OP", T1),
            ("S4", "P2", date(2026, 1, 2), "A4", "CT", "CT", T1),
            ("S4", "P2", date(2026, 1, 2), "A4", "CT", "CT", T1),  # duplicate row: still one exam
            ("S5", "P3", None, "A5", "undated", "MR", T1),
        ],
    )
    _stage_studies(con, "site_b", "2026-01-01", [("S1", "Q1", date(2025, 12, 3), "B1", "CT", "CT", T1)])
    load_partition(con, rules, "site_a", "2026-01-01", datetime(2026, 1, 1, 23))
    load_partition(con, rules, "site_b", "2026-01-01", datetime(2026, 1, 1, 23))
    # next day S2 is corrected to MR: only its latest satellite row counts
    _stage_studies(
        con, "site_a", "2026-01-02", [("S2", "P1", date(2025, 12, 15), "A2", "MR chest", "MR", T2)]
    )
    load_partition(con, rules, "site_a", "2026-01-02", datetime(2026, 1, 2, 23))
    # an admission event (no study satellite) is not an exam
    con.execute(
        "INSERT INTO staging.smr__admissions VALUES ('R1', 'P1', DATE '2025-12-01', '1', 40, "
        "'site_a', DATE '2026-01-02', 'sha', 'k', 'v1', 1, now())"
    )
    load_partition(con, rules, "site_a", "2026-01-02", datetime(2026, 1, 2, 23, 30))

    assert build_exams_per_month(con) == 6
    rows = con.execute("SELECT site, month, modality, exams FROM marts.exams_per_month").fetchall()
    assert rows == [
        ("site_a", date(2025, 12, 1), "CT", 1),  # S1
        ("site_a", date(2025, 12, 1), "MR", 1),  # S2 after correction
        ("site_a", date(2025, 12, 1), "OP", 1),  # S3
        ("site_a", date(2026, 1, 1), "CT", 1),  # S4
        ("site_a", None, "MR", 1),  # S5 has no study date
        ("site_b", date(2025, 12, 1), "CT", 1),  # same study uid at another site is another exam
    ]
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'marts' AND table_name = 'exams_per_month'"
        ).fetchall()
    )
    assert types == {"site": "VARCHAR", "month": "DATE", "modality": "VARCHAR", "exams": "BIGINT"}
    # the totals reconcile with the study events of the vault; rebuilding replaces the table
    assert con.execute("SELECT sum(exams) FROM marts.exams_per_month").fetchone()[0] == 6
    assert build_exams_per_month(con) == 6

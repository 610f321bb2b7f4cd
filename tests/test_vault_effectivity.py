"""Effectivity satellites: who is in a bed, from when to when, whatever order the bed's extracts arrive in."""

from __future__ import annotations

from datetime import datetime
from itertools import permutations
from pathlib import Path

import duckdb

from medvault.platform.rules import load_rules
from medvault.platform.vault import hashing
from medvault.platform.vault.ddl import create_vault_tables
from medvault.platform.vault.loader import load_partition
from medvault.platform.vault.model import compile_vault

REPO = Path(__file__).resolve().parents[1]
SAT = "sat_bed_person_effectivity"
DAYS = {  # partition date -> (bed_id, patient_id or None: empty, modified_at)
    "2026-03-01": [("BED1", "0101011111", datetime(2026, 3, 1, 10))],
    "2026-03-02": [("BED1", None, datetime(2026, 3, 2, 9))],  # discharged: the stay ends
    "2026-03-03": [
        ("BED1", "0202022222", datetime(2026, 3, 3, 14)),
        ("BED2", "0101011111", datetime(2026, 3, 3, 15)),
    ],
}


def _load(order) -> duckdb.DuckDBPyConnection:
    model = compile_vault(load_rules(REPO / "rules"))
    con = duckdb.connect()
    con.execute(
        "CREATE SCHEMA staging; CREATE TABLE staging.karexpert_his__beds (bed_id VARCHAR, ward VARCHAR, "
        "bed_number VARCHAR, status VARCHAR, patient_id VARCHAR, facility_id VARCHAR, facility_name VARCHAR, "
        "modified_at TIMESTAMP, _site VARCHAR, _date DATE, _sha256 VARCHAR, _source_key VARCHAR, _version VARCHAR, "
        "_row_number BIGINT, _loaded_at TIMESTAMP)"
    )
    create_vault_tables(con, model)
    for n, day in enumerate(order):
        for m, (bed, patient, modified) in enumerate(DAYS[day], start=1):
            status = "occupied" if patient else "free"
            con.execute(
                "INSERT INTO staging.karexpert_his__beds VALUES (?, 'W1', '1', ?, ?, 'F1', 'General', ?, "
                "'site_a', ?, 'sha', 'k', 'v1', ?, now())",
                [bed, status, patient, modified, day, m],
            )
        load_partition(con, model, "site_a", day, datetime(2026, 4, 1, n))
    return con


def test_a_bed_stay_starts_and_ends_in_any_arrival_order():
    bed1 = hashing.hash_key(["BED1"], tenant="site_a")
    first, second = (hashing.hash_key([p], tenant="site_a") for p in ("0101011111", "0202022222"))
    expected = [
        (first, datetime(2026, 3, 1, 10), datetime(2026, 3, 2, 9)),
        (None, datetime(2026, 3, 2, 9), datetime(2026, 3, 3, 14)),  # empty
        (second, datetime(2026, 3, 3, 14), None),  # still in force
    ]
    for order in permutations(DAYS):
        con = _load(order)
        history = con.execute(
            f"SELECT hk_person, effective_ts, effective_to FROM vault.{SAT}__history WHERE hk_bed = ? ORDER BY 2",
            [bed1],
        ).fetchall()
        assert [(bytes(p) if p else None, a, b) for p, a, b in history] == expected, order
        current = con.execute(f"SELECT count(*) FROM vault.{SAT}__current").fetchone()[0]
        assert current == 2, "each bed has one relationship in force"

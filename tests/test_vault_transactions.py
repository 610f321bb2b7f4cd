"""Non-historised links: a bill's lines as transactions, one row each, with their payload, insert-only."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from medvault.platform.rules import load_rules
from medvault.platform.vault import hashing
from medvault.platform.vault.checks import check_object
from medvault.platform.vault.ddl import create_vault_tables
from medvault.platform.vault.loader import hashed_batches, load_partition
from medvault.platform.vault.model import compile_vault

REPO = Path(__file__).resolve().parents[1]
LINES = [  # bill_id, line_no, code, description, amount, quantity
    ("B1", 1, "CONS", "consultation", 50.0, 1),
    ("B1", 2, "LAB", "blood panel", 12.5, 2),
    ("B1", 3, "LAB", "blood panel", 12.5, 1),  # the same charge again: another transaction
    ("B2", 1, "CONS", "consultation", 50.0, 1),
]


def _stage(con) -> None:
    con.execute(
        "CREATE SCHEMA staging; CREATE TABLE staging.karexpert_his__bill_items (bill_id VARCHAR, line_no INTEGER, "
        "code VARCHAR, description VARCHAR, amount DOUBLE, quantity INTEGER, _site VARCHAR, _date DATE, "
        "_sha256 VARCHAR, _source_key VARCHAR, _version VARCHAR, _row_number BIGINT, _loaded_at TIMESTAMP)"
    )
    for n, row in enumerate(LINES, start=1):
        con.execute(
            "INSERT INTO staging.karexpert_his__bill_items VALUES "
            "(?, ?, ?, ?, ?, ?, 'site_a', DATE '2026-03-02', 'sha', 'k', 'v1', ?, now())",
            [*row, n],
        )


def test_bill_lines_are_transactions_with_their_payload():
    model = compile_vault(load_rules(REPO / "rules"))
    assert model.objects["link_bill_line"].kind == "transaction"
    con = duckdb.connect()
    _stage(con)
    create_vault_tables(con, model)
    counts = load_partition(con, model, "site_a", "2026-03-02", datetime(2026, 3, 3))
    assert counts["link_bill_line"] == 4 and counts["hub_event"] == 2 and counts["hub_charge"] == 2
    rows = con.execute(
        "SELECT hk_link_bill_line, hk_event, line_no, amount, quantity FROM vault.link_bill_line ORDER BY line_no, amount"
    ).fetchall()
    keys = {bytes(r[0]) for r in rows}
    assert keys == {hashing.hash_key([b, c, n], tenant="site_a") for b, n, c, *_ in LINES}
    assert sorted((r[2], r[3], r[4]) for r in rows) == sorted((n, a, q) for _, n, _, _, a, q in LINES)
    assert load_partition(con, model, "site_a", "2026-03-02", datetime(2026, 3, 4))["link_bill_line"] == 0
    with hashed_batches(con, model, ["link_bill_line"], "site_a", "2026-03-02") as batches:
        verdict = check_object(con, model, "link_bill_line", batches, 4, 0)
    assert verdict.passed and verdict.name == "hub_keys_exist"


def test_record_tracking_keeps_every_partition_a_key_appeared_in_once():
    from dataclasses import replace

    from medvault.platform.rules.models import HubDef
    from tests.test_vault import _create_staging, _stage_studies, make_rules

    rules = make_rules()
    hubs = {
        **rules.vault.hubs,
        "hub_person": HubDef("hub_person", "person", ("person_id",), record_tracking=True),
    }
    model = compile_vault(replace(rules, vault=replace(rules.vault, hubs=hubs)))
    assert model.objects["sat_person_record_tracking"].kind == "tracking"
    con = duckdb.connect()
    _create_staging(con)
    create_vault_tables(con, model)
    row = ("P1", datetime(2025, 12, 1).date(), "A", "d", "CT", datetime(2026, 1, 1, 9))
    for n, day in enumerate(["2026-01-03", "2026-01-01", "2026-01-03", "2026-01-02"]):  # late, replayed
        _stage_studies(con, "site_a", day, [("1." + day, *row), ("2." + day, *row)])  # P1 twice a day
        load_partition(con, model, "site_a", day, datetime(2026, 2, 1, n))
    seen = con.execute("SELECT _date FROM vault.sat_person_record_tracking ORDER BY _date").fetchall()
    assert [str(d[0]) for d in seen] == ["2026-01-01", "2026-01-02", "2026-01-03"]

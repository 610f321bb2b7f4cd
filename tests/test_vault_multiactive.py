"""Multi-active satellites: the shipped `sat_event_labtest_requests` (a lab order's set of requested
tests, by position), loaded from real vault loads in every order of three days: each key's set is one
version, the history is the same whatever the order, a rerun stores nothing, and its check passes."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from medvault.platform.rules import RulesError, load_rules
from medvault.platform.staging.tables import ensure_staging_tables
from medvault.platform.vault.batch import build_batches, drop_batches
from medvault.platform.vault.checks import check_object
from medvault.platform.vault.ddl import create_vault_tables
from medvault.platform.vault.loader import load_partition
from medvault.platform.vault.model import compile_vault

REPO = Path(__file__).resolve().parents[1]
SAT = "sat_event_labtest_requests"
O1, O2 = "a" * 24, "b" * 24  # lab order ids are MongoDB ObjectIds
DAYS = {
    "2026-03-02": [
        (O1, 1, "FBC", "Full blood count"),
        (O1, 2, "LFT", "Liver function"),
        (O2, 1, "UE", "U&E"),
    ],
    "2026-03-03": [  # O1 the same set again (a repeat); O2 gains a test
        (O1, 1, "FBC", "Full blood count"),
        (O1, 2, "LFT", "Liver function"),
        (O2, 1, "UE", "U&E"),
        (O2, 2, "CRP", "C-reactive protein"),
    ],
    "2026-03-04": [(O1, 1, "FBC", "Full blood count")],  # O1 drops a test
}


@pytest.fixture(scope="module")
def model():
    return compile_vault(load_rules(REPO / "rules"))


def _fresh(model):
    con = duckdb.connect()
    ensure_staging_tables(con, model.rules, "karexpert_his", "lab_orders")
    create_vault_tables(con, model)
    return con


def _load(con, model, day: str, rows, hour: int) -> None:
    con.execute(
        "DELETE FROM staging.karexpert_his__lab_order_tests WHERE _site = 'aurora_eye' AND _date = ?", [day]
    )
    for n, (order, line, code, name) in enumerate(rows, start=1):
        con.execute(
            "INSERT INTO staging.karexpert_his__lab_order_tests "
            "(lab_order_id, line_no, code, name, _site, _date, _version, _row_number, _sha256) "
            "VALUES (?, ?, ?, ?, 'aurora_eye', ?, 'v1', ?, 's')",
            [order, line, code, name, day, n],
        )
    load_partition(con, model, "aurora_eye", day, datetime(2026, 3, 10, hour))


def _history(con) -> list[tuple]:
    return con.execute(
        f"""SELECT e.event_id, h.line_no, h.code, h.name, h.effective_ts, h.effective_to
            FROM vault.{SAT}__history h JOIN vault.hub_event e USING (hk_event)
            WHERE h.record_source <> 'SYSTEM' ORDER BY ALL"""
    ).fetchall()


def _ts(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time())


def test_a_keys_set_of_rows_is_one_version(model):
    assert model.objects[SAT].kind == "multi_active"
    con = _fresh(model)
    for hour, (day, rows) in enumerate(DAYS.items(), start=1):
        _load(con, model, day, rows, hour)
    d2, d3, d4 = (_ts(d) for d in DAYS)
    assert _history(con) == [
        (O1, 1, "FBC", "Full blood count", d2, d4),
        (O1, 1, "FBC", "Full blood count", d4, None),
        (O1, 2, "LFT", "Liver function", d2, d4),
        (O2, 1, "UE", "U&E", d2, d3),
        (O2, 1, "UE", "U&E", d3, None),
        (O2, 2, "CRP", "C-reactive protein", d3, None),
    ]
    current = con.execute(
        f"SELECT e.event_id, c.code FROM vault.{SAT}__current c JOIN vault.hub_event e USING (hk_event) ORDER BY ALL"
    ).fetchall()
    assert current == [(O1, "FBC"), (O2, "CRP"), (O2, "UE")]
    # O1's repeated set on day 2 is one `__seen` row (the set), not one per test
    assert con.execute(f"SELECT count(*) FROM vault.{SAT}__seen").fetchone()[0] == 1
    assert con.execute(f"SELECT count(*) FROM vault.{SAT}").fetchone()[0] == 6 + 1  # and the ghost row

    # a rerun of any day stores nothing
    before = con.execute(f"SELECT count(*) FROM vault.{SAT}").fetchone()[0]
    _load(con, model, "2026-03-03", DAYS["2026-03-03"], 9)
    assert con.execute(f"SELECT count(*) FROM vault.{SAT}").fetchone()[0] == before
    assert con.execute(f"SELECT count(*) FROM vault.{SAT}__seen").fetchone()[0] == 1

    # the balance check of the partition passes and counts the partition's versions (sets), not rows
    batches = build_batches(
        con, model, model.objects[SAT].feeds, {"site": "aurora_eye", "date": "2026-03-03"}, lambda _: True
    )
    check = check_object(con, model, SAT, batches, staged_rows=4, inserted=0)
    drop_batches(con, batches)
    assert check.passed and check.name == "versions_unique", check
    assert check.metadata["duplicate_versions"] == 0 and check.batch_keys == 2


def test_the_history_is_the_same_in_every_arrival_order(model):
    con = _fresh(model)
    for hour, (day, rows) in enumerate(DAYS.items(), start=1):
        _load(con, model, day, rows, hour)
    expected = _history(con)
    for order in itertools.permutations(DAYS):
        con = _fresh(model)
        for hour, day in enumerate(order, start=1):
            _load(con, model, day, DAYS[day], hour)
        assert _history(con) == expected, f"arrival order {order}"
        duplicates = con.execute(
            f"""SELECT count(*) FROM (SELECT hk_event, effective_ts, line_no FROM vault.{SAT}
                GROUP BY ALL HAVING count(*) > 1)"""
        ).fetchone()[0]
        assert duplicates == 0, f"a (key, effective_ts, line_no) stored twice in order {order}"


def test_a_repeated_sub_sequence_keeps_the_last_row_in_file_order(model):
    con = _fresh(model)
    _load(con, model, "2026-03-02", [(O1, 1, "FBC", "old name"), (O1, 1, "FBC", "Full blood count")], 1)
    assert [r[3] for r in _history(con)] == ["Full blood count"]


def test_rules_check_names_a_bad_sub_sequence(tmp_path: Path):
    import shutil

    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    loads = root / "vault" / "loads_karexpert_his.yaml"
    text = loads.read_text()
    loads.write_text(text.replace("multi_active: [line_no]", "multi_active: [position, code]"))
    with pytest.raises(RulesError) as err:
        load_rules(root)
    problems = "\n".join(err.value.problems)
    assert "sat_event_labtest_requests.multi_active: 'position' is not a staged column" in problems
    assert "'code' is a payload column too" in problems

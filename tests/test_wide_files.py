"""Wide files (reliability finding 2): thousands of columns load in time linear in the cells, a file over
the column limit is quarantined with its own reason, and one file's loader failure never fails the
other files of its table."""

from __future__ import annotations

import json
import time
from pathlib import Path

import duckdb
import pytest

from medvault.platform.ingest import infer
from medvault.platform.ingest.faults import FileFault
from medvault.platform.ingest.infer import extras_table, infer_types
from medvault.platform.ingest.load import load_file
from medvault.platform.ingest.sniff import MAX_COLUMNS, sniff
from medvault.platform.rules import load_rules
from medvault.platform.rules.models import ColumnDef, SourceDef, TableDef
from medvault.platform.steps import stage
from medvault.platform.steps.stage import stage_table
from medvault.platform.warehouse.db import Warehouse
from tests.helpers import SMR01_HEADER as HEADER
from tests.helpers import SMR01_ROW as ROW
from tests.helpers import LocalZones, step_context

ROOT = Path(__file__).resolve().parents[1]
KINDS = ["7", "1.5", "2026-03-01", "2026-03-01T10:00:00", "yes", '"{""a"": 1}"', "text", "007", ""]


def _wide_csv(path: Path, columns: int, rows: int) -> list[str]:
    """An `id` column and `columns - 1` undeclared ones cycling through every inferred kind."""
    names = ["id"] + [f"x{i}" for i in range(columns - 1)]
    with open(path, "w") as fh:
        fh.write(",".join(names) + "\n")
        for r in range(rows):
            fh.write(",".join([str(r)] + [KINDS[i % len(KINDS)] for i in range(columns - 1)]) + "\n")
    return names


def test_a_5000_column_file_loads_every_value_typed(tmp_path: Path):
    path = tmp_path / "wide.csv"
    names = _wide_csv(path, 5000, 3)
    tdef = TableDef("t", ("*.csv",), (ColumnDef("id", "id", "integer"),), key=("id",))
    con = duckdb.connect()
    started = time.monotonic()
    result = load_file(con, path, SourceDef("sys", "v1", "csv", (tdef,)), tdef, "out")
    elapsed = time.monotonic() - started
    assert (result.rows_received, result.rows_loaded, result.rows_rejected) == (3, 3, 0)
    assert len(result.extra_columns) == 4999
    expected = ["integer", "float", "date", "timestamp", "boolean", "json", "text", "text", "text"]
    assert [result.extra_columns[f"x{i}"] for i in range(9)] == expected
    extras = json.loads(con.execute("SELECT _extras FROM out WHERE id = 1").fetchone()[0])
    assert list(extras) == names[1:], "every undeclared column, in file order"
    assert [extras[f"x{i}"] for i in range(9)] == [
        7,
        1.5,
        "2026-03-01",
        "2026-03-01T10:00:00",
        True,
        {"a": 1},
        "text",
        "007",
        None,
    ]
    assert elapsed < 120, f"a 5,000-column file took {elapsed:.0f} s"  # was beyond DuckDB's depth limit


@pytest.mark.parametrize("rows", [1, 40])
def test_one_row_per_cell_and_one_expression_per_column_agree(monkeypatch, rows):
    con = duckdb.connect()
    cells = ", ".join(
        f"{v!r} AS c{i}" for i, v in enumerate(["5", "5.5", "2026-01-02", " x ", "", "[1]", "no"])
    )
    con.execute(f"CREATE TABLE t AS SELECT range AS r, {cells} FROM range({rows})")
    con.execute("UPDATE t SET c0 = 'five' WHERE r = 0 AND (SELECT count(*) FROM t) > 1")  # a mixed column
    exprs = {f"c{i}": f"c{i}" for i in range(7)}
    inline = infer_types(con, "t", exprs)
    extras_table(con, "t", "e1", {n: (n, n) for n in exprs}, inline, row="r")
    monkeypatch.setattr(infer, "INLINE_COLUMNS", 0)
    assert infer_types(con, "t", exprs) == inline
    extras_table(con, "t", "e2", {n: (n, n) for n in exprs}, inline, row="r")
    one = con.execute("SELECT r, CAST(_extras AS VARCHAR) FROM e1 ORDER BY r").fetchall()
    two = con.execute("SELECT r, CAST(_extras AS VARCHAR) FROM e2 ORDER BY r").fetchall()
    assert [(r, json.loads(a)) for r, a in one] == [(r, json.loads(b)) for r, b in two]
    assert list(json.loads(one[-1][1])) == list(exprs), "keys in column order"


def test_a_file_over_the_column_limit_is_refused_before_reading(tmp_path: Path):
    path = tmp_path / "too_wide.csv"
    _wide_csv(path, MAX_COLUMNS + 1, 1)
    with pytest.raises(FileFault) as caught:
        sniff(path)
    assert caught.value.code == "too_many_columns"
    assert f"{MAX_COLUMNS + 1} columns" in caught.value.message and "too_wide.csv" in caught.value.message


def _drop(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "drops" / "aurora_eye" / "2026-03-02"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    (folder / "_DONE").write_text("")
    return folder


def test_an_over_wide_file_is_quarantined_and_its_table_loads(tmp_path: Path):
    extra = ",".join(f"x{i}" for i in range(MAX_COLUMNS))
    wide = HEADER.rstrip("\n") + "," + extra + "\n" + ROW.format(n=9).rstrip("\n") + "," * MAX_COLUMNS + "\n"
    _drop(tmp_path, {"smr01_a.csv": HEADER + ROW.format(n=1), "smr01_wide.csv": wide})
    rules = load_rules(ROOT / "rules")
    with Warehouse(tmp_path / "w.duckdb").connect() as con:
        LocalZones(tmp_path, rules).receive(con)
        summary = stage_table(step_context(tmp_path, rules), con, "ndc_smr01", "admissions")
        statuses = dict(
            con.execute(
                "SELECT parse_filename(key), status || ':' || coalesce(reason_code, '') FROM ops.file_manifest"
            ).fetchall()
        )
    assert summary.rows_loaded == 1
    assert statuses == {"smr01_a.csv": "loaded:", "smr01_wide.csv": "quarantined:too_many_columns"}


def test_a_loader_failure_on_one_file_quarantines_it_and_the_others_load(tmp_path: Path, monkeypatch):
    _drop(tmp_path, {"smr01_a.csv": HEADER + ROW.format(n=1), "smr01_b.csv": HEADER + ROW.format(n=2)})
    real = stage.load_file

    def failing_on_b(con, path, source, tdef, target, *, name=None, **kw):
        if name == "smr01_b.csv":  # a DuckDB error only this file's bytes provoke
            con.execute("SELECT CAST('x' AS INTEGER)")
        return real(con, path, source, tdef, target, name=name, **kw)

    monkeypatch.setattr(stage, "load_file", failing_on_b)
    rules = load_rules(ROOT / "rules")
    with Warehouse(tmp_path / "w.duckdb").connect() as con:
        LocalZones(tmp_path, rules).receive(con)
        summary = stage_table(step_context(tmp_path, rules), con, "ndc_smr01", "admissions")
        rows = con.execute("SELECT record_id FROM staging.ndc_smr01__admissions").fetchall()
        reason = con.execute("SELECT reason FROM ops.file_manifest WHERE key LIKE '%smr01_b.csv'").fetchone()[
            0
        ]
    assert rows == [("SMR1",)] and summary.files_quarantined == 1
    assert "ConversionException" in reason and "smr01_b.csv" in reason

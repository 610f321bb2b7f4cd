"""JSON/NDJSON: extended JSON, flattening, drift, malformed lines, explode of string and struct arrays."""

from __future__ import annotations

import codecs
import datetime as dt
import json

import duckdb
import pytest

from medvault.platform.ingest import FileFault, load_file
from medvault.platform.ingest.ejson import scalar_sql, unwrap
from medvault.platform.rules.models import ChildDef, ColumnDef, SourceDef, TableDef

ORDERS = TableDef(
    "orders",
    ("orders*.ndjson",),
    (
        ColumnDef("order_id", "_id", required=True),
        ColumnDef("n", "n", "bigint"),
        ColumnDef("created", "created", "timestamp"),
        ColumnDef("facility_name", "facility.name"),
        ColumnDef("items", "items", "json"),
        ColumnDef("tests", "tests", "json"),
    ),
    key=("order_id",),
    children=(
        ChildDef(
            "order_items",
            "items",
            (ColumnDef("code", "code", required=True), ColumnDef("qty", "qty", "integer")),
        ),
        ChildDef(
            "order_tests",
            "tests",
            (ColumnDef("test", "$"), ColumnDef("test_code", "code"), ColumnDef("test_name", "name")),
        ),
    ),
)


def load(tmp_path, lines, tdef=ORDERS, name="orders.ndjson", raw=None):
    p = tmp_path / name
    p.write_bytes(
        raw
        if raw is not None
        else ("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n").encode()
    )
    con = duckdb.connect()
    result = load_file(con, p, SourceDef("his", "v1", "ndjson", (tdef,)), tdef, "o")
    assert result.rows_received == result.rows_loaded + result.rows_rejected
    return result, con


def test_unwrap_python():
    doc = {
        "_id": {"$oid": "abc"},
        "n": {"$numberLong": "5"},
        "d": {"$date": {"$numberLong": "0"}},
        "d2": {"$date": "2024-01-01T00:00:00Z"},
        "x": [{"q": {"$numberInt": "2"}}, {"f": {"$numberDouble": "1.5"}}, {"f": {"$numberDouble": "NaN"}}],
    }
    assert unwrap(doc) == {
        "_id": "abc",
        "n": 5,
        "d": "1970-01-01T00:00:00.000Z",
        "d2": "2024-01-01T00:00:00Z",
        "x": [{"q": 2}, {"f": 1.5}, {"f": "NaN"}],
    }


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ('{"$oid": "65a1"}', "65a1"),
        ('{"$numberLong": "9007199254740993"}', "9007199254740993"),
        ('{"$numberInt": "3"}', "3"),
        ('{"$numberDouble": "2.5"}', "2.5"),
        ('{"$numberDecimal": "1.10"}', "1.10"),
        ('{"$date": "2024-01-02T03:04:05Z"}', "2024-01-02T03:04:05Z"),
        ('{"$date": {"$numberLong": "1700000000123"}}', "2023-11-14T22:13:20.123Z"),
        ('{"$date": 1700000000000}', "2023-11-14T22:13:20.000Z"),
        ('"plain"', "plain"),
        ("42", "42"),
        ("true", "true"),
        ("null", None),
        ('{"a": 1}', '{"a": 1}'),
    ],
)
def test_unwrap_sql(value, text):
    con = duckdb.connect()
    got = con.execute(f"SELECT {scalar_sql('v')} FROM (SELECT CAST(? AS JSON) AS v)", [value]).fetchall()[0][
        0
    ]
    assert got == text


def test_mongodb_export_flatten_explode_and_drift(tmp_path):
    lines = [
        {
            "_id": {"$oid": "a1"},
            "n": {"$numberLong": "5"},
            "created": {"$date": {"$numberLong": "1700000000123"}},
            "facility": {"name": "North", "code": "N"},
            "items": [{"code": "OCT", "qty": {"$numberInt": "2"}}, {"code": "VF", "qty": "3"}],
            "tests": ["HBA1C", "LDL"],
        },
        {
            "_id": "a2",
            "n": "7",
            "created": {"$date": "2024-01-02T03:00:00+02:00"},
            "tests": [{"code": "X", "name": "Xray"}],
        },
        {"_id": "a3", "n": 8.0, "facility": {"name": None}, "items": [], "extra": {"deep": 1}},
    ]
    result, con = load(tmp_path, lines)
    assert (result.rows_loaded, result.rows_rejected) == (3, 0)
    assert result.children == {"order_items": 2, "order_tests": 3}
    assert result.extra_columns == {"facility.code": "text", "extra": "json"}
    rows = con.execute(
        "SELECT order_id, n, created, facility_name, items FROM o ORDER BY _row_number"
    ).fetchall()
    assert rows[0][:4] == ("a1", 5, dt.datetime(2023, 11, 14, 22, 13, 20, 123000), "North")
    assert json.loads(rows[0][4]) == [
        {"code": "OCT", "qty": 2},
        {"code": "VF", "qty": "3"},
    ]  # wrappers removed
    assert rows[1][:3] == ("a2", 7, dt.datetime(2024, 1, 2, 1, 0))
    assert rows[2][1] == 8 and rows[2][3] is None
    items = con.execute(
        "SELECT order_id, line_no, code, qty, _row_number FROM o__order_items ORDER BY 1, 2"
    ).fetchall()
    assert items == [("a1", 1, "OCT", 2, 1), ("a1", 2, "VF", 3, 1)]
    tests = con.execute(
        "SELECT order_id, line_no, test, test_code, test_name FROM o__order_tests ORDER BY 1, 2"
    ).fetchall()
    assert tests == [
        ("a1", 1, "HBA1C", None, None),
        ("a1", 2, "LDL", None, None),
        ("a2", 1, None, "X", "Xray"),
    ]
    cols = [r[0] for r in con.execute("DESCRIBE o__order_items").fetchall()]
    assert cols == ["order_id", "line_no", "code", "qty", "_row_number"]


def test_malformed_lines_are_rejected_with_line_numbers(tmp_path):
    lines = [{"_id": "1"}, "{broken", "", {"_id": "2"}, "[1, 2]", '"just a string"', {"_id": "3"}]
    result, con = load(tmp_path, lines)
    assert (result.rows_received, result.rows_loaded) == (6, 3)  # the blank line is not a record
    rejected = con.execute("SELECT row_number, reason_code, reason FROM o__rejected ORDER BY 1").fetchall()
    assert [(r[0], r[1]) for r in rejected] == [
        (2, "malformed_json"),
        (5, "malformed_json"),
        (6, "malformed_json"),
    ]
    assert con.execute("SELECT _row_number FROM o ORDER BY 1").fetchall() == [(1,), (4,), (7,)]


def test_a_bad_child_rejects_its_parent(tmp_path):
    lines = [
        {"_id": "1", "items": [{"code": "A", "qty": 1}, {"qty": "x"}]},
        {"_id": "2", "items": [{"code": "B"}]},
    ]
    result, con = load(tmp_path, lines)
    assert (result.rows_loaded, result.rows_rejected, result.children["order_items"]) == (1, 1, 1)
    rejected = con.execute('SELECT row_number, "column", reason_code FROM o__rejected ORDER BY 2').fetchall()
    assert rejected == [(1, "order_items[2].code", "required_missing"), (1, "order_items[2].qty", "bad_type")]


def test_every_line_malformed_is_a_file_fault(tmp_path):
    with pytest.raises(FileFault) as exc:
        load(tmp_path, [], raw=b"nope\n" * 3)
    assert exc.value.code == "not_json"
    result, _ = load(tmp_path, [], raw=b'{"_id": "1"}\n' + b"nope\n" * 3)
    assert (result.rows_loaded, result.rows_rejected) == (1, 3)
    with pytest.raises(FileFault) as exc:
        load(tmp_path, [], raw=b'{"other": 1}\n')
    assert exc.value.code == "missing_required_column"


def test_json_array_bom_and_gzip(tmp_path):
    import gzip

    docs = [{"_id": str(i), "n": {"$numberLong": str(i)}} for i in range(1, 4)]
    t = TableDef("orders", ("*",), ORDERS.columns[:2], key=("order_id",))
    p = tmp_path / "orders.json"
    p.write_bytes(codecs.BOM_UTF8 + json.dumps(docs, indent=1).encode())
    con = duckdb.connect()
    result = load_file(con, p, SourceDef("his", "v1", "ndjson", (t,)), t, "a")
    assert result.rows_loaded == 3 and con.execute("SELECT sum(n) FROM a").fetchall()[0][0] == 6
    g = tmp_path / "orders.ndjson.gz"
    g.write_bytes(gzip.compress("\n".join(json.dumps(d) for d in docs).encode("utf-16")))
    result = load_file(con, g, SourceDef("his", "v1", "ndjson", (t,)), t, "b")
    assert (result.rows_loaded, result.encoding) == (3, "utf-16-le")


def test_json_text_unwraps_wrappers_but_not_string_contents():
    from medvault.platform.ingest import ejson

    con = duckdb.connect()
    ejson.register(con)
    try:
        doc = [
            {"id": {"$oid": "x1"}, "n": {"$numberLong": "5"}, "at": {"$date": {"$numberLong": "0"}}},
            {"note": '{"$oid": "kept as text"}', "d": {"$date": "2024-01-01T00:00:00Z"}},
        ]
        sql = ejson.json_text_sql("v")
        got = con.execute(f"SELECT {sql} FROM (SELECT CAST(? AS JSON) AS v)", [json.dumps(doc)]).fetchall()[
            0
        ][0]
    finally:
        ejson.unregister(con)
    assert json.loads(got) == [
        {"id": "x1", "n": 5, "at": "1970-01-01T00:00:00.000Z"},
        {"note": '{"$oid": "kept as text"}', "d": "2024-01-01T00:00:00Z"},
    ]

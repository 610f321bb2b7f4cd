"""load_file: coercion and validation rules, rejected rows, duplicates, extras, Parquet, profile."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest

from medvault.platform.ingest import FileFault, load_file, profile
from medvault.platform.ingest.infer import extras_table, infer_types
from medvault.platform.ingest.load import drop_loaded
from medvault.platform.rules.models import ColumnDef, SourceDef, TableDef


def table(*columns, key=(), modified=None, name="t", children=()):
    return TableDef(name, ("*.csv",), tuple(columns), key=key, modified=modified, children=children)


def load(tmp_path, text, tdef, fmt="csv", file_name="data.csv", con=None):
    con = con or duckdb.connect()
    p = tmp_path / file_name
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    result = load_file(con, p, SourceDef("sys", "v1", fmt, (tdef,)), tdef, "out")
    good = con.execute("SELECT * EXCLUDE (_extras, _row_number) FROM out ORDER BY _row_number").fetchall()
    rejected = con.execute('SELECT row_number, "column", value, reason_code FROM out__rejected').fetchall()
    assert result.rows_received == result.rows_loaded + result.rows_rejected
    return result, good, rejected, con


def test_trim_case_and_empty_to_null(tmp_path):
    t = table(
        ColumnDef("a", "A", case="upper"), ColumnDef("b", "B", case="lower"), ColumnDef("c", "C", trim=False)
    )
    _, good, _, _ = load(tmp_path, 'A,B,C\n  x y ,  MiXed\t, keep \n"",,\n', t)
    assert good == [("X Y", "mixed", " keep "), (None, None, None)]


def test_header_names_map_case_insensitively_and_optional_columns_may_be_missing(tmp_path):
    t = table(ColumnDef("patient_id", "PatientID"), ColumnDef("note", "Note"))
    result, good, _, _ = load(tmp_path, " patientid \n7\n", t)
    assert good == [("7", None)] and result.missing_columns == ["note"]


def test_required_missing(tmp_path):
    t = table(ColumnDef("a", "a", required=True), ColumnDef("b", "b"))
    _, good, rejected, _ = load(tmp_path, "a,b\n1,x\n ,y\n", t)
    assert good == [("1", "x")]
    assert rejected == [(2, "a", None, "required_missing")]


def test_integer_double_boolean(tmp_path):
    t = table(ColumnDef("i", "i", "integer"), ColumnDef("d", "d", "double"), ColumnDef("b", "b", "boolean"))
    text = "i,d,b\n5,1.5,true\n5.0,-2,N\n+7,1e3,yes\n5.5,x,maybe\n"
    _, good, rejected, con = load(tmp_path, text, t)
    assert good == [(5, 1.5, True), (5, -2.0, False), (7, 1000.0, True)]
    assert sorted(r[1:] for r in rejected) == [
        ("b", "maybe", "bad_type"),
        ("d", "x", "bad_type"),
        ("i", "5.5", "bad_type"),
    ]
    assert [r[0] for r in con.execute("DESCRIBE out").fetchall()] == ["i", "d", "b", "_extras", "_row_number"]
    assert [r[1] for r in con.execute("DESCRIBE out").fetchall()] == [
        "INTEGER",
        "DOUBLE",
        "BOOLEAN",
        "JSON",
        "BIGINT",
    ]


def test_dates(tmp_path):
    t = table(ColumnDef("d", "d", "date"))
    text = "d\n2024-01-02\n20240103\n04/01/2024\n2024-01-05T23:30:00+02:00\n2024-02-30\n01-02-2024\n"
    _, good, rejected, _ = load(tmp_path, text, t)
    assert [g[0] for g in good] == [dt.date(2024, 1, d) for d in (2, 3, 4, 5)]
    assert [(r[0], r[2], r[3]) for r in rejected] == [
        (5, "2024-02-30", "bad_date"),
        (6, "01-02-2024", "bad_date"),
    ]


def test_timestamps_normalised_to_utc(tmp_path):
    t = table(ColumnDef("ts", "ts", "timestamp"))
    values = [
        "2024-01-02T10:00:00Z",
        "2024-01-02 10:00:00",
        "2024-01-02T12:00:00+02:00",
        "2024-01-02T05:00:00-0500",
        "2024-01-02T10:00:00.250Z",
        "20240102100000",
        "02/01/2024 10:00",
        "2024-01-02",
        "not a time",
    ]
    _, good, rejected, _ = load(tmp_path, "ts\n" + "\n".join(values) + "\n", t)
    ten = dt.datetime(2024, 1, 2, 10, 0)
    assert [g[0] for g in good] == [
        ten,
        ten,
        ten,
        ten,
        ten.replace(microsecond=250000),
        ten,
        ten,
        dt.datetime(2024, 1, 2),
    ]
    assert rejected == [(9, "ts", "not a time", "bad_date")]


def test_session_timezone_does_not_change_results(tmp_path):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/New_York'")
    t = table(ColumnDef("ts", "ts", "timestamp"))
    _, good, _, _ = load(tmp_path, "ts\n2024-01-02T10:00:00Z\n2024-01-02 10:00:00\n", t, con=con)
    assert good == [(dt.datetime(2024, 1, 2, 10),), (dt.datetime(2024, 1, 2, 10),)]


def test_pattern_allowed_and_ranges(tmp_path):
    t = table(
        ColumnDef("code", "code", pattern=r"[A-Z]{2}\d{3}"),
        ColumnDef("sex", "sex", allowed=("M", "F", "U"), case="upper"),
        ColumnDef("age", "age", "integer", min="0", max="130"),
        ColumnDef("born", "born", "date", min="1900-01-01", max="today"),
        ColumnDef("grade", "grade", "integer", allowed=("1", "2", "3")),
    )
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    text = (
        "code,sex,age,born,grade\n"
        "AB123,m,40,1980-05-01,02\n"
        "ab123,X,-1,1850-01-01,4\n"
        f"AB1234,f,131,{future},1\n"
    )
    _, good, rejected, _ = load(tmp_path, text, t)
    assert good == [("AB123", "M", 40, dt.date(1980, 5, 1), 2)]
    got = {(r[0], r[1]): r[3] for r in rejected}
    assert got == {
        (2, "code"): "pattern_mismatch",
        (2, "sex"): "not_allowed",
        (2, "age"): "out_of_range",
        (2, "born"): "out_of_range",
        (2, "grade"): "not_allowed",
        (3, "code"): "pattern_mismatch",
        (3, "age"): "out_of_range",
        (3, "born"): "out_of_range",
    }


def test_a_row_with_several_problems_counts_once(tmp_path):
    t = table(ColumnDef("a", "a", "integer", required=True), ColumnDef("b", "b", "date"))
    result, _, rejected, _ = load(tmp_path, "a,b\nx,y\n1,2024-01-01\n", t)
    assert len(rejected) == 2 and (result.rows_received, result.rows_loaded, result.rows_rejected) == (
        2,
        1,
        1,
    )


def test_duplicate_keys_keep_latest_modified_then_last_row(tmp_path):
    t = table(
        ColumnDef("id", "id", required=True),
        ColumnDef("v", "v"),
        ColumnDef("m", "m", "timestamp"),
        key=("id",),
        modified="m",
    )
    text = "id,v,m\n1,old,2024-01-02\n1,newest,2024-01-03\n1,older,2024-01-01\n2,a,2024-01-01\n2,b,2024-01-01\n3,x,\n"
    _, good, rejected, _ = load(tmp_path, text, t)
    assert [g[:2] for g in good] == [("1", "newest"), ("2", "b"), ("3", "x")]
    assert [(r[0], r[1], r[2], r[3]) for r in rejected] == [
        (1, "id", "1", "duplicate_key"),
        (3, "id", "1", "duplicate_key"),
        (4, "id", "2", "duplicate_key"),
    ]


def test_a_composite_key_with_an_empty_part_repeats_like_any_other(tmp_path):
    """Keys that repeat are found by a hash aggregate before the window: a NULL part still matches."""
    t = table(
        ColumnDef("id", "id", required=True),
        ColumnDef("part", "part"),
        ColumnDef("v", "v"),
        key=("id", "part"),
    )
    _, good, rejected, _ = load(tmp_path, "id,part,v\n1,,a\n1,,b\n1,x,c\n2,x,d\n", t)
    assert [g[:3] for g in good] == [("1", None, "b"), ("1", "x", "c"), ("2", "x", "d")]
    assert [(r[0], r[1], r[3]) for r in rejected] == [(1, "id,part", "duplicate_key")]


def test_an_invalid_duplicate_does_not_displace_a_valid_row(tmp_path):
    t = table(ColumnDef("id", "id"), ColumnDef("n", "n", "integer"), key=("id",))
    _, good, rejected, _ = load(tmp_path, "id,n\n1,5\n1,bad\n", t)
    assert good == [("1", 5)] and [r[3] for r in rejected] == ["bad_type"]


def test_rejected_value_truncated_and_pii_never_in_messages(tmp_path):
    t = table(ColumnDef("ssn", "ssn", pii=True, pattern=r"\d+"), ColumnDef("a", "a", required=True))
    secret = "SECRET-" + "9" * 300
    _, _, rejected, _ = load(tmp_path, f"ssn,a\n{secret},x\n", t)
    kept = rejected[0][2]
    assert "SECRET" not in kept and kept.startswith("sha256:") and kept.endswith("(307 chars)"), kept
    import hashlib

    assert kept[7:23] == hashlib.sha256(secret.encode()).hexdigest()[:16], "matchable by someone who holds it"
    t2 = table(ColumnDef("code", "code", pattern=r"\d+"))
    _, _, plain, _ = load(tmp_path, f"code\n{'X' * 300}\n", t2)
    assert plain[0][2] == "X" * 200, "values of ordinary columns are kept, cut to 200 characters"
    p = tmp_path / "missing.csv"
    p.write_text(f"ssn\n{secret}\n")
    with pytest.raises(FileFault) as exc:
        load_file(duckdb.connect(), p, SourceDef("s", "v1", "csv", (t,)), t, "x")
    assert exc.value.code == "missing_required_column" and "SECRET" not in str(exc.value)


def test_ragged_rows_and_row_numbers_with_quoted_newlines(tmp_path):
    t = table(ColumnDef("a", "a"), ColumnDef("b", "b"))
    text = 'a,b\n"multi\nline",1\n\n2,3,4\n5\n6,"x\n\ny"\n'
    result, good, rejected, con = load(tmp_path, text, t)
    assert con.execute("SELECT _row_number FROM out ORDER BY 1").fetchall() == [(1,), (4,)]
    assert [(r[0], r[3]) for r in rejected] == [(2, "ragged_row"), (3, "ragged_row")]
    assert good[1] == ("6", "x\n\ny")


def test_a_file_of_several_read_buffers_keeps_its_row_numbers(tmp_path):
    """Over 8 MB, a file is read in parallel buffers: the row numbers, ragged rows, quoted and empty
    quoted fields must be what the serial read gives (and a quoted line break falls back to it)."""
    t = table(ColumnDef("a", "a"), ColumnDef("b", "b"), ColumnDef("c", "c"))
    lines = ["a,b,c"]
    ragged, quoted = [], []
    for i in range(1, 200_001):
        if i % 9_973 == 0:
            lines.append(f"{i},short")  # ragged
            ragged.append(i)
        elif i % 7_919 == 0:
            lines.append(f'{i},"","q""uote, comma"')
            quoted.append(i)
        else:
            lines.append(f"{i},{'v' * (i % 70 + 1)},{i * 7}")
    text = "\n".join(lines) + "\n"
    assert len(text) > 8 << 20  # more than one parallel read buffer
    result, good, rejected, con = load(tmp_path, text, t)
    assert [(r[0], r[3]) for r in rejected] == [(i, "ragged_row") for i in ragged]
    numbers = con.execute("SELECT _row_number, a FROM out ORDER BY _row_number").fetchall()
    assert all(n == int(a) for n, a in numbers) and len(numbers) == 200_000 - len(ragged)
    assert {r[0]: r for r in good}[str(quoted[0])] == (str(quoted[0]), None, 'q"uote, comma')
    # the same file with one quoted line break near its end: read serially, the numbers still hold
    multi = text + '200001,"two\nlines",x\n200002,y,z\n'
    result, good, rejected, con = load(tmp_path, multi, t, file_name="multi.csv")
    assert good[-2:] == [("200001", "two\nlines", "x"), ("200002", "y", "z")]
    assert con.execute("SELECT max(_row_number) FROM out").fetchone()[0] == 200_002


@pytest.mark.parametrize(
    "value",
    [
        " a",
        "a ",
        "\ta",
        "a\t",
        "\r\na\r\n",
        "\u00a0a",
        "a\u00a0",
        "a\u00a0b",
        "\ufeffa",
        "a\ufeff",
        "\ufeff a \u00a0",
        "\x01a",
        "a\x0b",
        " ",
        "\u00a0",
        "",
        "plain",
        "a b",
        "!a",
        "a!",
        "é ",
        " ü",
    ],
)
def test_trimming_equals_a_full_trim_of_every_value(value):
    """The cheap edge tests before trim() never skip a value trim() would change."""
    from medvault.platform.ingest.coerce import WHITESPACE_CHARS, clean_sql

    con = duckdb.connect()
    got = con.execute(
        f"SELECT {clean_sql(ColumnDef('a', 'a'), 'v')} FROM (SELECT ? AS v)", [value]
    ).fetchone()[0]
    assert got == (value.strip(WHITESPACE_CHARS) or None)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("a,b\n1\n2\n", "ragged_file"),
        ("a,a,b\n1,2,3\n", "duplicate_column"),
        ("a;b;c\n", "header_only"),
    ],
)
def test_file_level_faults_at_load(tmp_path, text, code):
    t = table(ColumnDef("a", "a"), ColumnDef("b", "b"))
    p = tmp_path / "f.csv"
    p.write_text(text)
    with pytest.raises(FileFault) as exc:
        load_file(duckdb.connect(), p, SourceDef("s", "v1", "csv", (t,)), t, "x")
    assert exc.value.code == code and "f.csv" in exc.value.message


def test_extra_columns_inferred(tmp_path):
    t = table(ColumnDef("a", "a"))
    text = "a,n,f,d,ts,flag,j,txt,empty\n1,1,1.5,2024-01-02,2024-01-02T10:00:00Z,yes,[1],x,\n2,-3,2,20240103,2024-01-02 11:00,no,{},y,\n"
    result, _, _, _ = load(tmp_path, text, t)
    assert result.extra_columns == {
        "n": "integer",
        "f": "float",
        "d": "date",
        "ts": "timestamp",
        "flag": "boolean",
        "j": "json",
        "txt": "text",
        "empty": "text",
    }


def test_infer_types_directly():
    con = duckdb.connect()
    con.execute("CREATE TABLE v AS SELECT * FROM (VALUES ('1', '1.5', 'a'), ('2', NULL, '3')) t(x, y, z)")
    assert infer_types(con, "v", {"x": "x", "y": "y", "z": "z"}) == {
        "x": "integer",
        "y": "float",
        "z": "text",
    }


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["1", "1.5"], "float"),  # integer then float: the first kind all values fit
        (["20240102", "2024-01-03"], "date"),  # an integer-looking date next to an ISO one
        (["2024-01-02", "2024-01-02T10:00:00"], "timestamp"),
        (["1", "yes"], "text"),
        (["9007199254740993", "1.5"], "text"),  # 16 digits: not a lossless float
        (["-0.5", ".25", "+3"], "float"),
        (["infinity", "NaN"], "text"),
        ([" ", None], "text"),
    ],
)
def test_infer_types_mixed_values(values, kind):
    con = duckdb.connect()
    con.execute("CREATE TABLE v (x VARCHAR)")
    con.executemany("INSERT INTO v VALUES (?)", [[x] for x in values])
    assert infer_types(con, "v", {"x": "x"}) == {"x": kind}


def extras(con, target="out"):
    return [
        json.loads(r[0]) if r[0] is not None else None
        for r in con.execute(f"SELECT _extras FROM {target} ORDER BY _row_number").fetchall()
    ]


def test_undeclared_columns_kept_typed_in_extras(tmp_path):
    t = table(ColumnDef("a", "a", "integer", required=True))
    text = (
        "a,visits,seen_on,code,note\n"
        "1,3,2024-01-02,7,x \n"
        "2,-4,03/01/2024,not a number,\n"
        "3, ,20240104,8,\n"
        ",5,2024-01-05,9,rejected row\n"
    )
    result, good, rejected, con = load(tmp_path, text, t)
    assert good == [(1,), (2,), (3,)]
    assert [(r[0], r[3]) for r in rejected] == [(4, "required_missing")]  # extras never reject a row
    assert result.extra_columns == {"visits": "integer", "seen_on": "date", "code": "text", "note": "text"}
    # integers are JSON numbers, dates ISO text, empty -> null, a text column keeps every value as read
    assert extras(con) == [
        {"visits": 3, "seen_on": "2024-01-02", "code": "7", "note": "x "},
        {"visits": -4, "seen_on": "2024-01-03", "code": "not a number", "note": None},
        {"visits": None, "seen_on": "2024-01-04", "code": "8", "note": None},
    ]
    described = {r[0]: r[1] for r in con.execute("DESCRIBE out").fetchall()}
    assert list(described) == ["a", "_extras", "_row_number"] and described["_extras"] == "JSON"
    raw = con.execute("SELECT CAST(_extras AS VARCHAR) FROM out WHERE a = 2").fetchall()[0][0]
    assert '"visits":-4' in raw and '"seen_on":"2024-01-03"' in raw  # a number, an ISO string


def test_extras_types_and_lossless_numbers(tmp_path):
    t = table(ColumnDef("a", "a"))
    text = (
        "a,f,ts,flag,j,mrn,big,zero\n"
        "1,1.5,2024-01-02T10:00:00+02:00,yes,[1],007,12345678901234567890,0\n"
        "2,2,2024-01-02 11:00,No,{},12,1,0.5\n"
    )
    result, _, _, con = load(tmp_path, text, t)
    assert result.extra_columns == {
        "f": "float",
        "ts": "timestamp",
        "flag": "boolean",
        "j": "json",
        "mrn": "text",  # leading zero: not an integer
        "big": "text",  # more digits than a double holds
        "zero": "float",
    }
    assert extras(con) == [
        {
            "f": 1.5,
            "ts": "2024-01-02T08:00:00",
            "flag": True,
            "j": [1],
            "mrn": "007",
            "big": "12345678901234567890",
            "zero": 0.0,
        },
        {"f": 2.0, "ts": "2024-01-02T11:00:00", "flag": False, "j": {}, "mrn": "12", "big": "1", "zero": 0.5},
    ]


def test_no_undeclared_columns_gives_null_extras(tmp_path):
    t = table(ColumnDef("a", "a"), ColumnDef("b", "b"))
    result, _, _, con = load(tmp_path, "a,b\n1,2\n3,4\n", t)
    assert result.extra_columns == {}
    assert con.execute("SELECT _extras IS NULL FROM out").fetchall() == [(True,), (True,)]
    assert con.execute("SELECT typeof(_extras) FROM out LIMIT 1").fetchall() == [("JSON",)]


def test_value_not_fitting_the_inferred_type_stays_text():
    # inference covers every readable row, so in load_file all values fit; a stale or forced type
    # must still not lose a value: it is kept as the string it was
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE v AS SELECT * FROM (VALUES (1, '5'), (2, 'five'), (3, '007'), (4, ''), (5, NULL)) t(r, n)"
    )
    extras_table(con, "v", "e", {"n": ("n", "n")}, {"n": "integer"}, row="r")
    got = [json.loads(r[0]) for r in con.execute("SELECT _extras FROM e ORDER BY r").fetchall()]
    assert got == [{"n": 5}, {"n": "five"}, {"n": "007"}, {"n": None}, {"n": None}]
    for kind in ("float", "date", "timestamp", "boolean", "json"):
        extras_table(con, "v", "e", {"n": ("n", "n")}, {"n": kind}, row="r")
        got = [json.loads(r[0])["n"] for r in con.execute("SELECT _extras FROM e ORDER BY r").fetchall()]
        assert got[1:] == ["five", "007", None, None], kind


def test_ndjson_undeclared_keys_in_extras(tmp_path):
    t = TableDef(
        "o", ("*.ndjson",), (ColumnDef("id", "_id", required=True), ColumnDef("fac", "facility.name"))
    )
    docs = [
        {
            "_id": {"$oid": "a1"},
            "n": {"$numberLong": "5"},
            "facility": {"name": "N", "code": "F1"},
            "when": {"$date": "2024-01-02T03:00:00Z"},
            "meta": {"k": [1, 2]},
        },
        {"_id": "a2", "n": 6, "facility": {"name": "S"}, "meta": None},
    ]
    con = duckdb.connect()
    p = tmp_path / "o.ndjson"
    p.write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    result = load_file(con, p, SourceDef("s", "v1", "ndjson", (t,)), t, "o")
    assert (result.rows_loaded, result.rows_rejected) == (2, 0)
    assert result.extra_columns == {
        "n": "integer",
        "facility.code": "text",
        "when": "timestamp",
        "meta": "json",
    }
    assert extras(con, "o") == [
        {"n": 5, "facility.code": "F1", "when": "2024-01-02T03:00:00", "meta": {"k": [1, 2]}},
        {"n": 6, "facility.code": None, "when": None, "meta": None},
    ]


def test_json_column_in_csv_and_dotted_path_into_it(tmp_path):
    t = table(ColumnDef("meta", "meta", "json"), ColumnDef("city", "meta.city"))
    text = 'meta\n"{""city"": ""Oslo""}"\nnot json\n'
    _, good, rejected, _ = load(tmp_path, text, t)
    assert good == [('{"city": "Oslo"}', "Oslo")]
    assert rejected[0][3] == "bad_type"


def test_parquet(tmp_path):
    p = tmp_path / "a.parquet"
    duckdb.connect().execute(
        f"COPY (SELECT i AS id, 'n' || i AS name, DATE '2024-01-01' + i::INTEGER AS d, {{'name': 'F' || i}} AS facility "
        f"FROM range(3) r(i)) TO '{p}' (FORMAT parquet)"
    )
    t = TableDef(
        "t",
        ("*.parquet",),
        (ColumnDef("id", "id", "integer"), ColumnDef("d", "d", "date"), ColumnDef("fac", "facility.name")),
        key=("id",),
    )
    con = duckdb.connect()
    result = load_file(con, p, SourceDef("s", "v1", "parquet", (t,)), t, "pq")
    assert (result.rows_loaded, result.extra_columns) == (3, {"name": "text"})
    assert con.execute("SELECT * EXCLUDE (_extras) FROM pq ORDER BY id").fetchall()[1] == (
        1,
        dt.date(2024, 1, 2),
        "F1",
        2,
    )
    assert con.execute("SELECT _extras FROM pq ORDER BY id").fetchall()[1] == ('{"name":"n1"}',)


def test_profile_hides_pii_values(tmp_path):
    t = table(
        ColumnDef("pid", "pid", pii=True),
        ColumnDef("n", "n", "integer"),
        ColumnDef("d", "d", "date"),
        ColumnDef("acc", "acc"),
    )
    _, _, _, con = load(tmp_path, "pid,n,d,acc\nP1,3,2024-01-02,ACC123\nP2,,2024-01-05,A9\nP2,7,,\n", t)
    small = profile(con, "out", t)
    assert small["d"] == {"type": "DATE", "nulls": 1, "distinct": 2, "range": "withheld"}, "3 rows: no ranges"
    assert "2024-01-02" not in repr(small)
    prof = profile(con, "out", t, min_rows=1)
    assert prof["pid"] == {"type": "VARCHAR", "nulls": 0, "distinct": 2, "pii": True}
    assert "P1" not in repr(prof) and "P2" not in repr(prof)
    assert prof["n"] == {"type": "INTEGER", "nulls": 1, "distinct": 2, "min": "3", "max": "7"}
    assert prof["d"]["min"] == "2024-01-02" and prof["d"]["max"] == "2024-01-05"
    # text columns show lengths, never values (an unmarked id column can still identify a patient)
    assert prof["acc"] == {"type": "VARCHAR", "nulls": 1, "distinct": 2, "min_length": 2, "max_length": 6}
    assert "ACC123" not in repr(prof)


def test_no_intermediate_tables_or_functions_left(tmp_path):
    t = table(ColumnDef("a", "a"))
    _, _, _, con = load(tmp_path, "a\n1\n", t)
    names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    names |= {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    assert names == {"out", "out__checked", "out__rejected"}, "the view, the rows it reads, the rejects"
    assert not con.execute("SELECT 1 FROM duckdb_functions() WHERE function_name LIKE 'medvault%'").fetchall()
    drop_loaded(con, "out", [])
    assert not con.execute(
        "SELECT 1 FROM duckdb_tables() UNION ALL SELECT 1 FROM duckdb_views() WHERE NOT internal"
    ).fetchall()


def test_loading_twice_replaces_the_tables(tmp_path):
    t = table(ColumnDef("a", "a"))
    _, _, _, con = load(tmp_path, "a\n1\n2\n", t)
    _, good, _, _ = load(tmp_path, "a\n3\n", t, con=con)
    assert good == [("3",)]


def test_bad_rule_literal_is_a_rule_error(tmp_path):
    t = table(ColumnDef("d", "d", "date", min="yesterday-ish"))
    with pytest.raises(ValueError, match="min"):
        load(tmp_path, "d\n2024-01-01\n", t)


@pytest.mark.parametrize(
    ("policy", "kept"),
    [("keep", "X1"), ("hash", "sha256:"), ("none", None)],
)
def test_what_rejected_rows_keep_of_ordinary_values_is_configurable(tmp_path, policy, kept):
    t = table(ColumnDef("code", "code", pattern=r"\d+"), ColumnDef("k", "k"), key=("k",))
    p = tmp_path / "data.csv"
    p.write_text("code,k\nX1,a\n5,b\n6,b\n")  # a pattern miss, then a duplicate key
    con = duckdb.connect()
    result = load_file(con, p, SourceDef("s", "v1", "csv", (t,)), t, "o", rejected_values=policy)
    rows = con.execute('SELECT "column", value, reason_code FROM o__rejected ORDER BY row_number').fetchall()
    assert result.rows_rejected == 2 and [r[2] for r in rows] == ["pattern_mismatch", "duplicate_key"]
    for _, value, _ in rows:
        if kept is None:
            assert value is None
        elif kept == "sha256:":
            assert value.startswith("sha256:") and "X1" not in value and not value.startswith("b")
        else:
            assert value in ("X1", "b")


def test_the_rejected_values_setting_is_checked():
    from medvault.platform.config import Settings, SettingsError

    assert Settings.from_env({"MEDVAULT_REJECTED_VALUES": "Hash"}).rejected_values == "hash"
    with pytest.raises(SettingsError, match="MEDVAULT_REJECTED_VALUES must be one of keep, hash, none"):
        Settings.from_env({"MEDVAULT_REJECTED_VALUES": "all"})


@pytest.mark.parametrize(
    "error", [duckdb.InterruptException, duckdb.OutOfMemoryException, duckdb.IOException]
)
def test_a_stop_during_the_parallel_read_is_not_read_again(tmp_path, error):
    """An operator's stop, memory or the disk failing the parallel read stops the load (the run is
    retried); only a read DuckDB refuses in parallel is read again serially."""
    from medvault.platform.ingest.readers import read_csv
    from medvault.platform.ingest.sniff import sniff

    path = tmp_path / "a.csv"
    path.write_text("a,b\n1,2\n")
    con = duckdb.connect()
    reads = []

    class Failing:
        def execute(self, sql, *args):
            if "read_csv(" in sql:
                reads.append("parallel = true" in sql)
                raise error("stopped")
            return con.execute(sql, *args)

    with pytest.raises(error):
        read_csv(Failing(), path, sniff(path, "a.csv"), "a.csv", "raw")
    assert reads == [True], "not read again serially"

    class Refused(Failing):
        def execute(self, sql, *args):
            if "read_csv(" in sql and "parallel = true" in sql:
                reads.append(True)
                raise duckdb.InvalidInputException("The parallel scanner does not support null_padding ...")
            return con.execute(sql, *args)

    reads.clear()
    fields, _ = read_csv(Refused(), path, sniff(path, "a.csv"), "a.csv", "raw")
    assert reads == [True] and [f.name for f in fields] == ["a", "b"]
    assert con.execute("SELECT c1, c2 FROM raw").fetchall() == [("1", "2")]

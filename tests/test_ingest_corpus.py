"""Every corpus case through sniff -> identify -> load_file reaches its expected outcome and code."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import pytest

from medvault.platform.ingest import FileFault, identify, load_file, sniff
from tests.corpus.build import build_corpus, corpus_rules

with tempfile.TemporaryDirectory() as _tmp:
    CASE_NAMES = [c.name for c in build_corpus(Path(_tmp))]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    return {c.name: (c, folder / c.file_name) for c in build_corpus(folder)}


def run(path: Path, name: str, con):
    """(outcome, codes, result, identification) for one file, as the pipeline would run it."""
    rules = corpus_rules()
    try:
        sniffed = sniff(path, name)
        ident = identify(path, name, rules, sniffed)
        src = rules.source(ident.system, ident.version)
        result = load_file(con, path, src, src.table(ident.table), "t", sniffed=sniffed, name=name)
    except FileFault as fault:
        return "quarantined", {fault.code}, fault, None
    codes = {r[0] for r in con.execute("SELECT DISTINCT reason_code FROM t__rejected").fetchall()}
    return ("row_rejected" if result.rows_rejected else "loaded"), codes, result, ident


@pytest.mark.parametrize("case_name", CASE_NAMES)
def test_corpus_case(corpus, case_name):
    case, path = corpus[case_name]
    con = duckdb.connect()
    outcome, codes, result, _ = run(path, case.file_name, con)
    assert outcome == case.expect, (case_name, outcome, codes, getattr(result, "message", result))
    if case.code:
        assert case.code in codes, (case_name, codes)
    if outcome != "quarantined":
        assert result.rows_received == result.rows_loaded + result.rows_rejected
        assert con.execute("SELECT count(*) FROM t").fetchall()[0][0] == result.rows_loaded
    else:
        assert case.file_name in result.message  # the message names the file


def test_corpus_covers_the_brief():
    required = {
        "empty_whitespace", "header_only", "wrong_delimiter_colon", "utf8_bom", "latin1", "utf16", "missing_required",
        "extra_column", "unknown_system", "ragged_rows", "quoted_newlines", "huge_field", "bad_dates", "duplicate_keys",
        "truncated_gz", "zero_byte", "binary_garbage", "malformed_ndjson", "ndjson_type_drift", "numbers_as_text",
    }  # fmt: skip
    assert required <= set(CASE_NAMES)


def test_corpus_details(corpus):
    con = duckdb.connect()

    def load(name):
        case, path = corpus[name]
        return run(path, case.file_name, con)

    _, _, result, ident = load("good_v2")
    assert (ident.system, ident.version) == ("harmony_pacs", "v2")
    _, _, result, ident = load("good_v1")
    assert (ident.system, ident.version) == ("harmony_pacs", "v1")
    _, _, result, ident = load("renamed_file")
    assert ident.table == "studies" and any("header" in r for r in ident.reasons)
    _, _, result, _ = load("latin1")
    assert result.encoding == "cp1252"
    assert con.execute("SELECT station_name FROM t WHERE study_uid = '1.2.826.0.1.99'").fetchall() == [
        ("Station Gen\u00e8ve \u00e9t\u00e9",)
    ]
    _, _, result, _ = load("utf16")
    assert result.encoding == "utf-16-le" and result.rows_loaded == 3
    _, _, result, _ = load("late_cp1252")
    assert result.encoding == "cp1252"
    _, _, result, _ = load("extra_column")
    assert result.extra_columns == {"Operator": "integer"}
    _, _, result, _ = load("quoted_newlines")
    rows = con.execute("SELECT _row_number, station_name FROM t ORDER BY 1").fetchall()
    assert [r[0] for r in rows] == [1, 2, 3] and rows[0][1] == 'Station\nwith, newline "quoted"'
    _, _, result, _ = load("huge_field")
    assert con.execute("SELECT max(length(station_name)) FROM t").fetchall()[0][0] == 2_000_000
    _, _, result, _ = load("ragged_rows")
    rejected = con.execute("SELECT row_number, reason_code FROM t__rejected ORDER BY 1").fetchall()
    assert rejected == [(2, "ragged_row"), (3, "ragged_row")]
    _, _, result, _ = load("bad_dates")
    rejected = con.execute("SELECT row_number, reason_code, value FROM t__rejected ORDER BY 1").fetchall()
    assert rejected == [(2, "bad_date", "2024-02-30"), (4, "bad_date", "yesterday")]
    assert (
        con.execute("SELECT study_date FROM t WHERE _row_number = 3").fetchall()[0][0].isoformat()
        == "2024-03-04"
    )
    _, _, result, _ = load("duplicate_keys")
    assert con.execute("SELECT row_number FROM t__rejected").fetchall() == [(1,)]  # row 4 is newer
    _, _, result, _ = load("malformed_ndjson")
    assert con.execute("SELECT row_number, reason_code FROM t__rejected").fetchall() == [
        (3, "malformed_json")
    ]
    assert result.rows_loaded == 4 and result.children == {"order_items": 8}
    _, _, result, _ = load("ndjson_type_drift")
    got = con.execute("SELECT order_id, order_no, total, created_at FROM t ORDER BY _row_number").fetchall()
    assert [g[1] for g in got] == [1001, 1002, 1003, 1004]
    assert [g[2] for g in got] == [12.5, 7.25, 3.0, 12.5]
    assert str(got[1][3]) == "2024-01-02 09:00:00"  # +01:00 normalised to UTC
    assert got[3][0] == "plain-id-4" and got[0][0] == "65a1b2c3d4e5f6a7b8c90001"
    children = con.execute(
        "SELECT order_id, line_no, item_code, qty FROM t__order_items ORDER BY _row_number, line_no"
    ).fetchall()
    assert ("65a1b2c3d4e5f6a7b8c90003", 1, "OCT", None) in children  # array of strings
    assert ("plain-id-4", 1, "OCT", 1) in children  # single object instead of array
    _, _, result, _ = load("bad_numbers_json")
    assert set(con.execute("SELECT reason_code FROM t__rejected").fetchall()) == {
        ("bad_type",),
        ("out_of_range",),
    }

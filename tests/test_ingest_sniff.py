"""Sniffing: encodings, BOMs, delimiters, compression, formats and file-level faults."""

from __future__ import annotations

import codecs
import gzip

import pytest

from medvault.platform.ingest import FileFault, sniff
from medvault.platform.ingest.sniff import is_dicom

HEADER = "id,name,visit_date"
ROWS = "1,Ann,2024-01-02\n2,Bob,2024-01-03\n"


def write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return p


def fault(path, name=None):
    with pytest.raises(FileFault) as exc:
        sniff(path, name)
    return exc.value


@pytest.mark.parametrize(
    ("delimiter", "name"), [(",", "a.csv"), (";", "a.csv"), ("\t", "a.tsv"), ("|", "a.txt"), ("\t", "a.csv")]
)
def test_delimiters(tmp_path, delimiter, name):
    text = (HEADER + "\n" + ROWS).replace(",", delimiter)
    s = sniff(write(tmp_path, name, text))
    assert (s.format, s.delimiter, s.header, s.sample_rows) == (
        "csv",
        delimiter,
        ["id", "name", "visit_date"],
        2,
    )


def test_commas_inside_quotes_do_not_fool_the_delimiter(tmp_path):
    text = 'id;note\n1;"a, b, c, d"\n2;"e, f, g"\n'
    assert sniff(write(tmp_path, "a.csv", text)).delimiter == ";"


def test_header_is_trimmed_and_unquoted(tmp_path):
    s = sniff(write(tmp_path, "a.csv", ' "id" , Name ,visit_date\n1,a,b\n'))
    assert s.header == ["id", "Name", "visit_date"]


@pytest.mark.parametrize(
    ("prefix", "codec", "encoding", "bom"),
    [
        (b"", "utf-8", "utf-8", False),
        (codecs.BOM_UTF8, "utf-8", "utf-8", True),
        (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le", True),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be", True),
        (b"", "utf-16-le", "utf-16-le", False),
        (b"", "cp1252", "cp1252", False),
    ],
)
def test_encodings(tmp_path, prefix, codec, encoding, bom):
    text = "id,name\n1,Jos\u00e9 \u20ac\n"
    if codec == "utf-8" and not prefix:
        text = "id,name\n1,Jos\u00e9 \u4e2d\n"
    s = sniff(write(tmp_path, "a.csv", prefix + text.encode(codec)))
    assert (s.encoding, s.bom, s.header) == (encoding, bom, ["id", "name"])


def test_latin1_bytes_undefined_in_cp1252(tmp_path):
    s = sniff(write(tmp_path, "a.csv", b"id,name\n1,a\x81b\n"))
    assert s.encoding == "latin-1"


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("a.csv", b"", "empty_file"),
        ("a.csv", b"\n \n", "empty_file"),
        ("a.csv", codecs.BOM_UTF8, "empty_file"),
        ("a.csv", (HEADER + "\n").encode(), "header_only"),
        ("a.csv", ROWS.encode(), "no_header"),
        ("a.csv", b"\nid,name\n1,2\n", "no_header"),
        ("a.csv", b"id,name\x00\x01\x02\x03garbage\xff\xfe\x00\x00" * 40, "undetectable_encoding"),
        ("a.csv", bytes(range(256)) * 8, "undetectable_encoding"),
        ("a.csv", b"PK\x03\x04rest", "binary_file"),
        ("a.csv", b"%PDF-1.7 rest", "binary_file"),
        ("a.json", b"hello", "not_json"),
        ("a.json", b"[1, 2]", "not_json"),
        ("a.json", b"[]", "zero_rows"),
        ("a.json", b'[{"a": 1}, {"a": ', "not_json"),
        ("a.ndjson", b"nope\nnever\n", "not_json"),
        ("a.csv", b"a;b;c\n1,2,3\n4,5,6\n7,8,9\n", "wrong_delimiter"),
    ],
)
def test_file_faults(tmp_path, name, data, code):
    f = fault(write(tmp_path, name, data))
    assert f.code == code
    assert name in f.message


def test_gzip(tmp_path):
    p = write(tmp_path, "a.csv.gz", gzip.compress((HEADER + "\n" + ROWS).encode()))
    s = sniff(p)
    assert (s.compression, s.format, s.delimiter, s.sample_rows) == ("gzip", "csv", ",", 2)
    # gzip detected by magic even without the extension
    assert sniff(write(tmp_path, "b.csv", p.read_bytes())).compression == "gzip"


def test_truncated_and_corrupt_gzip(tmp_path):
    data = gzip.compress((HEADER + "\n" + ROWS * 500).encode())
    assert fault(write(tmp_path, "a.csv.gz", data[:-20])).code == "truncated_archive"
    assert fault(write(tmp_path, "b.csv.gz", data[:10] + b"\x00" * 50)).code == "truncated_archive"
    assert fault(write(tmp_path, "c.csv.gz", gzip.compress(b""))).code == "empty_file"


def test_json_layouts(tmp_path):
    nd = sniff(write(tmp_path, "a.ndjson", b'{"a": 1, "f": {"name": "x"}}\n{"b": {"$oid": "1"}}\n'))
    assert (nd.format, nd.json_layout, nd.header) == ("ndjson", "lines", ["a", "f.name", "b"])
    arr = sniff(write(tmp_path, "a.json", b'[\n {"a": 1},\n {"a": 2}\n]'))
    assert (arr.format, arr.json_layout, arr.sample_rows) == ("json", "array", 2)
    pretty = sniff(write(tmp_path, "p.json", b'{\n "a": 1\n}\n{\n "a": 2\n}\n'))
    assert (pretty.format, pretty.json_layout) == ("json", "concatenated")
    # JSON content without a JSON extension
    assert sniff(write(tmp_path, "export", b'{"a": 1}\n')).format == "ndjson"


def test_parquet_and_dicom(tmp_path):
    import duckdb

    p = tmp_path / "a.parquet"
    duckdb.connect().execute(f"COPY (SELECT 1 AS id, 'x' AS name) TO '{p}' (FORMAT parquet)")
    s = sniff(p)
    assert (s.format, s.header, s.sample_rows) == ("parquet", ["id", "name"], 1)
    dcm = write(tmp_path, "x.dcm", b"\x00" * 128 + b"DICM" + b"\x02\x00\x00\x00UL\x04\x00" + b"\x00" * 8)
    assert sniff(dcm).format == "dicom"
    assert is_dicom(b"\x02\x00\x00\x00UL\x04\x00\x00\x00")  # bare group-0002 start
    assert not is_dicom(b"id,name\n1,2\n")
    assert fault(write(tmp_path, "b.parquet", b"PAR1garbage")).code == "unreadable_file"


def test_huge_first_field_does_not_break_sniffing(tmp_path):
    text = HEADER + '\n1,"' + "x" * 3_000_000 + '",2024-01-01\n2,b,2024-01-02\n'
    s = sniff(write(tmp_path, "a.csv", text))
    assert (s.delimiter, s.header, s.complete) == (",", ["id", "name", "visit_date"], False)

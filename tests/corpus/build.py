"""Build the bad-input corpus in a temporary folder: `build_corpus(dir) -> list[Case]`.

Each case is one file as a site might really send it, with the outcome the ingestion engine must
reach through `identify` + `load_file`: `quarantined` (a FileFault with `code`), `row_rejected` (loads,
with at least one rejected row of reason `code`) or `loaded` (no rejected rows; `code` is None).
`corpus_rules()` gives the small rule set the corpus is identified against.
"""

from __future__ import annotations

import codecs
import gzip
import json
from dataclasses import dataclass
from pathlib import Path

from medvault.platform.rules.models import ChildDef, ColumnDef, Rules, SourceDef, TableDef, VaultModel

PACS_V1_HEADER = "StudyInstanceUID,PatientID,StudyDate,Modality,StationName,LastUpdate"
PACS_V2_HEADER = PACS_V1_HEADER + ",DepartmentCode"


@dataclass(frozen=True)
class Case:
    name: str
    file_name: str
    expect: str  # quarantined | row_rejected | loaded
    code: str | None = None
    note: str = ""


def corpus_rules() -> Rules:
    """PACS v1/v2 (CSV, v2 distinguished by DepartmentCode), HIS v1 (NDJSON), DICOM v1."""
    pacs_cols = (
        ColumnDef("study_uid", "StudyInstanceUID", required=True, pattern=r"[0-9.]+"),
        ColumnDef("patient_id", "PatientID", required=True, pii=True),
        ColumnDef("study_date", "StudyDate", "date", required=True, min="1990-01-01", max="today"),
        ColumnDef("modality", "Modality", allowed=("OP", "OPT", "CT", "MR"), case="upper"),
        ColumnDef("station_name", "StationName"),
        ColumnDef("updated_at", "LastUpdate", "timestamp"),
    )
    v1 = TableDef("studies", ("studies_*.csv", "pacs_studies*.csv"), pacs_cols, ("study_uid",), "updated_at")
    v2 = TableDef(
        "studies",
        ("studies_*.csv", "pacs_studies*.csv"),
        (*pacs_cols, ColumnDef("department_code", "DepartmentCode")),
        ("study_uid",),
        "updated_at",
        ("DepartmentCode",),
    )
    his = TableDef(
        "orders",
        ("orders*.ndjson", "orders*.json", "orders*.parquet"),
        (
            ColumnDef("order_id", "_id", required=True),
            ColumnDef("patient_id", "patientId", required=True, pii=True),
            ColumnDef("order_no", "orderNo", "bigint"),
            ColumnDef("total", "total", "double", min="0"),
            ColumnDef("created_at", "created", "timestamp"),
            ColumnDef("facility_name", "facility.name"),
            ColumnDef("items", "items", "json"),
        ),
        ("order_id",),
        "created_at",
        children=(
            ChildDef(
                "order_items",
                "items",
                (ColumnDef("item_code", "code", required=True), ColumnDef("qty", "qty", "integer")),
            ),
        ),
    )
    sources = (
        SourceDef("harmony_pacs", "v1", "csv", (v1,)),
        SourceDef("harmony_pacs", "v2", "csv", (v2,)),
        SourceDef("karexpert_his", "v1", "ndjson", (his,)),
        SourceDef("karexpert_his", "v1p", "parquet", (his,)),
        SourceDef("dicom", "v1", "dicom", (TableDef("instances", ("*.dcm",), ()),)),
    )
    return Rules(sites={}, sources=sources, vault=VaultModel())


def _pacs_rows(n: int, start: int = 1, v2: bool = False) -> list[str]:
    rows = []
    for i in range(start, start + n):
        row = f"1.2.826.0.1.{i},PAT{i:05d},2024-03-{(i % 28) + 1:02d},OP,Station {i % 3},2024-04-01T10:00:00Z"
        rows.append(row + (",OPH" if v2 else ""))
    return rows


def _csv(header: str, rows: list[str], newline: str = "\n") -> str:
    return newline.join([header, *rows]) + newline


def _order(i: int, **over) -> dict:
    doc = {
        "_id": {"$oid": f"65a1b2c3d4e5f6a7b8c9{i:04d}"},
        "patientId": f"PAT{i:05d}",
        "orderNo": {"$numberLong": str(1000 + i)},
        "total": {"$numberDouble": "12.5"},
        "created": {"$date": {"$numberLong": str(1_700_000_000_000 + i * 1000)}},
        "facility": {"name": "Eye Clinic North"},
        "items": [{"code": "OCT", "qty": {"$numberInt": "1"}}, {"code": "VF", "qty": 2}],
    }
    doc.update(over)
    return doc


def build_corpus(folder: Path) -> list[Case]:
    """Write every corpus file into `folder` and return the cases."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []

    def add(case: Case, data: bytes | str) -> None:
        path = folder / case.file_name
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        cases.append(case)

    good = _csv(PACS_V1_HEADER, _pacs_rows(5))
    add(Case("good_v1", "studies_good.csv", "loaded"), good)
    add(
        Case("good_v2", "studies_v2.csv", "loaded", note="v2 by DepartmentCode"),
        _csv(PACS_V2_HEADER, _pacs_rows(5, v2=True)),
    )
    add(Case("zero_byte", "studies_zero.csv", "quarantined", "empty_file"), b"")
    add(Case("empty_whitespace", "studies_blank.csv", "quarantined", "empty_file"), "\n  \n\r\n")
    add(Case("header_only", "studies_header.csv", "quarantined", "header_only"), PACS_V1_HEADER + "\n")
    add(
        Case("no_header", "studies_noheader.csv", "quarantined", "no_header"), "\n".join(_pacs_rows(3)) + "\n"
    )
    add(
        Case("wrong_delimiter_colon", "studies_colon.csv", "quarantined", "wrong_delimiter"),
        _csv(PACS_V1_HEADER.replace(",", ":"), [r.replace(",", ":") for r in _pacs_rows(3)]),
    )
    add(
        Case(
            "wrong_delimiter_mixed", "studies_mixed.csv", "quarantined", "wrong_delimiter", "header ; rows ,"
        ),
        _csv(PACS_V1_HEADER.replace(",", ";"), _pacs_rows(4)),
    )
    add(
        Case("semicolon", "studies_semicolon.csv", "loaded", note="detected delimiter"),
        _csv(PACS_V1_HEADER.replace(",", ";"), [r.replace(",", ";") for r in _pacs_rows(4)]),
    )
    add(
        Case("tab_tsv", "studies_tab.tsv", "loaded"),
        _csv(PACS_V1_HEADER.replace(",", "\t"), [r.replace(",", "\t") for r in _pacs_rows(4)]),
    )
    add(
        Case("pipe_crlf", "studies_pipe.csv", "loaded"),
        _csv(PACS_V1_HEADER.replace(",", "|"), [r.replace(",", "|") for r in _pacs_rows(4)], "\r\n"),
    )
    add(Case("utf8_bom", "studies_bom.csv", "loaded"), codecs.BOM_UTF8 + good.encode("utf-8"))
    latin = _csv(
        PACS_V1_HEADER,
        [
            *_pacs_rows(2),
            "1.2.826.0.1.99,PAT00099,2024-03-02,OP,Station Gen\u00e8ve \u00e9t\u00e9,2024-04-01T10:00:00Z",
        ],
    )
    add(Case("latin1", "studies_latin1.csv", "loaded", note="cp1252"), latin.encode("cp1252"))
    add(Case("utf16", "studies_utf16.csv", "loaded"), codecs.BOM_UTF16_LE + latin.encode("utf-16-le"))
    add(
        Case("missing_required", "studies_missing.csv", "quarantined", "missing_required_column"),
        _csv(
            "StudyInstanceUID,StudyDate,Modality,StationName,LastUpdate",
            [",".join(r.split(",")[:1] + r.split(",")[2:]) for r in _pacs_rows(3)],
        ),
    )
    add(
        Case("extra_column", "studies_extra.csv", "loaded", note="Operator reported as extra"),
        _csv(PACS_V1_HEADER + ",Operator", [r + f",{i}" for i, r in enumerate(_pacs_rows(3))]),
    )
    add(
        Case("unknown_system", "labresults_2024.csv", "quarantined", "unknown_source"),
        _csv("SampleID,Analyte,Value,Unit", ["S1,HBA1C,6.1,%", "S2,LDL,3.2,mmol/L"]),
    )
    add(
        Case("renamed_file", "export (3).csv", "loaded", note="identified by header only"),
        good,
    )
    ragged = _pacs_rows(4)
    ragged[1] = ragged[1] + ",surplus"
    ragged[2] = ",".join(ragged[2].split(",")[:3])
    add(Case("ragged_rows", "studies_ragged.csv", "row_rejected", "ragged_row"), _csv(PACS_V1_HEADER, ragged))
    add(
        Case("all_ragged", "studies_allragged.csv", "quarantined", "ragged_file"),
        _csv(PACS_V1_HEADER, [",".join(r.split(",")[:3]) for r in _pacs_rows(4)]),
    )
    quoted = _pacs_rows(3)
    quoted[0] = quoted[0].replace("Station 1", '"Station\nwith, newline ""quoted"""')
    add(Case("quoted_newlines", "studies_quoted.csv", "loaded"), _csv(PACS_V1_HEADER, quoted))
    huge = _pacs_rows(2)
    huge[0] = huge[0].replace("Station 1", '"' + "x" * 2_000_000 + '"')
    add(Case("huge_field", "studies_huge.csv", "loaded", note="2 MB field"), _csv(PACS_V1_HEADER, huge))
    dates = _pacs_rows(4)
    dates[1] = dates[1].replace("2024-03-03", "2024-02-30")
    dates[2] = dates[2].replace("2024-03-04", "04/03/2024")  # DD/MM/YYYY is accepted
    dates[3] = dates[3].replace("2024-03-05", "yesterday")
    add(Case("bad_dates", "studies_dates.csv", "row_rejected", "bad_date"), _csv(PACS_V1_HEADER, dates))
    dup = _pacs_rows(3) + [_pacs_rows(1)[0].replace("2024-04-01T10:00:00Z", "2024-04-02T10:00:00Z")]
    add(
        Case("duplicate_keys", "studies_dups.csv", "row_rejected", "duplicate_key"), _csv(PACS_V1_HEADER, dup)
    )
    add(Case("gzip_ok", "studies_gz.csv.gz", "loaded"), gzip.compress(good.encode()))
    truncated = gzip.compress(_csv(PACS_V1_HEADER, _pacs_rows(2000)).encode())
    add(
        Case("truncated_gz", "studies_trunc.csv.gz", "quarantined", "truncated_archive"),
        truncated[: len(truncated) // 2],
    )
    garbage = bytes((i * 7919 + 13) % 256 for i in range(4096))
    add(Case("binary_garbage", "studies_garbage.csv", "quarantined", "undetectable_encoding"), garbage)
    add(Case("zip_as_csv", "studies_zip.csv", "quarantined", "binary_file"), b"PK\x03\x04" + b"\x00" * 100)
    # Past the 1 MB sample: an ASCII start decides UTF-8, a later cp1252 byte switches the file to cp1252;
    # a start with real UTF-8 characters followed by an invalid byte is a mixed-encoding fault.
    late = "1.2.826.0.1.99999,PAT99999,2024-03-02,OP,Gen\u00e8ve,2024-04-01T10:00:00Z\n"
    bulk = _csv(PACS_V1_HEADER, _pacs_rows(16000))
    add(
        Case("late_cp1252", "studies_latecp.csv", "loaded", note="ASCII sample, cp1252 later"),
        bulk.encode() + late.encode("cp1252"),
    )
    utf8_start = bulk.replace("Station 0", "Station \u00e9").encode("utf-8")
    add(
        Case("mixed_encoding", "studies_mixedenc.csv", "quarantined", "undecodable_bytes"),
        utf8_start + late.encode("cp1252"),
    )

    lines = [json.dumps(_order(i)) for i in range(1, 5)]
    add(Case("ndjson_ok", "orders_ok.ndjson", "loaded"), "\n".join(lines) + "\n")
    bad_lines = [*lines[:2], '{"_id": {"$oid": "x"}, "patientId": "P", "total": ', *lines[2:]]
    add(
        Case("malformed_ndjson", "orders_malformed.ndjson", "row_rejected", "malformed_json"),
        "\n".join(bad_lines) + "\n",
    )
    drift = [
        json.dumps(_order(1)),
        json.dumps(_order(2, orderNo="1002", total="7.25", created="2024-01-02T10:00:00+01:00")),
        json.dumps(_order(3, orderNo=1003, total=3, items=["OCT", "VF"])),
        json.dumps(_order(4, _id="plain-id-4", items={"code": "OCT", "qty": "1"})),
    ]
    add(
        Case(
            "ndjson_type_drift",
            "orders_drift.ndjson",
            "loaded",
            note="$numberLong, text numbers, array shapes",
        ),
        "\n".join(drift) + "\n",
    )
    as_text = [
        json.dumps(_order(i, orderNo=str(1000 + i), total="12.50", items=[{"code": "OCT", "qty": "2"}]))
        for i in range(1, 4)
    ]
    add(Case("numbers_as_text", "orders_numtext.ndjson", "loaded"), "\n".join(as_text) + "\n")
    bad_numbers = [
        json.dumps(_order(1)),
        json.dumps(_order(2, total="twelve")),
        json.dumps(_order(3, total=-5)),
    ]
    add(
        Case("bad_numbers_json", "orders_badnum.ndjson", "row_rejected", "bad_type"),
        "\n".join(bad_numbers) + "\n",
    )
    add(
        Case("json_array", "orders_array.json", "loaded"),
        json.dumps([_order(i) for i in range(1, 4)], indent=2),
    )
    add(Case("not_json", "orders_text.json", "quarantined", "not_json"), "this is not json\n")
    add(Case("json_zero_rows", "orders_empty.json", "quarantined", "zero_rows"), "[]")
    add(Case("ndjson_gz", "orders_gz.ndjson.gz", "loaded"), gzip.compress(("\n".join(lines) + "\n").encode()))
    return cases

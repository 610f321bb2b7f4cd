"""Identification: name narrows, header decides; v1 vs v2, renamed files, ambiguity, unknown with candidates."""

from __future__ import annotations

import pytest

from medvault.platform.ingest import FileFault, identify
from medvault.platform.rules.models import ColumnDef, Rules, SourceDef, TableDef, VaultModel


def cols(*names, required=()):
    return tuple(ColumnDef(n.lower(), n, required=n in required) for n in names)


BASE = ("StudyUID", "PatientID", "StudyDate", "Modality")


def rules(*extra: SourceDef) -> Rules:
    v1 = TableDef("studies", ("studies_*.csv",), cols(*BASE, required=("StudyUID", "PatientID")))
    v2 = TableDef(
        "studies",
        ("studies_*.csv",),
        cols(*BASE, "Department", required=("StudyUID", "PatientID")),
        distinguishing=("Department",),
    )
    stations = TableDef(
        "stations", ("stations*.csv",), cols("StationName", "AETitle", "Department", required=("AETitle",))
    )
    sources = (
        SourceDef("pacs", "v1", "csv", (v1, stations)),
        SourceDef("pacs", "v2", "csv", (v2,)),
        SourceDef("dicom", "v1", "dicom", (TableDef("instances", ("*.dcm",), ()),)),
        *extra,
    )
    return Rules(sites={}, sources=sources, vault=VaultModel())


def csv(tmp_path, name, header, rows=("1",)):
    p = tmp_path / name
    width = len(header.split(","))
    p.write_text(header + "\n" + "\n".join(",".join([r] * width) for r in rows) + "\n")
    return p


def test_v1_and_v2_by_distinguishing_columns(tmp_path):
    r = rules()
    one = identify(
        csv(tmp_path, "studies_1.csv", "StudyUID,PatientID,StudyDate,Modality"), "studies_1.csv", r
    )
    assert (one.system, one.version, one.table, one.format) == ("pacs", "v1", "studies", "csv")
    assert one.score == 1.0
    two = identify(
        csv(tmp_path, "studies_2.csv", "StudyUID,PatientID,StudyDate,Modality,Department"), "studies_2.csv", r
    )
    assert (two.system, two.version) == ("pacs", "v2")
    assert any("file name matches" in reason for reason in two.reasons)
    assert two.candidates[0]["version"] == "v2"


def test_header_matching_is_trimmed_and_case_insensitive(tmp_path):
    p = csv(tmp_path, "studies_3.csv", " studyuid , PATIENTID,studydate ")
    assert identify(p, p.name, rules()).version == "v1"


def test_renamed_file_identified_by_header(tmp_path):
    p = csv(tmp_path, "Copy of export (2).CSV", "AETitle,StationName,Department")
    ident = identify(p, p.name, rules())
    assert (ident.system, ident.table) == ("pacs", "stations")
    assert any("matches no declared pattern" in reason for reason in ident.reasons)


def test_name_patterns_are_case_insensitive_and_accept_gz(tmp_path):
    import gzip

    p = tmp_path / "STUDIES_4.CSV.GZ"
    p.write_bytes(gzip.compress(b"StudyUID,PatientID\n1,2\n"))
    assert identify(p, p.name, rules()).table == "studies"


def test_ambiguous_between_equal_definitions(tmp_path):
    clone = SourceDef("pacs_clone", "v1", "csv", (TableDef("studies", ("studies_*.csv",), cols(*BASE)),))
    p = csv(tmp_path, "studies_5.csv", "StudyUID,PatientID,StudyDate,Modality")
    with pytest.raises(FileFault) as exc:
        identify(p, p.name, rules(clone))
    assert exc.value.code == "ambiguous_source"
    assert "pacs/v1/studies" in exc.value.message and "pacs_clone/v1/studies" in exc.value.message
    assert len(exc.value.details["candidates"]) == 2


def test_unknown_source_names_header_and_candidates(tmp_path):
    p = csv(tmp_path, "lab.csv", "SampleID,Analyte,Value")
    with pytest.raises(FileFault) as exc:
        identify(p, p.name, rules())
    f = exc.value
    assert f.code == "unknown_source"
    assert "SampleID, Analyte, Value" in f.message and "closest" in f.message
    candidates = f.details["candidates"]
    assert candidates and {"system", "version", "table", "score", "missing_required", "unexpected"} <= set(
        candidates[0]
    )


def test_missing_required_column_when_the_name_matches(tmp_path):
    p = csv(tmp_path, "studies_6.csv", "StudyUID,StudyDate,Modality")
    with pytest.raises(FileFault) as exc:
        identify(p, p.name, rules())
    assert exc.value.code == "missing_required_column"
    assert "PatientID" in exc.value.message and exc.value.column == "PatientID"


def test_wrong_delimiter_single_column_header(tmp_path):
    p = tmp_path / "studies_7.csv"
    p.write_text("StudyUID:PatientID:StudyDate\n1:2:3\n")
    with pytest.raises(FileFault) as exc:
        identify(p, p.name, rules())
    assert exc.value.code == "wrong_delimiter"


def test_format_must_be_compatible(tmp_path):
    p = tmp_path / "studies_8.ndjson"
    p.write_text('{"StudyUID": "1", "PatientID": "2"}\n')
    with pytest.raises(FileFault) as exc:
        identify(p, p.name, rules())
    assert exc.value.code == "unknown_source"


def test_dicom_by_magic(tmp_path):
    p = tmp_path / "IMG0001"
    p.write_bytes(b"\x00" * 128 + b"DICM" + b"\x02\x00\x00\x00UL\x04\x00" + b"\x00" * 8)
    ident = identify(p, p.name, rules())
    assert (ident.system, ident.version, ident.table, ident.format) == ("dicom", "v1", "instances", "dicom")


# Reliability finding 5: a headerless extract's first row (patient values) is never echoed as a header.
HEADERLESS_SMR01 = "SMR1,0101011234,2026-03-01,2026-03-02,1,1,40,1A,A,AB1 2CD,I10,J20,K30,L40,M50,A10,B20,2026-03-02T10:00:00\n"
PATIENT_VALUES = ("0101011234", "2026-03-01", "AB1 2CD", "SMR1", "40")


def _shipped_rules():
    from pathlib import Path

    from medvault.platform.rules import load_rules

    return load_rules(Path(__file__).resolve().parents[1] / "rules")


def test_a_headerless_extract_is_no_header_with_counts_only(tmp_path):
    path = tmp_path / "smr01_2026.csv"
    path.write_text(HEADERLESS_SMR01 * 3)  # 7 of its 18 fields look like values: enough evidence
    with pytest.raises(FileFault) as caught:
        identify(path, path.name, _shipped_rules())
    assert caught.value.code == "no_header"
    assert "8 of its 18 non-empty fields" in caught.value.message
    assert not any(v in str(caught.value.to_dict()) for v in PATIENT_VALUES)


def test_reasons_show_value_like_header_names_only_by_length(tmp_path):
    path = tmp_path / "smr01_2026.csv"
    # a first row of mostly name-like values: not flagged as data, but its values are still not shown
    path.write_text("SMR1,Smith,John,I10,J20,K30,L40,M50,A10,B20,X1,Y2,Z3,2026-03-02T10:00:00\n" * 3)
    with pytest.raises(FileFault) as caught:
        identify(path, path.name, _shipped_rules())
    text = str(caught.value.to_dict())
    assert caught.value.code == "unknown_source"
    assert "14 fields, none a declared column name" in text
    assert not any(v in text for v in ("Smith", "John", "2026-03-02T10:00:00"))


def test_a_value_in_a_real_header_is_shown_by_its_length(tmp_path):
    path = tmp_path / "studies_1.csv"
    path.write_text("StudyUID,PatientID,StudyDate,Modality,0101011234\n1,2,2026-01-01,CT,x\n")
    ident = identify(path, path.name, rules())
    assert "undeclared columns: <10 chars>" in "; ".join(ident.reasons)

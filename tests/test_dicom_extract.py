"""DICOM header reads, faults and the dicom.instances slice, on real files written with pydicom."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from medvault.platform.dicom import COLUMNS, DicomFault, extract_rows, read_header, write_instances

OP_8BIT = "1.2.840.10008.5.1.4.1.1.77.1.5.1"
SECRET_PATIENT = "PAT-SECRET-0042"


def make_op(path: Path, *, laterality: str = "R", drop: tuple[str, ...] = (), rows=32, cols=48) -> Path:
    """An ophthalmic photograph (8-bit RGB) with ImageLaterality, written as a proper Part 10 file."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = OP_8BIT
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = OP_8BIT
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "OP"
    ds.SeriesNumber = 3
    ds.InstanceNumber = 7
    ds.ImageLaterality = laterality
    ds.StudyDate = "20260102"
    ds.StudyTime = "101500"
    ds.StationName = "FUNDUS1"
    ds.Manufacturer = "Topcon"
    ds.ManufacturerModelName = "Maestro2"
    ds.InstitutionName = "Eye Clinic"
    ds.InstitutionalDepartmentName = "Retina"
    ds.PatientID = SECRET_PATIENT
    ds.PatientName = "Doe^Jane"
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = np.zeros((rows, cols, 3), dtype=np.uint8).tobytes()
    for keyword in drop:
        delattr(ds, keyword)
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.fixture
def ct(tmp_path) -> Path:
    src = get_testdata_file("CT_small.dcm", download=False)
    dst = tmp_path / "ct.dcm"
    shutil.copy(src, dst)
    return dst


def test_read_op_header_with_laterality(tmp_path):
    path = make_op(tmp_path / "op.dcm", laterality="L")
    h = read_header(path, check_pixels=True)
    assert h.modality == "OP" and h.laterality == "L" and h.sop_class_uid == OP_8BIT
    assert h.study_date == date(2026, 1, 2) and h.study_time == "101500"
    assert (h.series_number, h.instance_number) == (3, 7)
    assert (h.rows, h.columns, h.bits_allocated, h.number_of_frames) == (32, 48, 8, 1)
    assert (h.station_name, h.manufacturer, h.model_name) == ("FUNDUS1", "Topcon", "Maestro2")
    assert (h.institution, h.department) == ("Eye Clinic", "Retina")
    assert h.transfer_syntax == ExplicitVRLittleEndian
    assert h.patient_id == SECRET_PATIENT
    assert h.file_size == path.stat().st_size


def test_read_ct_from_pydicom_test_data(ct):
    h = read_header(ct, check_pixels=True)
    ds = pydicom.dcmread(ct, stop_before_pixels=True)
    assert h.modality == "CT" and h.laterality is None
    assert h.sop_instance_uid == ds.SOPInstanceUID and h.study_uid == ds.StudyInstanceUID
    assert (h.rows, h.columns, h.bits_allocated) == (128, 128, 16)
    assert h.study_date == date(2004, 1, 19)


def test_series_laterality_fallback(tmp_path):
    path = make_op(tmp_path / "op.dcm", drop=("ImageLaterality",))
    ds = pydicom.dcmread(path)
    ds.Laterality = "R"
    ds.save_as(path)
    assert read_header(path).laterality == "R"


@pytest.mark.parametrize("content", [b"PatientID,Name\n1,Doe\n" * 20, b"", b"x" * 500])
def test_text_or_empty_file_is_not_dicom(tmp_path, content):
    path = tmp_path / "report.dcm"
    path.write_bytes(content)
    with pytest.raises(DicomFault) as info:
        read_header(path)
    assert info.value.code == "not_dicom"
    assert "report.dcm" in info.value.message


def test_meta_without_preamble_is_accepted(tmp_path, ct):
    raw = ct.read_bytes()
    assert raw[128:132] == b"DICM"
    path = tmp_path / "nopreamble.dcm"
    path.write_bytes(raw[132:])  # File Meta group straight away
    assert read_header(path).modality == "CT"
    # a dataset with neither preamble nor meta (pydicom's no_meta sample) is refused
    with pytest.raises(DicomFault) as info:
        read_header(get_testdata_file("no_meta.dcm", download=False))
    assert info.value.code == "not_dicom"


def test_missing_sop_instance_uid_names_the_tag(tmp_path):
    path = make_op(tmp_path / "nosop.dcm", drop=("SOPInstanceUID",))
    with pytest.raises(DicomFault) as info:
        read_header(path)
    fault = info.value
    assert fault.code == "missing_tag" and fault.tag == "SOPInstanceUID"
    assert "SOPInstanceUID" in fault.message and "(0008,0018)" in fault.message
    assert SECRET_PATIENT not in fault.message


def test_truncated_pixels_only_with_full_read(tmp_path):
    path = make_op(tmp_path / "cut.dcm")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 1000])
    # header-only read cannot see it
    assert read_header(path).sop_instance_uid
    with pytest.raises(DicomFault) as info:
        read_header(path, check_pixels=True)
    fault = info.value
    assert fault.code == "truncated_pixels" and fault.tag == "PixelData"
    assert "cut.dcm" in fault.message and "(7FE0,0010)" in fault.message
    assert SECRET_PATIENT not in fault.message


def test_pydicom_truncated_sample_is_caught():
    path = get_testdata_file("MR_truncated.dcm", download=False)
    with pytest.raises(DicomFault) as info:
        read_header(path, check_pixels=True)
    assert info.value.code == "truncated_pixels"


def _files(tmp_path: Path, ct: Path) -> list[tuple[str, str, Path]]:
    bad = tmp_path / "bad.dcm"
    bad.write_text("not an image")
    return [
        ("sha-op", "site_a/2026-01-02/op.dcm", make_op(tmp_path / "op.dcm")),
        ("sha-bad", "site_a/2026-01-02/bad.dcm", bad),
        ("sha-ct", "site_a/2026-01-02/ct.dcm", ct),
        (
            "sha-nosop",
            "site_a/2026-01-02/nosop.dcm",
            make_op(tmp_path / "nosop.dcm", drop=("SOPInstanceUID",)),
        ),
    ]


def test_extract_rows_loop(tmp_path, ct):
    df, faults = extract_rows(_files(tmp_path, ct))
    assert list(df.columns) == list(COLUMNS)
    assert list(df["_sha256"]) == ["sha-op", "sha-ct"]
    assert list(df["modality"]) == ["OP", "CT"]
    assert df.loc[0, "laterality"] == "R" and df.loc[0, "study_date"] == date(2026, 1, 2)
    assert str(df["rows"].dtype) == "Int64"
    assert [(s, k.rsplit("/", 1)[1], f.code) for s, k, f in faults] == [
        ("sha-bad", "bad.dcm", "not_dicom"),
        ("sha-nosop", "nosop.dcm", "missing_tag"),
    ]


def test_extract_rows_process_pool_matches_loop(tmp_path, ct):
    files = _files(tmp_path, ct)
    loop_df, loop_faults = extract_rows(files)
    pool_df, pool_faults = extract_rows(files, workers=2, threshold=0)
    assert pool_df.equals(loop_df)
    assert [(s, f.code, f.tag, f.message) for s, _, f in pool_faults] == [
        (s, f.code, f.tag, f.message) for s, _, f in loop_faults
    ]


def test_write_instances_replaces_slice(tmp_path, ct):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    df, _ = extract_rows(_files(tmp_path, ct))
    assert write_instances(con, "site_a", "2026-01-02", df) == 2
    assert write_instances(con, "site_b", date(2026, 1, 2), df.iloc[:1]) == 1
    # replaying the slice replaces it
    assert write_instances(con, "site_a", "2026-01-02", df.iloc[1:]) == 1
    rows = con.execute(
        "SELECT _site, modality, study_date, rows FROM dicom.instances ORDER BY _site"
    ).fetchall()
    assert rows == [("site_a", "CT", date(2004, 1, 19), 128), ("site_b", "OP", date(2026, 1, 2), 32)]
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'dicom'"
        ).fetchall()
    )
    assert (
        types["study_date"] == "DATE"
        and types["_loaded_at"] == "TIMESTAMP"
        and types["file_size"] == "BIGINT"
    )
    # an empty batch empties the slice
    empty, _ = extract_rows([])
    assert write_instances(con, "site_a", "2026-01-02", empty) == 0
    assert con.execute("SELECT count(*) FROM dicom.instances WHERE _site = 'site_a'").fetchone()[0] == 0
    # a failing insert leaves the previous slice in place
    broken = df.copy()
    broken["sop_instance_uid"] = None
    with pytest.raises(duckdb.Error):
        write_instances(con, "site_b", "2026-01-02", broken)
    assert con.execute("SELECT count(*) FROM dicom.instances WHERE _site = 'site_b'").fetchone()[0] == 1

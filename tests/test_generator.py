"""The synthetic site generator: determinism, drop layout, DICOM/CSV agreement, summary counts, dirty mode."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pydicom
import pytest

from medvault.platform.drops.layout import DROP_DONE_MARKER, parse_drop_key
from medvault.synth.generator import generate
from medvault.synth.ids import is_valid_chi
from medvault.synth.pacs import HEADERS, SOP_CLASSES
from medvault.synth.sites import site_specs

START = date(2026, 3, 2)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _csv(path: Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(_text(path))))
    return rows[0], rows[1:]


def _canonical(path: Path, table: str, version: str) -> list[dict[str, str]]:
    """CSV rows keyed by canonical column names (PACS header mapping of the given version)."""
    header, rows = _csv(path)
    position = 1 if version == "v1" else 2
    names = {row[position]: row[0] for row in HEADERS[table] if row[position]}
    return [{names.get(h, h): v.strip() for h, v in zip(header, r, strict=False)} for r in rows]


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    out = tmp_path_factory.mktemp("clean")
    return out, generate(out, sites=3, days=4, seed=7, start=START)


@pytest.fixture(scope="module")
def dirty(tmp_path_factory):
    out = tmp_path_factory.mktemp("dirty")
    return out, generate(out, sites=3, days=4, seed=7, start=START, dirty=True)


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path):
    trees = {}
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        generate(tmp_path / name, sites=2, days=2, seed=seed, dirty=True)
        trees[name] = _tree(tmp_path / name)
    a, b, c = trees["a"], trees["b"], trees["c"]
    assert a == b
    assert len(a) > 20
    assert a != c
    smr = "aurora_eye/2026-03-02/smr01_20260302.csv"
    assert a[smr] != c[smr]  # the same file name carries different data under another seed


def test_layout_is_site_date_file_with_done_last(clean):
    out, summary = clean
    folders = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        drop = parse_drop_key(path.relative_to(out).as_posix())  # raises outside the convention
        assert not drop.name.endswith(".part")
        assert START.isoformat() <= drop.date <= "2026-03-05"
        folders.setdefault(path.parent, []).append(path)
    assert len(folders) == 3 * 4
    for folder, paths in folders.items():
        done = folder / DROP_DONE_MARKER
        assert done in paths and done.stat().st_size == 0
        assert all(p.stat().st_mtime_ns <= done.stat().st_mtime_ns for p in paths)
    on_disk = {
        p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != DROP_DONE_MARKER
    }
    assert on_disk == {f["path"] for f in summary.files}
    json.dumps(summary.to_dict())  # JSON-able


def test_sites_versions_and_his_assignment(clean):
    out, summary = clean
    sites = summary.sites
    assert [s["code"] for s in sites] == ["aurora_eye", "kestrel_imaging", "lothian_general"]
    assert {s["pacs_version"] for s in sites} == {"v1", "v2"}
    assert any(s["his"] for s in sites) and not all(s["his"] for s in sites)
    assert [s.code for s in site_specs(12)][10:] == ["site_011", "site_012"]
    for s in sites:
        his_files = list((out / s["code"]).rglob("*.ndjson"))
        assert bool(his_files) == s["his"]
        header, _ = _csv(out / s["code"] / "2026-03-02" / "studies_20260302.csv")
        assert ("study_iuid" in header) == (s["pacs_version"] == "v1")
        assert ("referring_physician" in header) == (s["pacs_version"] == "v2")


def test_dicom_files_agree_with_pacs_extract(clean):
    out, summary = clean
    versions = {s["code"]: s["pacs_version"] for s in summary.sites}
    checked = 0
    for folder in sorted({p.parent for p in out.rglob("instances_*.csv")}):
        site, day = folder.parent.name, folder.name
        stamp = day.replace("-", "")
        v = versions[site]
        instances = _canonical(folder / f"instances_{stamp}.csv", "instances", v)
        series = {r["series_uid"]: r for r in _canonical(folder / f"series_{stamp}.csv", "series", v)}
        studies = {r["study_uid"]: r for r in _canonical(folder / f"studies_{stamp}.csv", "studies", v)}
        assert {f"{r['sop_instance_uid']}.dcm" for r in instances} == {p.name for p in folder.glob("*.dcm")}
        for row in instances:
            path = folder / f"{row['sop_instance_uid']}.dcm"
            raw = path.read_bytes()
            assert raw[128:132] == b"DICM"
            assert int(row["file_size"]) == len(raw)
            ds = pydicom.dcmread(path)
            ser = series[row["series_uid"]]
            study = studies[ser["study_uid"]]
            assert ds.SOPInstanceUID == row["sop_instance_uid"] == ds.file_meta.MediaStorageSOPInstanceUID
            assert ds.SOPClassUID == row["sop_class_uid"] == SOP_CLASSES[ds.Modality]
            assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
            assert ds.SeriesInstanceUID == row["series_uid"]
            assert ds.StudyInstanceUID == ser["study_uid"]
            assert ds.PatientID == study["patient_id"] and is_valid_chi(ds.PatientID)
            assert ds.Modality == ser["modality"] == study["modality"]
            assert ds.StationName == ser["station_name"]
            assert ds.InstitutionalDepartmentName == ser["department"]
            assert ds.StudyDate == study["study_date"].replace("-", "")
            assert int(ds.SeriesNumber) == int(ser["series_number"])
            assert int(ds.InstanceNumber) == int(row["instance_number"])
            if ds.Modality in ("OP", "OPT"):
                assert ds.Laterality == ds.ImageLaterality == ser["laterality"] in ("R", "L")
            else:
                assert ser["laterality"] == "" and "Laterality" not in ds
            expected = ds.Rows * ds.Columns * ds.SamplesPerPixel * ds.BitsAllocated // 8
            assert len(ds.PixelData) == expected and ds.Rows == 16
            assert ds.pixel_array.shape[:2] == (16, 16)
            checked += 1
    assert checked == summary.rows(system="dicom") > 20


def test_realistic_pixels(tmp_path):
    generate(tmp_path, sites=1, days=1, seed=3, realistic_pixels=True)
    ds = pydicom.dcmread(next(tmp_path.rglob("*.dcm")))
    assert (ds.Rows, ds.Columns) == (512, 512)
    assert len(ds.PixelData) == 512 * 512 * ds.SamplesPerPixel * ds.BitsAllocated // 8


def _rows_in(out: Path, f: dict) -> int:
    path = out / f["path"]
    if f["system"] == "dicom":
        return 1
    if path.suffix == ".ndjson":
        return len(_text(path).splitlines())
    return len(_csv(path)[1])


def test_summary_counts_equal_rows_in_files(clean, dirty):
    for out, summary in (clean, dirty):
        recount: dict[tuple, int] = {}
        for f in summary.files:
            assert _rows_in(out, f) == f["rows"]
            if f["duplicate_of"]:
                continue
            key = (f["site"], f["date"], f["system"], f["table"])
            recount[key] = recount.get(key, 0) + f["rows"]
            for child, n in f["children"].items():
                array = {"bill_items": "items", "lab_order_tests": "tests"}[child]
                docs = [json.loads(line) for line in _text(out / f["path"]).splitlines()]
                assert n == sum(len(d[array]) for d in docs) > 0
                recount[(f["site"], f["date"], f["system"], child)] = (
                    recount.get((f["site"], f["date"], f["system"], child), 0) + n
                )
        assert recount == {(c["site"], c["date"], c["system"], c["table"]): c["rows"] for c in summary.counts}
        dcm = {(c["site"], c["date"]): c["rows"] for c in summary.counts if c["system"] == "dicom"}
        for (site, day), n in dcm.items():
            assert n == len(list((out / site / day).glob("*.dcm")))
        assert summary.rows(system="harmony_pacs", table="studies") >= 3 * 3 * 4


def test_patients_are_shared_across_systems(clean):
    out, summary = clean
    for s in summary.sites:
        site = out / s["code"]
        pacs_ids = {r[0] for p in site.rglob("patients_*.csv") for r in _csv(p)[1]}
        ehr_ids = {r[1] for p in site.rglob("smr01_*.csv") for r in _csv(p)[1]}
        assert pacs_ids and ehr_ids and all(is_valid_chi(c) for c in pacs_ids | ehr_ids)
        assert pacs_ids & ehr_ids
        if s["his"]:
            his_ids = {
                json.loads(line)["patientId"]
                for p in site.rglob("bills_*.ndjson")
                for line in _text(p).splitlines()
            }
            assert his_ids & (pacs_ids | ehr_ids)
        names = [r[1] for p in site.rglob("patients_*.csv") for r in _csv(p)[1]]
        assert all("^" in n for n in names) and any(not n.isascii() for n in names)


def test_his_type_drift_is_present(clean):
    out, _ = clean
    docs = [json.loads(line) for p in out.rglob("*.ndjson") for line in _text(p).splitlines()]
    bills = [d for d in docs if "totalAmount" in d]
    labs = [d for d in docs if "tests" in d]
    assert {isinstance(d["totalAmount"], dict) for d in bills} == {True, False}
    assert {isinstance(d["tests"][0], str) for d in labs} == {True, False}
    assert all(set(d["_id"]) == {"$oid"} and len(d["_id"]["$oid"]) == 24 for d in docs)
    assert all(d["updatedAt"]["$date"].endswith("Z") for d in docs)


def test_dirty_mode_injects_what_it_reports(clean, dirty):
    clean_out, _ = clean
    out, summary = dirty
    kinds = [p["kind"] for p in summary.problems]
    for kind in ("duplicate_file", "late_update", "stray_spaces", "latin1_file", "malformed_row"):
        assert kind in kinds
    touched = set()
    for p in summary.problems:
        path = out / p["path"]
        touched.add(p["path"])
        if p["kind"] == "duplicate_file":
            assert path.read_bytes() == (path.parent / p["duplicate_of"]).read_bytes()
            assert p["expect"] == "quarantined"
            touched.add(f"{p['site']}/{p['date']}/{p['duplicate_of']}")
        elif p["kind"] == "latin1_file":
            with pytest.raises(UnicodeDecodeError):
                path.read_bytes().decode("utf-8")
            assert not path.read_bytes().decode("latin-1").isascii()
        elif p["kind"] == "stray_spaces":
            _, rows = _csv(path)
            assert any(v != v.strip() for r in rows for v in r)
            assert len(rows) == p["rows"] and p["expect"] == "loaded"
        elif p["kind"] == "malformed_row":
            header, rows = _csv(path)
            bad = [r for r in rows if r[0] == p["key"]["record_id"]]
            assert len(bad) == 1 and p["expect"] == "row_rejected"
            if p["detail"] == "extra_field":
                assert len(bad[0]) == len(header) + 1
            else:
                with pytest.raises(ValueError):
                    date.fromisoformat(bad[0][header.index("admission_date")])
            count = next(
                c
                for c in summary.counts
                if (c["site"], c["date"], c["table"]) == (p["site"], p["date"], p["table"])
            )
            assert count["expected_rows"] <= count["rows"] - 1
        elif p["kind"] == "late_update":
            header, rows = _csv(path)
            ((key, value),) = p["key"].items()
            col = header.index(
                key if p["table"] == "admissions" else ("pat_id" if "pat_id" in header else "patient_id")
            )
            mod = header.index("modified_at" if "modified_at" in header else "updated_time")
            new = [r for r in rows if r[col] == value and p["new"] in r]
            assert len(new) == 1 and p["new"] != p["old"] and p["original_date"] < p["date"]
            older = out / p["site"] / p["original_date"]
            old_rows = [
                r
                for f in older.glob(f"{p['file'].split('_')[0]}_*.csv")
                for r in _csv(f)[1]
                if r[col] == value
            ]
            assert old_rows and p["old"] in old_rows[0] and old_rows[0][mod] < new[0][mod]
    assert summary.rows(expected=True) == summary.rows() - sum(
        p["rows"] for p in summary.problems if p["expect"] == "row_rejected"
    )
    # Everything the problems did not touch is byte-identical to the clean run of the same seed.
    same = [f["path"] for f in summary.files if f["path"] not in touched]
    assert len(same) > 100
    assert all((out / p).read_bytes() == (clean_out / p).read_bytes() for p in same)

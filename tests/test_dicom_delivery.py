"""Seed 004's image pipeline: stamped, renamed copies on the delivery store, per-file status and history,
error logs, idempotent re-drops, the manual reprocess, and the stamp itself checked by pydicom and DCMTK."""

from __future__ import annotations

import re
import shutil
import subprocess
from io import BytesIO
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

from medvault.platform.delivery.stamp import CREATOR, stamp_file
from medvault.platform.ledger import Ledger
from medvault.platform.rules import RulesError, load_rules
from medvault.platform.steps import deliver
from medvault.platform.steps.dicom import process as process_dicom
from medvault.platform.stores.local import LocalStore
from medvault.platform.warehouse.db import Warehouse
from tests.helpers import LocalZones, step_context

ROOT = Path(__file__).resolve().parents[1]
SITE, DAY = "aurora_eye", "2026-03-02"
UID_RE = re.compile(r"^2\.25\.2411964735209013518\.(\d+)\.1$")


def ct_bytes(implicit: bool = False, **attrs) -> bytes:
    """pydicom's CT_small as a new instance (fresh SOP Instance UID), optionally implicit VR."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm", download=False))
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    for keyword, value in attrs.items():
        setattr(ds, keyword, value)
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def pixel_bytes(path: Path) -> bytes:
    return pydicom.dcmread(path).PixelData


def medvault_uid(path: Path) -> str:
    """The stamped UID on a full read (in an implicit-VR file a private element has no VR: raw bytes)."""
    value = pydicom.dcmread(path).private_block(0x0009, CREATOR)[0x00].value
    return value.decode("ascii").rstrip("\x00") if isinstance(value, bytes) else value


# -- the stamp ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("implicit", [False, True], ids=["explicit", "implicit"])
def test_stamp_keeps_pixels_and_is_found_by_creator(tmp_path: Path, implicit: bool):
    src = tmp_path / "in.dcm"
    src.write_bytes(ct_bytes(implicit))
    out = tmp_path / "out.dcm"
    how = stamp_file(src, out, "1.2.3.4.5")
    assert how == "streamed"
    assert medvault_uid(out) == "1.2.3.4.5"
    assert pixel_bytes(out) == pixel_bytes(src)
    before, after = src.read_bytes(), out.read_bytes()
    tail = before[before.rindex(b"\xe0\x7f\x10\x00") :]
    assert after.endswith(tail), "the pixel data element is byte-identical"
    original, stamped = pydicom.dcmread(src), pydicom.dcmread(out)
    assert [e.tag for e in stamped if e.tag.group != 0x0009] == [
        e.tag for e in original if e.tag.group != 0x0009
    ]
    kept = {e.tag: e.value for e in original if e.tag.group == 0x0009}  # CT_small has a GE block there
    assert kept and all(stamped[tag].value == value for tag, value in kept.items())


def test_stamp_keeps_another_creators_block_and_restamps_in_place(tmp_path: Path):
    ds = pydicom.dcmread(BytesIO(ct_bytes()))
    other = ds.private_block(0x0009, "OTHER VENDOR", create=True)
    other.add_new(0x01, "LO", "kept")
    src = tmp_path / "in.dcm"
    ds.save_as(src, enforce_file_format=True)
    once, twice = tmp_path / "once.dcm", tmp_path / "twice.dcm"
    stamp_file(src, once, "1.2.3.1")
    stamp_file(once, twice, "1.2.3.2")
    again = pydicom.dcmread(twice)
    assert again.private_block(0x0009, "OTHER VENDOR")[0x01].value == "kept"
    assert medvault_uid(twice) == "1.2.3.2"
    creators = [e.value for e in again if e.tag.group == 0x0009 and 0x10 <= e.tag.element <= 0xFF]
    assert sorted(creators) == sorted(["GEMS_IDEN_01", "OTHER VENDOR", CREATOR]), (
        "one MEDVAULT block, not two"
    )


@pytest.mark.parametrize("name", ["MR_small_bigendian.dcm", "image_dfl.dcm"])
def test_stamp_falls_back_to_pydicom_for_big_endian_and_deflated(tmp_path: Path, name: str):
    src = Path(get_testdata_file(name, download=False))
    out = tmp_path / "out.dcm"
    assert stamp_file(src, out, "1.2.3.9") == "pydicom"
    assert medvault_uid(out) == "1.2.3.9"
    assert (
        pydicom.dcmread(out).file_meta.TransferSyntaxUID == pydicom.dcmread(src).file_meta.TransferSyntaxUID
    )
    assert pixel_bytes(out) == pixel_bytes(src)


@pytest.mark.parametrize("implicit", [False, True], ids=["explicit", "implicit"])
def test_dcmtk_reads_the_stamped_file(tmp_path: Path, implicit: bool):
    assert shutil.which("dcmdump"), "DCMTK's dcmdump (Debian package dcmtk, installed by .ci/run)"
    src = tmp_path / "in.dcm"
    src.write_bytes(ct_bytes(implicit))
    out = tmp_path / "out.dcm"
    stamp_file(src, out, "1.2.3.4.77")
    proc = subprocess.run(["dcmdump", "-E", str(out)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "[MEDVAULT]" in proc.stdout
    # implicit VR gives a private element no VR: DCMTK shows its bytes, which are the UID
    shown = "\\".join(f"{b:02x}" for b in b"1.2.3.4.77") if implicit else "[1.2.3.4.77]"
    assert shown in proc.stdout
    assert "(7fe0,0010)" in proc.stdout.lower()


# -- the pipeline ------------------------------------------------------------------------------------


def _drop(tmp_path: Path, files: dict[str, bytes], day: str = DAY) -> None:
    folder = tmp_path / "drops" / SITE / day
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    (folder / "_DONE").write_text("")


def _run(tmp_path: Path, rules, day: str = DAY) -> deliver.DeliverySummary:
    zones = LocalZones(tmp_path, rules)
    zones.receive(date=day)
    with step_context(tmp_path, rules, SITE, day, run_id="run-1") as ctx:
        process_dicom(ctx)
        return deliver.process(ctx)


def _delivered(tmp_path: Path) -> list[str]:
    store = LocalStore(tmp_path / "delivery")
    return sorted(o.key for o in store.list_objects() if not o.key.startswith("error_logs/"))


def test_images_are_stamped_renamed_and_tracked(tmp_path: Path):
    rules = load_rules(ROOT / "rules")
    images = {"a.dcm": ct_bytes(), "b.dcm": ct_bytes(implicit=True)}
    _drop(tmp_path, images)
    summary = _run(tmp_path, rules)
    assert (summary.files, summary.delivered, summary.failed, summary.with_error) == (2, 2, 0, 0)
    keys = _delivered(tmp_path)
    assert len(keys) == 2 and all(k.startswith("quarantine/imagingCT/") for k in keys)
    pattern = re.compile(r"^imaging_CT_[0-9a-f]{12}_\d+_\d+_1_(\d+)_\d{8}_\d{6}\.dcm$")
    names = [k.rsplit("/", 1)[1] for k in keys]
    assert all(pattern.match(n) for n in names), names
    patient = pydicom.dcmread(BytesIO(images["a.dcm"])).PatientID
    assert all(patient not in k for k in keys), "the participant field is a pseudonym"
    with Warehouse(tmp_path / "w.duckdb").connect() as con:
        files = Ledger(con).pipeline.files(rules.delivery.code)
        history = {f.id: Ledger(con).pipeline.history(f.id) for f in files}
        scans = con.execute("SELECT file_id, scan_id, pipeline_uid FROM ops.pipeline_file_dicom").fetchall()
        instances = con.execute(
            "SELECT file_id, scan_id, pipeline_uid, _source_key FROM dicom.instances"
        ).fetchall()
        series = con.execute("SELECT number_of_instances, bytes FROM dicom.series").fetchall()
        studies = con.execute(
            "SELECT number_of_series, number_of_instances, modalities FROM dicom.studies"
        ).fetchall()
    assert [f.status for f in files] == ["completed", "completed"]
    assert {f.destination_key for f in files} == set(keys)
    for f in files:
        assert [(a, b) for a, b, *_ in history[f.id]] == [
            (None, "started"),
            ("started", "in_progress"),
            ("in_progress", "completed"),
        ]
        assert f"_{f.id}_" in f.destination_key, "the name carries the FileID"
    by_file = {fid: uid for fid, _, uid in scans}
    for fid, scan_id, uid, _ in instances:
        assert scan_id == 1 and UID_RE.match(uid) and by_file[fid] == uid
        key = next(f.destination_key for f in files if f.id == fid)
        assert medvault_uid(tmp_path / "delivery" / key) == uid
        assert int(UID_RE.match(uid).group(1)) == fid
    # both CT_small copies share study and series: one series of two images, one study
    assert len(series) == 1 and series[0][0] == 2
    assert studies == [(1, 2, "CT")]
    assert not any(LocalStore(tmp_path / "delivery").list_objects(".incoming"))


def test_redrop_keeps_file_id_and_makes_no_second_copy(tmp_path: Path):
    rules = load_rules(ROOT / "rules")
    image = ct_bytes()
    _drop(tmp_path, {"a.dcm": image})
    _run(tmp_path, rules)
    first = _delivered(tmp_path)
    again = _run(tmp_path, rules)  # the same partition once more
    assert (again.delivered, again.unchanged) == (0, 1)
    _drop(tmp_path, {"a.dcm": image}, day="2026-03-03")  # the same bytes dropped the next day
    _run(tmp_path, rules, day="2026-03-03")
    assert _delivered(tmp_path) == first
    with Warehouse(tmp_path / "w.duckdb").connect() as con:
        ids = con.execute("SELECT DISTINCT file_id FROM dicom.instances").fetchall()
        n = con.execute("SELECT count(*) FROM ops.pipeline_file").fetchone()[0]
    assert len(ids) == 1 and n == 1


def test_bad_files_fail_with_their_code_and_an_error_log(tmp_path: Path):
    rules = load_rules(ROOT / "rules")
    good = ct_bytes()
    truncated = good[: len(good) - 1000]
    no_uid = ct_bytes()
    ds = pydicom.dcmread(BytesIO(no_uid))
    del ds.SeriesInstanceUID
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    _drop(
        tmp_path,
        {"good.dcm": good, "cut.dcm": truncated, "text.dcm": b"not an image\n", "nouid.dcm": buf.getvalue()},
    )
    summary = _run(tmp_path, rules)
    assert (summary.delivered, summary.failed) == (1, 3)
    codes = {f.source_name: f.code for f in summary.failures}
    assert codes == {"cut.dcm": "truncated_pixels", "text.dcm": "not_dicom", "nouid.dcm": "missing_tag"}
    store = LocalStore(tmp_path / "delivery")
    for failure in summary.failures:
        assert failure.error_log and failure.error_log.startswith(f"error_logs/{rules.delivery.code}/")
        assert failure.error_log.endswith("_error_log.txt")
        text = store.read_bytes(failure.error_log).decode()
        assert f"error_code: {failure.code}" in text and failure.source_name in text
    with Warehouse(tmp_path / "w.duckdb").connect() as con:
        rows = con.execute(
            "SELECT status, has_error, destination_key FROM ops.pipeline_file ORDER BY id"
        ).fetchall()
    assert sorted(r[0] for r in rows) == ["completed", "failed", "failed", "failed"]
    assert all(r[1] for r in rows if r[0] == "failed") and all(r[2] is None for r in rows if r[0] == "failed")
    again = _run(tmp_path, rules)
    assert again.failed == 0 and again.unchanged == 4, "failed files are not failed again on a rerun"


def test_a_naming_field_without_value_delivers_with_has_error(tmp_path: Path):
    rules = load_rules(ROOT / "rules")
    image = pydicom.dcmread(BytesIO(ct_bytes()))
    del image.InstanceNumber
    buf = BytesIO()
    image.save_as(buf, enforce_file_format=True)
    _drop(tmp_path, {"a.dcm": buf.getvalue()})
    summary = _run(tmp_path, rules)
    assert (summary.delivered, summary.with_error, summary.codes) == (1, 1, {"name_field_missing": 1})
    (key,) = _delivered(tmp_path)
    assert "_NA_" in key
    with Warehouse(tmp_path / "w.duckdb").connect() as con:
        status, has_error, code = con.execute(
            "SELECT status, has_error, error_code FROM ops.pipeline_file"
        ).fetchone()
    assert (status, has_error, code) == ("completed", True, "name_field_missing")


def test_reprocess_delivers_again_under_the_same_name(tmp_path: Path):
    rules = load_rules(ROOT / "rules")
    _drop(tmp_path, {"a.dcm": ct_bytes()})
    _run(tmp_path, rules)
    (key,) = _delivered(tmp_path)
    (tmp_path / "delivery" / key).unlink()  # a lab deleted its copy
    with step_context(tmp_path, rules, None, None, run_id="run-2") as ctx:
        summary, unknown, partitions = deliver.reprocess(
            ctx, [f"{SITE}/{DAY}/a.dcm", "nope/2026-01-01/x.dcm"]
        )
    assert (summary.delivered, unknown, partitions) == (1, ["nope/2026-01-01/x.dcm"], [(SITE, DAY)])
    assert _delivered(tmp_path) == [key]
    with Warehouse(tmp_path / "w.duckdb").connect() as con:
        (f,) = Ledger(con).pipeline.files(rules.delivery.code)
        steps = [b for _, b, *_ in Ledger(con).pipeline.history(f.id)]
    assert steps == ["started", "in_progress", "completed", "started", "in_progress", "completed"]


def test_delivery_rules_problems_are_reported(tmp_path: Path):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    (rules / "delivery.yaml").write_text(
        """pipeline: {code: Bad-Code}
uid_root: "1.2.03"
naming:
  template: "[form]_[who]"
  fields:
    form: {tag: NoSuchTag}
sites:
  nowhere: {}
"""
    )
    with pytest.raises(RulesError) as err:
        load_rules(rules)
    text = str(err.value)
    for expected in ("pipeline.code", "uid_root", "NoSuchTag", "[fileid]", "[who]", "sites.nowhere"):
        assert expected in text, (expected, text)


@pytest.mark.network
def test_delivery_to_every_store_kind(tmp_path: Path, any_store):
    """Local folder, S3 (moto) and SFTP (sshd): the stamped copy arrives whole under its name, an error
    log lands beside, nothing stays under the temporary prefix, and a rerun copies nothing again."""
    rules = load_rules(ROOT / "rules")
    image = ct_bytes()
    _drop(tmp_path, {"a.dcm": image, "text.dcm": b"not an image\n"})
    LocalZones(tmp_path, rules).receive()
    for attempt in range(2):
        with step_context(tmp_path, rules, SITE, DAY, run_id=f"run-{attempt}") as ctx:
            ctx.delivery_store = any_store
            if attempt == 0:
                process_dicom(ctx)
            summary = deliver.process(ctx)
        if attempt == 0:
            assert (summary.delivered, summary.failed) == (1, 1)
        else:
            assert (summary.delivered, summary.failed, summary.unchanged) == (0, 0, 2)
    keys = sorted(o.key for o in any_store.list_objects())
    images = [k for k in keys if k.startswith("quarantine/imagingCT/")]
    logs = [k for k in keys if k.startswith("error_logs/dicom_images/")]
    assert len(images) == 1 and len(logs) == 1 and len(keys) == 2, keys
    local = tmp_path / "copy.dcm"
    any_store.download(images[0], local)
    assert (
        UID_RE.match(medvault_uid(local)) and pixel_bytes(local) == pydicom.dcmread(BytesIO(image)).PixelData
    )

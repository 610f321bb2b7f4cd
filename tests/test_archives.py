"""`.zip` uploads (seed 004's "one upload holding several scans") and DICOMDIR trees: every member is a
file of the drop; zip bombs, `../` members and broken archives are refused whole with their reason."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pydicom
import pytest
from pydicom.fileset import FileSet

from medvault.platform.drops.archive import ArchiveFault, ArchiveLimits, expand, unsafe_reason
from medvault.platform.rules import load_rules
from medvault.platform.steps.dicom import process as process_dicom
from medvault.platform.warehouse.db import Warehouse
from tests.helpers import LocalZones, step_context
from tests.test_dicom_delivery import ct_bytes

ROOT = Path(__file__).resolve().parents[1]
SITE, DAY = "aurora_eye", "2026-03-02"


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def _drop(tmp_path: Path, files: dict[str, bytes]) -> Path:
    folder = tmp_path / "drops" / SITE / DAY
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "_DONE").write_text("")
    return folder


def _manifest(tmp_path: Path) -> dict[str, tuple]:
    with Warehouse(tmp_path / "w.duckdb").connect() as con:
        rows = con.execute("SELECT key, status, reason_code FROM ops.file_manifest ORDER BY key").fetchall()
    return {key: (status, code) for key, status, code in rows}


def _receive_and_load(tmp_path: Path):
    rules = load_rules(ROOT / "rules")
    summary = LocalZones(tmp_path, rules).receive()
    with step_context(tmp_path, rules, SITE, DAY, run_id="run-1") as ctx:
        return summary, process_dicom(ctx)


def _dicomdir_tree(tmp_path: Path, n: int) -> tuple[dict[str, bytes], list[str]]:
    """A real DICOMDIR file-set of n images written by pydicom: (member path -> bytes, image paths)."""
    fs = FileSet()
    for _ in range(n):
        fs.add(pydicom.dcmread(io.BytesIO(ct_bytes())))
    folder = tmp_path / "cd"
    fs.write(folder)
    files = {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }
    return files, [k for k in files if k != "DICOMDIR"]


def test_a_zip_of_images_loads_each_member_and_a_redrop_changes_nothing(tmp_path: Path):
    images = {f"scans/IM{i}.dcm": ct_bytes() for i in range(3)}
    _drop(tmp_path, {"upload.zip": _zip(images), "loose.dcm": ct_bytes()})
    summary, dicom = _receive_and_load(tmp_path)
    assert (summary.files_seen, summary.received, summary.quarantined) == (4, 4, 0)
    assert (dicom.files, dicom.loaded) == (4, 4)
    manifest = _manifest(tmp_path)
    expected = {f"{SITE}/{DAY}/upload.zip/{name}" for name in images} | {f"{SITE}/{DAY}/loose.dcm"}
    assert set(manifest) == expected and all(s == ("loaded", None) for s in manifest.values())
    with Warehouse(tmp_path / "w.duckdb").connect() as con:
        loaded = dict(con.execute("SELECT _source_key, sop_instance_uid FROM dicom.instances").fetchall())
    for name, data in images.items():
        assert loaded[f"{SITE}/{DAY}/upload.zip/{name}"] == pydicom.dcmread(io.BytesIO(data)).SOPInstanceUID
    raw = sorted(p.name for p in (tmp_path / "lake" / "raw").rglob("*") if p.is_file())
    assert len(raw) == 4 and not any(n.endswith(".zip") for n in raw), "members are kept, not the envelope"
    assert not list((tmp_path / "lake" / "landing").rglob("*.zip")), "the envelope left the landing area"
    again = LocalZones(tmp_path, load_rules(ROOT / "rules")).receive()
    assert (again.files_seen, again.unchanged, again.received) == (4, 4, 0)


def test_a_dicomdir_tree_is_read_as_an_index_and_a_missing_image_is_reported(tmp_path: Path):
    files, images = _dicomdir_tree(tmp_path, 3)
    missing = images[1]
    del files[missing]
    _drop(tmp_path, {"cd.zip": _zip(files)})
    summary, dicom = _receive_and_load(tmp_path)
    manifest = _manifest(tmp_path)
    prefix = f"{SITE}/{DAY}/cd.zip/"
    assert f"{prefix}DICOMDIR" not in manifest, "the index is not a file of the drop"
    assert manifest[prefix + missing] == ("quarantined", "missing_member")
    assert {k for k, v in manifest.items() if v == ("loaded", None)} == {
        prefix + p for p in images if p != missing
    }
    assert (summary.files_seen, summary.received, summary.quarantined) == (3, 2, 1)
    assert dicom.loaded == 2
    reason = next((tmp_path / "q").rglob("*.reason.json")).read_text()
    assert "DICOMDIR" in reason and missing in reason


@pytest.mark.parametrize(
    "member, why",
    [("../evil.dcm", "'..'"), ("/etc/evil.dcm", "absolute"), ("a\\..\\evil.dcm", "backslash")],
)
def test_a_zip_slip_member_refuses_the_whole_upload(tmp_path: Path, member: str, why: str):
    _drop(tmp_path, {"slip.zip": _zip({"good.dcm": ct_bytes(), member: ct_bytes()}), "loose.dcm": ct_bytes()})
    summary, dicom = _receive_and_load(tmp_path)
    manifest = _manifest(tmp_path)
    assert manifest[f"{SITE}/{DAY}/slip.zip"] == ("quarantined", "unsafe_member")
    assert manifest[f"{SITE}/{DAY}/loose.dcm"] == ("loaded", None), "the other files carry on"
    assert len(manifest) == 2 and dicom.loaded == 1
    assert not (tmp_path / "evil.dcm").exists() and not (tmp_path / "drops" / "evil.dcm").exists()
    assert why in next((tmp_path / "q").rglob("*.reason.json")).read_text()
    assert summary.files_seen == summary.received + summary.quarantined


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path: Path):
    bomb = _zip({"zeros.dcm": bytes(64 * 1024 * 1024)})
    assert len(bomb) < 200_000, "64 MB of zeros deflate ~1000-fold"
    _drop(tmp_path, {"bomb.zip": bomb})
    _receive_and_load(tmp_path)
    assert _manifest(tmp_path) == {f"{SITE}/{DAY}/bomb.zip": ("quarantined", "zip_bomb")}
    assert "inflates" in next((tmp_path / "q").rglob("*.reason.json")).read_text()


def test_a_cut_zip_is_a_bad_archive(tmp_path: Path):
    whole = _zip({f"IM{i}.dcm": ct_bytes() for i in range(2)})
    _drop(tmp_path, {"cut.zip": whole[: len(whole) // 2]})
    _receive_and_load(tmp_path)
    assert _manifest(tmp_path) == {f"{SITE}/{DAY}/cut.zip": ("quarantined", "bad_archive")}


# -- the archive module alone ------------------------------------------------------------------------


def test_limits_on_members_and_bytes(tmp_path: Path):
    src = tmp_path / "a.zip"
    src.write_bytes(_zip({f"{i}.txt": b"x" * 1000 for i in range(5)}))
    with pytest.raises(ArchiveFault, match="5 members") as e:
        expand(src, "a.zip", tmp_path / "out1", ArchiveLimits(max_members=4))
    assert e.value.code == "zip_bomb"
    with pytest.raises(ArchiveFault, match="5000 bytes") as e:
        expand(src, "a.zip", tmp_path / "out2", ArchiveLimits(max_bytes=4999))
    members = expand(src, "a.zip", tmp_path / "out3", ArchiveLimits(max_bytes=5000))
    assert [m.path for m in members] == [f"{i}.txt" for i in range(5)]
    assert all(m.local.read_bytes() == b"x" * 1000 for m in members)


def test_a_member_whose_header_understates_its_size_is_refused(tmp_path: Path):
    """Sizes in zip headers are the sender's word: inflating is counted, and a lie never lands."""
    data = _zip({"big.bin": b"A" * 100_000}, zipfile.ZIP_STORED)
    lied = bytearray(data)
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # uncompressed size: local + central
        at = lied.index(sig)
        struct.pack_into("<L", lied, at + offset, 10)
    src = tmp_path / "lie.zip"
    src.write_bytes(bytes(lied))
    with pytest.raises(ArchiveFault) as e:
        expand(src, "lie.zip", tmp_path / "out")
    assert e.value.code in ("zip_bomb", "bad_archive")


def test_unsafe_member_paths():
    assert unsafe_reason("scans/IM1.dcm") is None
    assert unsafe_reason("DICOM/ST000000/SE000000/IM000000") is None
    for bad in ("../x", "a/../../x", "/x", "C:/x", "a\\b", "a/./b", "a\x00b", ""):
        assert unsafe_reason(bad), bad

"""Extra header values from `rules/dicom.yaml`: by keyword, by (gggg,eeee) and by a path into a sequence,
as columns of dicom.instances with pydicom's values; bad specs are rule problems."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset

from medvault.platform.dicom.extra import parse_path
from medvault.platform.dicom.headers import parse, parse_stored
from medvault.platform.rules import RulesError, load_rules
from medvault.platform.steps.dicom import process as process_dicom
from medvault.platform.warehouse.db import Warehouse
from tests.helpers import LocalZones, step_context
from tests.test_dicom_delivery import ct_bytes

ROOT = Path(__file__).resolve().parents[1]
SITE, DAY = "aurora_eye", "2026-03-02"
EXTRAS = """extra_tags:
  slice_thickness: SliceThickness
  protocol_name: {tag: "(0018,1030)", description: the acquisition protocol}
  procedure_code: "ProcedureCodeSequence[1].CodeValue"
  first_code: "ProcedureCodeSequence.CodeMeaning"
  window_center: WindowCenter
  patient_sex: {tag: PatientSex, pii: true}
"""


def _rules(tmp_path: Path, dicom_yaml: str | None):
    folder = tmp_path / "rules"
    if not folder.exists():
        shutil.copytree(ROOT / "rules", folder)
    if dicom_yaml is not None:
        (folder / "dicom.yaml").write_text(dicom_yaml)
    return load_rules(folder)


def _image(**attrs) -> bytes:
    ds = pydicom.dcmread(io.BytesIO(ct_bytes(**attrs)))
    codes = []
    for value, meaning in (("P1", "CT head"), ("P2", "CT neck")):
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "LOCAL", meaning
        codes.append(item)
    ds.ProcedureCodeSequence = codes
    ds.WindowCenter = [40, 400]
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def _drop(tmp_path: Path, files: dict[str, bytes]) -> None:
    folder = tmp_path / "drops" / SITE / DAY
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "_DONE").write_text("")


def _load(tmp_path: Path, rules) -> dict[str, dict]:
    with step_context(tmp_path, rules, SITE, DAY, run_id="run-1") as ctx:
        process_dicom(ctx)
    with Warehouse(tmp_path / "w.duckdb").connect() as con:
        cur = con.execute("SELECT * FROM dicom.instances")
        names = [d[0] for d in cur.description]
        return {
            row[names.index("_source_key")].rsplit("/", 1)[1]: dict(zip(names, row, strict=True))
            for row in cur.fetchall()
        }


def test_extra_tags_are_columns_with_pydicoms_values(tmp_path: Path):
    rules = _rules(tmp_path, EXTRAS)
    with_protocol = _image(ProtocolName="HEAD ROUTINE", SliceThickness="2.5")
    bare = ct_bytes()  # no protocol, no procedure codes
    _drop(tmp_path, {"a.dcm": with_protocol, "b.dcm": bare})
    LocalZones(tmp_path, rules).receive()
    rows = _load(tmp_path, rules)
    ref = pydicom.dcmread(io.BytesIO(with_protocol))
    a = rows["a.dcm"]
    assert a["slice_thickness"] == str(ref.SliceThickness) == "2.5"
    assert a["protocol_name"] == "HEAD ROUTINE"
    assert a["procedure_code"] == "P2", "[1] is the second item"
    assert a["first_code"] == "CT head", "no [n]: the first item"
    assert a["window_center"] == "\\".join(str(v) for v in ref.WindowCenter), "a multi-value, \\-joined"
    assert a["window_center"].count("\\") == 1
    assert a["patient_sex"] == ref.PatientSex
    b = rows["b.dcm"]
    assert b["protocol_name"] is None and b["procedure_code"] is None and b["first_code"] is None
    assert b["slice_thickness"] == str(pydicom.dcmread(io.BytesIO(bare)).SliceThickness)


def test_an_extra_tag_added_later_is_read_on_the_next_run(tmp_path: Path):
    rules = _rules(tmp_path, None)
    _drop(tmp_path, {"a.dcm": _image(ProtocolName="KNEE")})
    LocalZones(tmp_path, rules).receive()
    first = _load(tmp_path, rules)
    assert "protocol_name" not in first["a.dcm"]
    later = _rules(tmp_path, 'extra_tags:\n  protocol_name: "(0018,1030)"\n')
    again = _load(tmp_path, later)
    assert again["a.dcm"]["protocol_name"] == "KNEE"
    assert again["a.dcm"]["sop_instance_uid"] == first["a.dcm"]["sop_instance_uid"]


@pytest.mark.parametrize(
    "spec, problem",
    [
        ("sop_instance_uid: SOPInstanceUID", "already a column"),
        ("patient_name: PatientName", "mark it `pii: true`"),
        ("x: NoSuchKeyword", "not a keyword of the DICOM dictionary"),
        ("x: Modality.CodeValue", "not a sequence"),
        ("x: ProcedureCodeSequence", "is a sequence"),
        ("x: 'SliceThickness[0]'", "picks an item"),
        ("x: '(0018,005'", "not a keyword, a (gggg,eeee) tag"),
        ("x: PixelData", "pixel data"),
        ("Bad-Name: Modality", "lower_snake_case"),
        ("x: {tag: Modality, pii: 1}", "true or false"),
    ],
)
def test_bad_extra_tags_are_rule_problems(tmp_path: Path, spec: str, problem: str):
    with pytest.raises(RulesError) as e:
        _rules(tmp_path, "extra_tags:\n  " + spec + "\n")
    assert problem in str(e.value) and "dicom.yaml: extra_tags." in str(e.value)


def test_tag_paths():
    assert parse_path("(0018,0050)") == ((((0x0018 << 16) | 0x0050, 0),), None)
    steps, problem = parse_path("RequestAttributesSequence[2].ScheduledProcedureStepID")
    assert problem is None and steps == ((0x00400275, 2), (0x00400009, 0))
    steps, problem = parse_path("(0009,1001)")  # a private tag: its VR comes from the file
    assert problem is None and steps == ((0x00091001, 0),)


class _Counting:
    """A real store, with the bytes its ranged reads return counted."""

    def __init__(self, store):
        self.store, self.bytes = store, 0

    def read_range(self, key, start, length):
        data = self.store.read_range(key, start, length)
        self.bytes += len(data)
        return data

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_a_header_is_read_from_a_remote_store_by_ranges(tmp_path: Path, any_store):
    """The DICOM step's own parse (no saved header, or a new extra tag) reads the header's blocks and the
    pixel data's end from S3/SFTP, not the 512 KB image, with the values of a local read."""
    ds = pydicom.dcmread(io.BytesIO(_image(ProtocolName="CHEST")))
    ds.Rows = ds.Columns = 512
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelData = bytes(512 * 512 * 2)
    local = tmp_path / "big.dcm"
    ds.save_as(local, enforce_file_format=True)
    any_store.upload(local, "raw/big.dcm")
    extras = _rules(tmp_path, EXTRAS).dicom_tags
    counting = _Counting(any_store)
    remote = parse_stored(counting, "raw/big.dcm", "big.dcm", extras)
    assert remote == parse(local, "big.dcm", extras)
    assert remote["row"]["protocol_name"] == "CHEST" and remote["row"]["rows"] == 512
    assert counting.bytes <= 2 * 65536 < local.stat().st_size / 4
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(local.read_bytes()[:-1000])
    any_store.upload(cut, "raw/cut.dcm")
    assert parse_stored(any_store, "raw/cut.dcm", "cut.dcm")["fault"]["code"] == "truncated_pixels"

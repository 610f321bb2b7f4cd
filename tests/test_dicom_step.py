"""DICOM through the pipeline: one row per SOP instance, manifest and slice committed together."""

from __future__ import annotations

from pathlib import Path

from pydicom.data import get_testdata_file

from medvault.platform.rules import load_rules
from medvault.platform.steps.dicom import process as process_dicom
from medvault.platform.steps.receive import receive
from medvault.platform.stores.local import LocalStore
from medvault.platform.warehouse.db import Warehouse
from medvault.platform.zones import QuarantineZone
from tests.helpers import LocalZones, step_context

ROOT = Path(__file__).resolve().parents[1]


def test_resent_instance_is_quarantined_not_loaded_twice(tmp_path: Path):
    folder = tmp_path / "drops" / "aurora_eye" / "2026-03-02"
    folder.mkdir(parents=True)
    image = Path(get_testdata_file("CT_small.dcm", download=False)).read_bytes()
    (folder / "a.dcm").write_bytes(image)
    (folder / "b.dcm").write_bytes(image + b"\x00\x00")  # the same instance re-sent, other bytes
    (folder / "_DONE").write_text("")
    rules = load_rules(ROOT / "rules")
    quarantine = QuarantineZone(LocalStore(tmp_path / "q"))
    with Warehouse(tmp_path / "w.duckdb").connect() as con:
        LocalZones(tmp_path, rules).receive(con)
        summary = process_dicom(step_context(tmp_path, rules))
        status = dict(
            con.execute(
                "SELECT key, status || ':' || coalesce(reason_code, '') FROM ops.file_manifest"
            ).fetchall()
        )
        rows = con.execute("SELECT _source_key FROM dicom.instances").fetchall()
        again = process_dicom(step_context(tmp_path, rules))
        rows_again = con.execute("SELECT count(*) FROM dicom.instances").fetchall()[0][0]
    assert (summary.loaded, summary.quarantined) == (1, 1)
    assert status == {
        "aurora_eye/2026-03-02/a.dcm": "loaded:",
        "aurora_eye/2026-03-02/b.dcm": "quarantined:duplicate_instance",
    }
    assert rows == [("aurora_eye/2026-03-02/a.dcm",)]
    assert (again.loaded, rows_again) == (1, 1), "rerun: the slice is replaced, not appended"
    reason_key = next(o.key for o in quarantine.store.list_objects() if o.key.endswith("_b.dcm.reason.json"))
    reason = quarantine.reason(reason_key.removesuffix(".reason.json"))
    assert reason["file"] == "aurora_eye/2026-03-02/b.dcm" and reason["column"] == "SOPInstanceUID"
    assert "already loaded from a.dcm" in reason["message"]


def test_same_instance_on_two_dates_fails_the_uniqueness_check(tmp_path: Path):
    import dagster as dg

    from medvault.definitions import build_definitions
    from medvault.platform.config import Settings
    from medvault.runner import run_pending

    settings = Settings.from_env({"MEDVAULT_HOME": str(tmp_path), "MEDVAULT_RULES": str(ROOT / "rules")})
    settings.ensure_folders()
    image = Path(get_testdata_file("CT_small.dcm", download=False)).read_bytes()
    for day, data in (("2026-03-02", image), ("2026-03-03", image + b"\x00\x00")):
        folder = settings.drops / "aurora_eye" / day
        folder.mkdir(parents=True)
        (folder / "ct.dcm").write_bytes(data)
        (folder / "_DONE").write_text("")
    defs = build_definitions(settings)
    with dg.instance_for_test(temp_dir=str(settings.dagster_home)) as instance:
        report = run_pending(defs, instance, settings, settle_seconds=0, log=lambda *_: None)
        history = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey(["dicom", "instances"]), "images_accounted"), limit=5
        )
    assert report.failed == [] and report.succeeded == 2
    outcomes = sorted(h.event.dagster_event.event_specific_data.passed for h in history)
    assert outcomes == [False, True], "the second date re-delivers an instance the first one loaded"


def test_changed_image_and_old_bytes_under_a_new_name(tmp_path: Path):
    """img1 changes content and its old bytes come back as img9: the manifest and the slice agree."""
    import io

    import pydicom

    original = Path(get_testdata_file("CT_small.dcm", download=False)).read_bytes()
    ds = pydicom.dcmread(io.BytesIO(original))
    original_uid = str(ds.SOPInstanceUID)
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.2.1125.1.99"
    out = io.BytesIO()
    ds.save_as(out)
    changed = out.getvalue()
    folder = tmp_path / "drops" / "aurora_eye" / "2026-03-02"
    folder.mkdir(parents=True)
    (folder / "_DONE").write_text("")
    rules = load_rules(ROOT / "rules")
    with Warehouse(tmp_path / "w.duckdb").connect() as con:

        def run():
            receive(step_context(tmp_path, rules), LocalStore(tmp_path / "drops"), "local")
            return process_dicom(step_context(tmp_path, rules))

        (folder / "img1.dcm").write_bytes(original)
        run()
        (folder / "img1.dcm").write_bytes(changed)
        (folder / "img9.dcm").write_bytes(original)
        run()
        status = sorted(con.execute("SELECT key, status FROM ops.file_manifest").fetchall())
        rows = sorted(con.execute("SELECT _source_key, sop_instance_uid FROM dicom.instances").fetchall())
        again = run()
        rows_again = sorted(
            con.execute("SELECT _source_key, sop_instance_uid FROM dicom.instances").fetchall()
        )
    assert status == [
        ("aurora_eye/2026-03-02/img1.dcm", "loaded"),
        ("aurora_eye/2026-03-02/img1.dcm", "superseded"),
        ("aurora_eye/2026-03-02/img9.dcm", "loaded"),
    ]
    assert rows == [
        ("aurora_eye/2026-03-02/img1.dcm", "1.2.826.0.1.3680043.2.1125.1.99"),
        ("aurora_eye/2026-03-02/img9.dcm", original_uid),
    ]
    assert rows_again == rows and again.files == 2

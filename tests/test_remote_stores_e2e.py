"""The whole platform on S3 (moto) and SFTP (sshd) drops, configured only by environment variables.

The same generated drop goes to a real loopback server; `medvault run`'s engine scans it through the
store's sensor logic and loads it. Counts must equal the generator's.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from medvault.definitions import build_definitions
from medvault.platform.config import Settings
from medvault.platform.warehouse.db import Warehouse
from medvault.runner import run_pending
from medvault.synth.generator import generate

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.network, pytest.mark.slow]


def _expected(summary: dict) -> tuple[int, int]:
    files = len(summary["files"])
    rows = sum(
        c["expected_rows"] for c in summary["counts"] if c["system"] != "dicom" and c["parent"] is None
    )
    return files, rows


def _run_and_count(tmp_path: Path) -> tuple[int, int, list]:
    settings = Settings.from_env()
    settings.ensure_folders()
    defs = build_definitions(settings)
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        report = run_pending(defs, instance, settings, settle_seconds=0, log=lambda *_: None)
        sites = instance.get_dynamic_partitions("site")
    assert report.failed == [] and report.requested == 1
    with Warehouse(settings.warehouse).connect(read_only=True) as con:
        loaded = con.execute("SELECT count(*) FROM ops.file_manifest WHERE status = 'loaded'").fetchall()[0][
            0
        ]
        rows = con.execute(
            "SELECT sum(rows_loaded) FROM ops.file_manifest WHERE status = 'loaded' AND system <> 'dicom'"
        ).fetchall()[0][0]
        stores = [r[0] for r in con.execute("SELECT DISTINCT store FROM ops.file_manifest").fetchall()]
    return loaded, rows, [sites, stores]


def test_s3_drops_load_end_to_end(s3_server, s3_bucket, tmp_path, monkeypatch):
    client, bucket = s3_bucket
    local = tmp_path / "generated"
    summary = generate(local, sites=1, days=1, seed=5).to_dict()
    for path in sorted(p for p in local.rglob("*") if p.is_file()):
        client.upload_file(str(path), bucket, f"incoming/{path.relative_to(local).as_posix()}")
    home = tmp_path / "home"
    for name, value in {
        "MEDVAULT_HOME": str(home),
        "MEDVAULT_RULES": str(ROOT / "rules"),
        "MEDVAULT_STORES": "s3",
        "MEDVAULT_S3_BUCKET": bucket,
        "MEDVAULT_S3_PREFIX": "incoming",
        "MEDVAULT_S3_ENDPOINT_URL": s3_server.endpoint_url,
    }.items():
        monkeypatch.setenv(name, value)
    loaded, rows, (sites, stores) = _run_and_count(tmp_path)
    assert (loaded, rows) == _expected(summary)
    assert sites == ["aurora_eye"] and stores == ["s3"]


def test_sftp_drops_load_end_to_end(sftp_server, sftp_root, tmp_path, monkeypatch):
    summary = generate(sftp_root, sites=1, days=1, seed=6).to_dict()
    home = tmp_path / "home"
    for name, value in {
        "MEDVAULT_HOME": str(home),
        "MEDVAULT_RULES": str(ROOT / "rules"),
        "MEDVAULT_STORES": "sftp",
        "MEDVAULT_SFTP_HOST": sftp_server.host,
        "MEDVAULT_SFTP_PORT": str(sftp_server.port),
        "MEDVAULT_SFTP_USER": sftp_server.username,
        "MEDVAULT_SFTP_KEY_FILE": str(sftp_server.key_file),
        "MEDVAULT_SFTP_KNOWN_HOSTS": str(sftp_server.known_hosts),
        "MEDVAULT_SFTP_ROOT": str(sftp_root),
    }.items():
        monkeypatch.setenv(name, value)
    loaded, rows, (sites, stores) = _run_and_count(tmp_path)
    assert (loaded, rows) == _expected(summary)
    assert sites == ["aurora_eye"] and stores == ["sftp"]


def test_lake_and_quarantine_on_s3_end_to_end(s3_server, s3_bucket, tmp_path, monkeypatch):
    """Local drops, the lake and the quarantine in a bucket: the same run, every copy in S3."""
    client, bucket = s3_bucket
    drops = tmp_path / "drops"
    summary = generate(drops, sites=1, days=1, seed=7).to_dict()
    stray = drops / "aurora_eye" / "2026-03-02" / "notes.txt"
    stray.write_text("not an extract\n")
    home = tmp_path / "home"
    for name, value in {
        "MEDVAULT_HOME": str(home),
        "MEDVAULT_RULES": str(ROOT / "rules"),
        "MEDVAULT_DROPS": str(drops),
        "MEDVAULT_LAKE": f"s3://{bucket}/lake",
        "MEDVAULT_QUARANTINE": f"s3://{bucket}/quarantine",
        "MEDVAULT_S3_ENDPOINT_URL": s3_server.endpoint_url,
    }.items():
        monkeypatch.setenv(name, value)
    loaded, rows, (sites, stores) = _run_and_count(tmp_path)
    assert (loaded, rows) == _expected(summary)
    keys = [
        o["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for o in page.get("Contents", [])
    ]
    raw = [k for k in keys if k.startswith("lake/raw/aurora_eye/")]
    assert len(raw) == loaded, "one immutable raw copy per loaded file, in the bucket"
    assert any(k.startswith("quarantine/aurora_eye/") and k.endswith("_notes.txt.reason.json") for k in keys)
    assert not any(k.startswith("lake/landing/") for k in keys), "the landing area is emptied once recorded"
    assert not (home / "lake").exists() and not (home / "quarantine").exists(), "nothing written locally"

"""Seed 000's many-to-one topology for real: site agents read their MariaDB PACS and push to one central
OpenSSH sshd (or a moto S3 bucket); the central platform's sensor logic picks the drops up and stages
them. Staged rows equal the database rows; an update wins; a push killed or cut mid-transfer leaves no
half file to the sensor and the next run completes without a duplicate."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import dagster as dg
import pytest

from medvault.definitions import build_definitions
from medvault.platform.agent.outbox import Outbox
from medvault.platform.agent.run import AgentError, once
from medvault.platform.config import Settings
from medvault.platform.drops.layout import DROP_DONE_MARKER, is_partial
from medvault.platform.warehouse.db import Warehouse
from medvault.runner import run_pending
from medvault.synth.generator import generate
from tests.agent_support import ROOT, agent_settings
from tests.servers import ThrottledProxy, write_known_hosts

pytestmark = [pytest.mark.network, pytest.mark.slow]
SITES = ("aurora_eye", "kestrel_imaging", "lothian_general")


def _central_env(monkeypatch, tmp_path: Path, **env: str) -> None:
    for name, value in {
        "MEDVAULT_HOME": str(tmp_path / "home"),
        "MEDVAULT_RULES": str(ROOT / "rules"),
        **env,
    }.items():
        monkeypatch.setenv(name, value)


def _central_on_sftp(monkeypatch, tmp_path: Path, server, root: Path) -> None:
    """The central platform reading the drop server the agents push to."""
    _central_env(
        monkeypatch,
        tmp_path,
        MEDVAULT_STORES="sftp",
        MEDVAULT_SFTP_HOST=server.host,
        MEDVAULT_SFTP_PORT=str(server.port),
        MEDVAULT_SFTP_USER=server.username,
        MEDVAULT_SFTP_KEY_FILE=str(server.key_file),
        MEDVAULT_SFTP_KNOWN_HOSTS=str(server.known_hosts),
        MEDVAULT_SFTP_ROOT=str(root),
    )


def _central_run(tmp_path: Path, name: str = "dagster"):
    """One `medvault run`: the sensor's scan of the drop store, the requested runs, in-process."""
    settings = Settings.from_env()
    settings.ensure_folders()
    (tmp_path / name).mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / name)) as instance:
        report = run_pending(
            build_definitions(settings), instance, settings, settle_seconds=0, log=lambda *_: None
        )
    assert report.failed == [], report.failed
    return settings, report


def _staged(settings: Settings, sql: str, params: tuple = ()) -> list[tuple]:
    with Warehouse(settings.warehouse).connect(read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def _db_instances(mariadb, site: str, version: str) -> set[tuple]:
    if version == "v1":
        sql = (
            "SELECT i.sop_iuid, se.series_iuid, f.file_size, i.updated_time FROM instance i "
            "JOIN series se ON se.pk = i.series_fk LEFT JOIN files f ON f.instance_fk = i.pk"
        )
    else:
        sql = (
            "SELECT i.sop_instance_uid, se.series_instance_uid, f.file_size, i.modified_at FROM instance i "
            "JOIN series se ON se.pk = i.series_fk LEFT JOIN files f ON f.instance_fk = i.pk"
        )
    return set(mariadb.execute(site, sql))


def _sftp_settings(server, root: Path, site: str, mariadb, tmp_path: Path, port: int | None = None, **kw):
    port = port or server.port
    known = tmp_path / f"known_hosts_{port}"
    write_known_hosts(known, server.host, port, server.host_public_key)
    return agent_settings(
        site=site,
        db=mariadb.url(site),
        to=f"sftp://{server.username}@{server.host}:{port}{root}",
        state=tmp_path / "state",
        sftp_key_file=str(server.key_file),
        sftp_known_hosts=str(known),
        **kw,
    )


def test_three_site_agents_push_over_sftp_and_the_staged_rows_equal_the_databases(
    mariadb, sftp_server, sftp_root, tmp_path, monkeypatch
):
    generate(tmp_path / "generated", sites=3, days=3, seed=21, pacs_db=mariadb.template())
    for site in SITES:
        report = once(_sftp_settings(sftp_server, sftp_root, site, mariadb, tmp_path))
        assert report.rows > 0 and report.destination.startswith("sftp://")
    _central_on_sftp(monkeypatch, tmp_path, sftp_server, sftp_root)
    settings, report = _central_run(tmp_path)
    assert report.requested == 3, "one partition per site"
    statuses = _staged(settings, "SELECT DISTINCT status FROM ops.file_manifest")
    assert statuses == [("loaded",)], "every file the agents sent is identified and loaded"
    for site, version in zip(SITES, ("v1", "v2", "v1"), strict=True):
        staged = set(
            _staged(
                settings,
                "SELECT sop_instance_uid, series_uid, file_size, modified_at FROM staging.harmony_pacs__instances "
                "WHERE _site = ?",
                (site,),
            )
        )
        assert staged == _db_instances(mariadb, site, version), site
        assert _staged(
            settings, "SELECT DISTINCT _version FROM staging.harmony_pacs__patients WHERE _site = ?", (site,)
        ) == [(version,)]

    # a changed row in the database arrives as an update that wins in staging
    site = "kestrel_imaging"
    pid = mariadb.execute(site, "SELECT patient_id FROM patient ORDER BY pk LIMIT 1")[0][0]
    mariadb.execute(
        site,
        "UPDATE patient SET patient_name = %s, modified_at = %s WHERE patient_id = %s",
        ("Renamed^Patient", datetime(2030, 6, 1, 12, 0), pid),
    )
    assert once(_sftp_settings(sftp_server, sftp_root, site, mariadb, tmp_path)).tables == {"patients": 1}
    settings, _ = _central_run(tmp_path, "dagster2")
    latest = _staged(
        settings,
        "SELECT patient_name, modified_at FROM staging.harmony_pacs__patients__latest "
        "WHERE _site = ? AND patient_id = ?",
        (site, pid),
    )
    assert latest == [("Renamed^Patient", datetime(2030, 6, 1, 12, 0))]
    count = _staged(
        settings, "SELECT count(*) FROM staging.harmony_pacs__patients__latest WHERE _site = ?", (site,)
    )
    assert count == [(mariadb.execute(site, "SELECT count(*) FROM patient")[0][0],)]


def test_an_agent_pushes_to_s3_and_the_central_sensor_loads_it(
    mariadb, s3_server, s3_bucket, tmp_path, monkeypatch
):
    client, bucket = s3_bucket
    generate(tmp_path / "generated", sites=2, days=2, seed=22, pacs_db=mariadb.template())
    site = "kestrel_imaging"
    settings = agent_settings(
        site=site,
        db=mariadb.url(site),
        to=f"s3://{bucket}/incoming",
        state=tmp_path / "state",
        s3_endpoint_url=s3_server.endpoint_url,
    )
    report = once(settings)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix="incoming/")["Contents"]]
    assert sum(k.endswith(".csv.gz") for k in keys) == len(report.tables)
    assert any(k.endswith(f"/{DROP_DONE_MARKER}") for k in keys) and not any(
        k.endswith(".part") for k in keys
    )
    _central_env(
        monkeypatch,
        tmp_path,
        MEDVAULT_STORES="s3",
        MEDVAULT_S3_BUCKET=bucket,
        MEDVAULT_S3_PREFIX="incoming",
        MEDVAULT_S3_ENDPOINT_URL=s3_server.endpoint_url,
    )
    central, _ = _central_run(tmp_path)
    staged = set(
        _staged(
            central,
            "SELECT sop_instance_uid, series_uid, file_size, modified_at FROM "
            "staging.harmony_pacs__instances WHERE _site = ?",
            (site,),
        )
    )
    assert staged == _db_instances(mariadb, site, "v2")


def _visible_data(root: Path) -> list[Path]:
    """What the drop sensor would take: every file but partial uploads."""
    return [p for p in root.rglob("*") if p.is_file() and not is_partial(p.name)]


def _wait_for_part(root: Path, pattern: str = "*.part", timeout: float = 60) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        parts = [p for p in root.rglob(pattern) if p.stat().st_size > 0]
        if parts:
            return parts[0]
        time.sleep(0.05)
    raise AssertionError("no upload started")


def test_an_agent_killed_mid_upload_leaves_no_half_file_and_the_next_run_sends_no_duplicate(
    mariadb, sftp_server, sftp_root, tmp_path, monkeypatch
):
    generate(tmp_path / "generated", sites=1, days=40, seed=23, pacs_db=mariadb.template())
    site = "aurora_eye"
    slow = ThrottledProxy(sftp_server.host, sftp_server.port, None, upload_bytes_per_second=6000)
    try:
        settings = _sftp_settings(sftp_server, sftp_root, site, mariadb, tmp_path, port=slow.port)
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "MEDVAULT_AGENT_SITE": site,
            "MEDVAULT_AGENT_DB": settings.db,
            "MEDVAULT_AGENT_TO": settings.to,
            "MEDVAULT_AGENT_STATE": str(settings.state),
            "MEDVAULT_AGENT_RULES": str(settings.rules),
            "MEDVAULT_AGENT_SFTP_KEY_FILE": settings.sftp_key_file,
            "MEDVAULT_AGENT_SFTP_KNOWN_HOSTS": settings.sftp_known_hosts,
        }
        agent = subprocess.Popen(
            [sys.executable, "-m", "medvault.cli", "agent", "once"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            part = _wait_for_part(sftp_root)
        finally:
            agent.send_signal(signal.SIGKILL)
            agent.wait(timeout=30)
    finally:
        slow.stop()
    assert part.exists() and not (part.parent / DROP_DONE_MARKER).exists()
    batch = Outbox(settings.state / site / "outbox").pending()[0]
    complete = {f["name"]: f["bytes"] for f in batch.files}
    for path in _visible_data(sftp_root):
        assert path.stat().st_size == complete[path.name], f"{path.name} is visible half-written"
    report = once(_sftp_settings(sftp_server, sftp_root, site, mariadb, tmp_path))
    assert report.pushed[0].batch == batch.id, "the killed batch is resumed, not extracted again"
    assert not list(sftp_root.rglob("*.part"))
    _central_on_sftp(monkeypatch, tmp_path, sftp_server, sftp_root)
    central, _ = _central_run(tmp_path)
    staged = _staged(
        central, "SELECT sop_instance_uid, count(*) FROM staging.harmony_pacs__instances GROUP BY 1"
    )
    assert {n for _, n in staged} == {1}, "no instance row arrived twice"
    assert {uid for uid, _ in staged} == {r[0] for r in _db_instances(mariadb, site, "v1")}


def test_a_server_cut_mid_transfer_fails_the_run_and_the_next_run_continues_the_file(
    mariadb, sftp_server, sftp_root, tmp_path
):
    generate(tmp_path / "generated", sites=1, days=3, seed=24, pacs_db=mariadb.template())
    site = "aurora_eye"
    # 4,000 more instances with random UIDs: a file of several SFTP write requests (32 KB each)
    mariadb.execute(
        site,
        "INSERT INTO instance (pk, series_fk, sop_iuid, sop_cuid, inst_no, updated_time) "
        "SELECT 100000 + seq, 1, CONCAT('2.25.', FLOOR(RAND() * 1e18), seq), '1.2.840.10008.5.1.4.1.1.2', seq, "
        "'2026-03-04 10:00:00' FROM seq_1_to_4000",
    )
    proxy = ThrottledProxy(sftp_server.host, sftp_server.port, None, upload_bytes_per_second=40000)
    port = proxy.port
    settings = _sftp_settings(sftp_server, sftp_root, site, mariadb, tmp_path, port=port)
    import threading

    failure: list[BaseException] = []

    def push():
        try:
            once(settings)
        except AgentError as exc:
            failure.append(exc)

    worker = threading.Thread(target=push)
    worker.start()
    part = _wait_for_part(sftp_root, "instances_*.part")  # the largest file, sent last
    proxy.stop()  # the server goes away mid-transfer
    worker.join(timeout=60)
    assert failure and f"port {port}" in str(failure[0]) and "failed after" in str(failure[0])
    kept = part.stat().st_size
    assert kept > 0 and not (part.parent / DROP_DONE_MARKER).exists()
    manifest = Outbox(settings.state / site / "outbox").pending()[0].files
    total = sum(f["bytes"] for f in manifest)
    back = ThrottledProxy(sftp_server.host, sftp_server.port, None, port=port)
    try:
        report = once(settings)
    finally:
        back.stop()
    assert report.bytes_sent <= total - kept, "the interrupted file continues where it stopped"
    assert not list(sftp_root.rglob("*.part"))
    sent = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in _visible_data(sftp_root)}
    assert sent.pop(DROP_DONE_MARKER) and sent == {f["name"]: f["sha256"] for f in manifest}


def test_check_refuses_an_unpinned_host_and_a_wrong_key(mariadb, sftp_server, sftp_root, tmp_path):
    from medvault.platform.agent.run import check

    generate(tmp_path / "generated", sites=1, days=1, seed=25, pacs_db=mariadb.template())
    site = "aurora_eye"
    good = _sftp_settings(sftp_server, sftp_root, site, mariadb, tmp_path)
    assert {r.name: r.ok for r in check(good)}["destination"]
    other = tmp_path / "other_known_hosts"
    write_known_hosts(other, sftp_server.host, sftp_server.port + 1, sftp_server.host_public_key)
    unpinned = {r.name: r for r in check(good.override(sftp_known_hosts=str(other)))}
    assert not unpinned["destination"].ok and "not in known_hosts" in unpinned["destination"].detail
    from tests.servers import ssh_keygen

    stranger = ssh_keygen(tmp_path / "stranger")
    wrong = {r.name: r for r in check(good.override(sftp_key_file=str(stranger)))}
    assert not wrong["destination"].ok and "authentication failed" in wrong["destination"].detail
    assert all(r.ok for n, r in wrong.items() if n != "destination"), "the other checks still ran and passed"
    assert not list(sftp_root.rglob("_agent_check*")), "the write probe was removed"

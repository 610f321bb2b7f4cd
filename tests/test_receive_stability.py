"""A run takes only complete uploads, and SFTP key passphrases come from the environment, resolved."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import dagster as dg
import pytest

from medvault.definitions import build_definitions
from medvault.platform.config import Settings
from medvault.platform.rules import load_rules
from medvault.platform.steps.receive import receive
from medvault.platform.stores.local import LocalStore
from medvault.platform.warehouse.db import Warehouse
from medvault.runner import run_pending
from tests.helpers import SMR01_HEADER as HEADER
from tests.helpers import SMR01_ROW as ROW
from tests.helpers import LocalZones, step_context

ROOT = Path(__file__).resolve().parents[1]


def _receive(tmp_path: Path, drops: Path, **kwargs):
    zones = LocalZones(tmp_path, load_rules(ROOT / "rules"))
    with Warehouse(tmp_path / "w.duckdb").connect() as con:
        summary = zones.receive(con, drops=drops.relative_to(tmp_path).as_posix(), **kwargs)
        keys = [r[0] for r in con.execute("SELECT key FROM ops.file_manifest ORDER BY key").fetchall()]
    return summary, keys


def test_only_what_the_sensor_saw_stable_is_taken(tmp_path: Path):
    folder = tmp_path / "drops" / "aurora_eye" / "2026-03-02"
    folder.mkdir(parents=True)
    done = folder / "smr01_a.csv"
    done.write_text(HEADER + ROW.format(n=1))
    writing = folder / "smr01_b.csv"
    writing.write_text(HEADER + ROW.format(n=2)[:30])  # an upload still being written in place
    store = LocalStore(tmp_path / "drops")
    ready = {"aurora_eye/2026-03-02/smr01_a.csv": store.stat("aurora_eye/2026-03-02/smr01_a.csv").version}
    summary, keys = _receive(tmp_path, tmp_path / "drops", ready=ready)
    assert keys == ["aurora_eye/2026-03-02/smr01_a.csv"]
    assert (summary.received, summary.pending) == (1, 1)


def test_backfill_takes_unmarked_files_once_settled(tmp_path: Path):
    folder = tmp_path / "drops" / "aurora_eye" / "2026-03-02"
    folder.mkdir(parents=True)
    (folder / "smr01_a.csv").write_text(HEADER + ROW.format(n=1))
    summary, keys = _receive(tmp_path, tmp_path / "drops", settle_seconds=60)
    assert keys == [] and summary.pending == 1, "just written, no marker: not yet"
    summary, keys = _receive(tmp_path, tmp_path / "drops", settle_seconds=60, now=time.time() + 61)
    assert keys == ["aurora_eye/2026-03-02/smr01_a.csv"] and summary.pending == 0


def test_done_marker_makes_a_file_complete(tmp_path: Path):
    folder = tmp_path / "drops" / "aurora_eye" / "2026-03-02"
    folder.mkdir(parents=True)
    (folder / "smr01_a.csv").write_text(HEADER + ROW.format(n=1))
    (folder / "smr01_a.csv.done").write_text("")
    summary, keys = _receive(tmp_path, tmp_path / "drops", settle_seconds=3600)
    assert keys == ["aurora_eye/2026-03-02/smr01_a.csv"]


@pytest.mark.network
def test_encrypted_sftp_key_passphrase_from_the_environment(sftp_server, sftp_root, tmp_path, monkeypatch):
    key = tmp_path / "site_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "s3cret-phrase", "-f", str(key)], check=True)
    authorized = sftp_server.workdir / "authorized_keys"
    original = authorized.read_text()
    authorized.write_text(original + key.with_suffix(".pub").read_text())
    try:
        folder = sftp_root / "aurora_eye" / "2026-03-02"
        folder.mkdir(parents=True)
        (folder / "smr01_a.csv").write_text(HEADER + ROW.format(n=1))
        (folder / "_DONE").write_text("")
        for name, value in {
            "MEDVAULT_HOME": str(tmp_path / "home"),
            "MEDVAULT_RULES": str(ROOT / "rules"),
            "MEDVAULT_STORES": "sftp",
            "MEDVAULT_SFTP_HOST": sftp_server.host,
            "MEDVAULT_SFTP_PORT": str(sftp_server.port),
            "MEDVAULT_SFTP_USER": sftp_server.username,
            "MEDVAULT_SFTP_KEY_FILE": str(key),
            "MEDVAULT_SFTP_KNOWN_HOSTS": str(sftp_server.known_hosts),
            "MEDVAULT_SFTP_ROOT": str(sftp_root),
            "MEDVAULT_SFTP_KEY_PASSPHRASE": "s3cret-phrase",
        }.items():
            monkeypatch.setenv(name, value)
        settings = Settings.from_env()
        settings.ensure_folders()
        defs = build_definitions(settings)
        with dg.instance_for_test(temp_dir=str(settings.dagster_home)) as instance:
            report = run_pending(defs, instance, settings, settle_seconds=0, log=lambda *_: None)
            logs = "\n".join(
                e.user_message or "" for r in instance.get_runs() for e in instance.all_logs(r.run_id)
            )
        assert report.failed == [] and report.succeeded == 1
        assert "s3cret-phrase" not in logs
        with Warehouse(settings.warehouse).connect(read_only=True) as con:
            assert con.execute("SELECT count(*) FROM staging.ndc_smr01__admissions").fetchall() == [(1,)]
    finally:
        authorized.write_text(original)


def test_a_store_failure_mid_read_fails_the_run_and_loses_nothing(tmp_path: Path):
    from medvault.platform.stores.base import StoreError

    class Flaky(LocalStore):
        """A real local store whose reads fail, as a dropped SFTP connection does after its retries."""

        def local_path(self, key):
            raise StoreError(f"{self.describe()}: read of {key} failed after 3 attempts")

        def download(self, key, dest):
            raise StoreError(f"{self.describe()}: read of {key} failed after 3 attempts")

    folder = tmp_path / "drops" / "aurora_eye" / "2026-03-02"
    folder.mkdir(parents=True)
    (folder / "smr01_a.csv").write_text(HEADER + ROW.format(n=1))
    (folder / "_DONE").write_text("")
    rules = load_rules(ROOT / "rules")
    with Warehouse(tmp_path / "w.duckdb").connect() as con:
        with pytest.raises(StoreError, match="failed after 3 attempts"):
            receive(step_context(tmp_path, rules), Flaky(tmp_path / "drops"), "local")
        assert con.execute("SELECT count(*) FROM ops.file_manifest").fetchall() == [(0,)], "not quarantined"
        summary = receive(step_context(tmp_path, rules), LocalStore(tmp_path / "drops"), "local")
    assert summary.received == 1

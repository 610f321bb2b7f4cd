"""What production throws at it: killed and stopped runs, special files, a store outage, file modes,
links planted in the lake, credentials in URLs. Each test reproduces the failure it guards against."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from medvault.instance import DAGSTER_YAML
from medvault.platform.redact import safe_error
from medvault.platform.stores.base import StoreError
from medvault.platform.stores.local import LocalStore
from medvault.platform.warehouse import Warehouse
from tests.helpers import smr01_csv

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _env(home: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDVAULT_", "DAGSTER_"))}
    return {**env, "MEDVAULT_HOME": str(home), **extra}


def _medvault(args, home: Path, **extra) -> subprocess.Popen:
    _create_instance(home / "dagster")
    return subprocess.Popen(
        [sys.executable, "-m", "medvault.cli", *args],
        env=_env(home, **extra),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: os.umask(0o022),  # a permissive caller: medvault must still keep files private
    )


def _create_instance(dagster_home: Path) -> None:
    """Create the instance's storage before medvault starts: the test then polls it while the run goes
    on, and two processes creating SQLite storage at once stamp its schema version twice."""
    if not (dagster_home / "dagster.yaml").exists():
        dagster_home.mkdir(parents=True, exist_ok=True)
        (dagster_home / "dagster.yaml").write_text(DAGSTER_YAML)
    dg.DagsterInstance.from_config(str(dagster_home)).dispose()


def _drop(home: Path, site: str, text: str, name: str = "smr01.csv", date: str = "2026-03-02") -> Path:
    folder = home / "drops" / site / date
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    (folder / "_DONE").write_text("")
    return folder


def _big_drop(home: Path, site: str, rows: int) -> None:
    """An SMR01 extract large enough that staging it takes seconds."""
    folder = _drop(home, site, smr01_csv(1))
    body = folder / "big_body.csv"
    duckdb.connect().execute(
        f"""COPY (SELECT 'SMRB' || i, '0101011234', '2026-03-01', '2026-03-02', 1, 1, 40, '1A', 'A', 'AB1 2CD', 'I10',
                  '', '', '', '', '', '', '2026-03-02T10:00:00' FROM range({rows}) r(i)) TO '{body}' (HEADER false)"""
    )
    (folder / "smr01_big.csv").write_text(smr01_csv()[:] + body.read_text())
    body.unlink()


def _wait_until_pool_held(dagster_home: Path, proc: subprocess.Popen, timeout: float = 180) -> None:
    """Until a step of the run holds the `warehouse` pool's slot (the load step, for these drops).

    The instance is opened once and its slots polled every 20 ms: the load step holds the slot for a
    few seconds only, which reopening the instance at each poll could miss on a fast machine."""
    deadline = time.monotonic() + timeout
    instance, last_error = None, None
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"medvault run ended before it held the pool:\n{proc.stdout.read()}")
            try:
                if instance is None:
                    instance = dg.DagsterInstance.from_config(str(dagster_home))
                if instance is not None:
                    slots = instance.event_log_storage.get_concurrency_info("warehouse").claimed_slots
                    if any(slot.step_key == "load" for slot in slots):
                        return
            except Exception as exc:  # noqa: BLE001 - the other process is still creating the instance's storage
                last_error = exc
            time.sleep(0.02)
        raise AssertionError(f"the load step never held the pool (last error: {last_error})")
    finally:
        if instance is not None:
            instance.dispose()


def _runs_and_slots(dagster_home: Path):
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        runs = {r.run_id: r.status for r in instance.get_runs(filters=dg.RunsFilter(job_name="ingest_job"))}
        slots = instance.event_log_storage.get_concurrency_info("warehouse").claimed_slots
    return runs, slots


def test_a_killed_run_does_not_block_the_next_one(tmp_path: Path):
    home = tmp_path / "home"
    _big_drop(home, "aurora_eye", 1_500_000)
    first = _medvault(["run", "--settle", "0"], home)
    _wait_until_pool_held(home / "dagster", first)
    first.send_signal(signal.SIGKILL)  # the OOM killer, a power cut
    first.wait(timeout=30)
    runs, slots = _runs_and_slots(home / "dagster")
    assert list(runs.values()) == [dg.DagsterRunStatus.STARTED] and len(slots) == 1, (
        "left holding the pool",
        runs,
    )
    _drop(home, "kestrel_imaging", smr01_csv(5))
    second = _medvault(["run", "--settle", "0"], home)
    out, _ = second.communicate(timeout=240)
    assert "recovered 1 run(s) left by a dead process" in out, out
    assert "requested, 2 succeeded" in out or "succeeded" in out, out
    runs, slots = _runs_and_slots(home / "dagster")
    assert sorted(s.value for s in runs.values()).count("SUCCESS") >= 1
    assert dg.DagsterRunStatus.FAILURE in runs.values(), "the dead run is marked failed"
    assert slots == [], "and its pool slot is free"
    with Warehouse(home / "warehouse.duckdb").connect(read_only=True) as con:
        sites = {
            r[0] for r in con.execute("SELECT DISTINCT _site FROM staging.ndc_smr01__admissions").fetchall()
        }
    assert "kestrel_imaging" in sites


def test_sigterm_stops_medvault_run_cleanly(tmp_path: Path):
    home = tmp_path / "home"
    _big_drop(home, "aurora_eye", 1_500_000)
    _drop(home, "kestrel_imaging", smr01_csv(5))
    proc = _medvault(["run", "--settle", "0"], home)
    _wait_until_pool_held(home / "dagster", proc)
    proc.send_signal(signal.SIGTERM)  # a container stop
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    assert "STOPPED: interrupted" in out
    runs, slots = _runs_and_slots(home / "dagster")
    assert list(runs.values()) == [dg.DagsterRunStatus.FAILURE], "no further run was started"
    assert slots == []


def test_a_named_pipe_is_quarantined_unread_and_the_rest_loads(tmp_path: Path):
    home = tmp_path / "home"
    folder = _drop(home, "aurora_eye", smr01_csv(1, 2))
    os.mkfifo(folder / "pipe.csv")  # a reader opening it would wait forever
    os.mkfifo(home / "drops" / "stray_pipe")
    proc = _medvault(["run", "--settle", "0"], home)
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, out
    with Warehouse(home / "warehouse.duckdb").connect(read_only=True) as con:
        rows = con.execute("SELECT key, status, reason_code FROM ops.file_manifest ORDER BY key").fetchall()
    assert rows == [
        ("aurora_eye/2026-03-02/pipe.csv", "quarantined", "not_a_regular_file"),
        ("aurora_eye/2026-03-02/smr01.csv", "loaded", None),
        ("stray_pipe", "quarantined", "not_a_regular_file"),
    ]


def test_one_store_down_does_not_stop_the_others(tmp_path: Path):
    from tests.servers import start_moto_server

    home = tmp_path / "home"
    _drop(home, "aurora_eye", smr01_csv(1))
    moto = start_moto_server()
    _, bucket = moto.make_bucket()
    endpoint = moto.endpoint_url
    moto.stop()  # S3 is down
    env = {"MEDVAULT_STORES": "s3,local", "MEDVAULT_S3_BUCKET": bucket, "MEDVAULT_S3_ENDPOINT_URL": endpoint}
    env |= {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_MAX_ATTEMPTS": "1"}
    proc = _medvault(["run", "--settle", "0"], home, **env)
    out, _ = proc.communicate(timeout=240)
    assert proc.returncode == 1, out
    assert "FAILED: s3 scan" in out and "Traceback" not in out, out
    assert "1 partition run(s) requested, 1 succeeded" in out and "marts refreshed: yes" in out


def test_patient_data_is_created_owner_only_whatever_the_umask(tmp_path: Path):
    home = tmp_path / "home"
    folder = _drop(home, "aurora_eye", smr01_csv(1))
    (folder / "notes.txt").write_text("not an extract\n")  # quarantined
    proc = _medvault(["run", "--settle", "0"], home)
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, out
    checked = 0
    for place in ("warehouse.duckdb", "lake", "quarantine", "dagster"):
        for path in [home / place, *(home / place).rglob("*")] if (home / place).is_dir() else [home / place]:
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode & 0o077 == 0, f"{path.relative_to(home)} is {oct(mode)}"
            checked += 1
    assert checked > 20


def test_writes_refuse_links_planted_in_the_lake(tmp_path: Path):
    lake, outside = tmp_path / "lake", tmp_path / "outside"
    lake.mkdir()
    outside.mkdir()
    os.symlink(outside, lake / "raw")
    src = tmp_path / "x.csv"
    src.write_text("a\n")
    store = LocalStore(lake)
    with pytest.raises(StoreError, match="symbolic link"):
        store.upload(src, "raw/x.csv")
    with pytest.raises(StoreError, match="symbolic link"):
        store.put_bytes("raw/y.json", b"{}")
    (lake / "landing").mkdir()
    (lake / "landing" / "a.csv").write_text("a\n")
    with pytest.raises(StoreError, match="symbolic link"):
        store.move("landing/a.csv", "raw/a.csv")
    assert list(outside.iterdir()) == [], "nothing was written through the link"


def test_credentials_in_urls_are_masked_in_errors_and_config(tmp_path: Path):
    assert safe_error(OSError("cannot reach http://AKIA1:s3cr3t@minio:9000/b")) == (
        "OSError: cannot reach http://***@minio:9000/b"
    )
    out = subprocess.run(
        [sys.executable, "-m", "medvault.cli", "config"],
        env=_env(tmp_path, MEDVAULT_S3_ENDPOINT_URL="http://AKIA1:s3cr3t@minio:9000"),
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    assert "s3cr3t" not in out and "http://***@minio:9000" in out


def test_strays_with_the_same_name_and_bytes_keep_their_own_reasons(tmp_path: Path):
    home = tmp_path / "home"
    drops = home / "drops"
    (drops / "aurora_eye").mkdir(parents=True)
    (drops / "notes.csv").write_text("a,b\n1,2\n")  # at the root
    (drops / "aurora_eye" / "notes.csv").write_text("a,b\n1,2\n")  # beside the date folders
    proc = _medvault(["run", "--settle", "0"], home)
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, out
    with Warehouse(home / "warehouse.duckdb").connect(read_only=True) as con:
        rows = con.execute(
            "SELECT key, quarantine_path FROM ops.file_manifest WHERE site = '_strays' ORDER BY key"
        ).fetchall()
    assert [r[0] for r in rows] == ["aurora_eye/notes.csv", "notes.csv"]
    assert rows[0][1] != rows[1][1], "two quarantine entries, each with its reason"


def test_the_raw_copy_is_the_bytes_that_were_hashed(tmp_path: Path):
    """The file is copied once and hashed and identified from that copy: a source rewritten meanwhile
    cannot give a raw copy that differs from its recorded sha256."""
    import hashlib

    from medvault.platform.rules import load_rules
    from medvault.platform.steps.receive import receive
    from tests.helpers import step_context

    class RewrittenAfterRead(LocalStore):
        def download(self, key, dest):
            out = super().download(key, dest)
            (self.root / key).write_text(smr01_csv(7, 8, 9))  # the site rewrites the file right after
            return out

    _drop(tmp_path, "aurora_eye", smr01_csv(1))
    rules = load_rules(ROOT / "rules")
    summary = receive(step_context(tmp_path, rules), RewrittenAfterRead(tmp_path / "drops"), "local")
    assert summary.received == 1
    with Warehouse(tmp_path / "w.duckdb").connect(read_only=True) as con:
        sha, raw_path = con.execute("SELECT sha256, raw_path FROM ops.file_manifest").fetchone()
    kept = (tmp_path / "lake" / raw_path).read_bytes()
    assert hashlib.sha256(kept).hexdigest() == sha
    assert kept == smr01_csv(1).encode(), "the bytes that were read, not the rewrite"


def test_truncated_images_and_files_only_named_dcm_are_quarantined(tmp_path: Path):
    """A DICOM cut in its pixel data, an image without pixel data, and text or CSV named `.dcm`: none is
    loaded, each with its own reason; the good image loads."""
    import io

    import pydicom
    from pydicom.data import get_testdata_file

    from medvault.platform.rules import load_rules
    from medvault.platform.steps.dicom import process
    from tests.helpers import LocalZones, step_context

    image = Path(get_testdata_file("CT_small.dcm", download=False)).read_bytes()
    ds = pydicom.dcmread(io.BytesIO(image))
    del ds.PixelData
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.2.1125.1.77"
    no_pixels = io.BytesIO()
    ds.save_as(no_pixels)
    folder = _drop(tmp_path, "aurora_eye", "note\n", name="notes.dcm")
    (folder / "good.dcm").write_bytes(image)
    (folder / "cut.dcm").write_bytes(image[: len(image) - 4000])
    (folder / "nopixels.dcm").write_bytes(no_pixels.getvalue())
    (folder / "patients.dcm").write_text(smr01_csv(1))
    rules = load_rules(ROOT / "rules")
    LocalZones(tmp_path, rules).receive()
    process(step_context(tmp_path, rules))
    with Warehouse(tmp_path / "w.duckdb").connect(read_only=True) as con:
        fates = dict(
            con.execute(
                "SELECT split_part(key, '/', 3), status || ':' || coalesce(reason_code, '') FROM ops.file_manifest"
            ).fetchall()
        )
        loaded = con.execute("SELECT _source_key FROM dicom.instances").fetchall()
    assert fates == {
        "good.dcm": "loaded:",
        "cut.dcm": "quarantined:truncated_pixels",
        "nopixels.dcm": "quarantined:truncated_pixels",
        "notes.dcm": "quarantined:not_dicom",
        "patients.dcm": "quarantined:not_dicom",
    }
    assert loaded == [("aurora_eye/2026-03-02/good.dcm",)]


def _live_run_holds_the_pool(dagster_home: Path) -> dg.DagsterRun:
    """A run of this (live) test process holding the one warehouse slot, as a long load would."""
    _create_instance(dagster_home)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        holder = dg.DagsterRun(
            job_name="ingest_job",
            run_id="feedc0de-0000-4000-8000-000000000000",
            status=dg.DagsterRunStatus.STARTED,
            tags={"medvault/pid": str(os.getpid()), "medvault/host": os.uname().nodename},
        )
        instance.add_run(holder)
        instance.event_log_storage.set_concurrency_slots("warehouse", 1)
        assert instance.event_log_storage.claim_concurrency_slot(
            "warehouse", holder.run_id, "load"
        ).is_claimed
    return holder


def _wait_until_waiting_for_the_pool(dagster_home: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        while time.monotonic() < deadline and proc.poll() is None:
            info = instance.event_log_storage.get_concurrency_info("warehouse")
            if any(step.assigned_timestamp is None for step in info.pending_steps):
                return
            time.sleep(0.02)
    raise AssertionError("medvault run never waited for the pool")


def test_a_wait_for_the_pool_behind_a_live_run_has_a_bound_and_a_sentence(tmp_path: Path):
    home = tmp_path / "home"
    _drop(home, "kestrel_imaging", smr01_csv(5))
    holder = _live_run_holds_the_pool(home / "dagster")
    started = time.monotonic()
    proc = _medvault(["run", "--settle", "0"], home, MEDVAULT_POOL_WAIT_SECONDS="3")
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 130, out
    assert "for the warehouse pool, held by run feedc0de (step load, pid" in out, out
    assert time.monotonic() - started < 120
    runs, slots = _runs_and_slots(home / "dagster")
    assert sorted(s.value for s in runs.values()) == ["FAILURE", "STARTED"], (
        "the waiting run failed, the holder is untouched"
    )
    assert [s.run_id for s in slots] == [holder.run_id]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_or_sigterm_stops_a_run_that_waits_for_the_pool(tmp_path: Path, sig):
    home = tmp_path / "home"
    _drop(home, "kestrel_imaging", smr01_csv(5))
    holder = _live_run_holds_the_pool(home / "dagster")
    proc = _medvault(["run", "--settle", "0"], home)  # the default bound: an hour
    _wait_until_waiting_for_the_pool(home / "dagster", proc)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    assert "STOPPED: interrupted" in out, out
    runs, slots = _runs_and_slots(home / "dagster")
    assert sorted(s.value for s in runs.values()) == ["FAILURE", "STARTED"]
    assert [s.run_id for s in slots] == [holder.run_id]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process, from /proc (clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_step_waiting_for_the_pool_sleeps_instead_of_spinning(tmp_path: Path):
    """Dagster 1.13's wait loop never sleeps (its interval is min([0, ...])): a waiting run kept a core
    busy, on two cores the one the holder needs. medvault corrects the interval; the waiting process now
    uses a small fraction of a core."""
    home = tmp_path / "home"
    _drop(home, "kestrel_imaging", smr01_csv(5))
    _live_run_holds_the_pool(home / "dagster")
    proc = _medvault(["run", "--settle", "0"], home)
    try:
        _wait_until_waiting_for_the_pool(home / "dagster", proc)
        time.sleep(0.5)
        cpu, wall = _cpu_seconds(proc.pid), time.monotonic()
        time.sleep(4)
        used = (_cpu_seconds(proc.pid) - cpu) / (time.monotonic() - wall)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    assert used < 0.25, f"the waiting run used {used:.0%} of a core"


def test_the_claim_interval_correction_applies_only_to_a_spinning_dagster():
    from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext

    from medvault import pool_wait

    assert pool_wait.sleep_between_claim_checks()  # Dagster 1.13.x: needed (or already applied)
    probe = object.__new__(InstanceConcurrencyContext)
    probe._pending_claims, probe._pending_timeouts = {"s"}, {"s": time.time() + 3}
    assert 2 < probe.interval_to_next_pending_claim_check() <= 3
    probe._pending_timeouts = {"s": time.time() - 1}
    assert probe.interval_to_next_pending_claim_check() == 0.0
    assert not pool_wait._spins_while_waiting()  # once corrected, the probe no longer sees a spin

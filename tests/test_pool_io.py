"""The warehouse pool is not held during file I/O: a slow SFTP receive does not block another partition.

A real sshd behind a loopback relay limited to 2 MB/s stands for a slow site link. Run A (slow_site, a
48 MB file over that link: 24 s, room for B's start on a loaded machine) and run B (fast_site, a small
local drop) are two `medvault`-style processes on one Dagster instance whose `warehouse` pool has one slot. B starts once A is fetching; B's staging must
finish while A is still downloading. Before the fetch/record split, A held the slot for the whole download.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from medvault.instance import ensure_dagster_home
from medvault.platform.warehouse import Warehouse
from tests.helpers import smr01_csv
from tests.servers import ThrottledProxy, write_known_hosts

pytestmark = [pytest.mark.network, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]
DATE = "2026-03-02"
RUN = """
import sys
import dagster as dg
from medvault.definitions import build_definitions
from medvault.platform.config import Settings

site = sys.argv[1]
defs = build_definitions(Settings.from_env())
with dg.DagsterInstance.get() as instance:
    instance.add_dynamic_partitions("site", [site])
    result = defs.resolve_job_def("ingest_job").execute_in_process(
        instance=instance,
        partition_key=dg.MultiPartitionKey({"site": site, "date": sys.argv[2]}),
        tags={"medvault/test": site},
        raise_on_error=False,
    )
sys.exit(0 if result.success else 1)
"""


def _start(site: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", RUN, site, DATE],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _step_time(instance, site: str, step: str, event: dg.DagsterEventType) -> float | None:
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"medvault/test": site}))
    for run in runs:
        for entry in instance.all_logs(run.run_id, of_type=event):
            if entry.step_key == step:
                return entry.timestamp
    return None


def test_slow_sftp_fetch_does_not_block_another_partitions_staging(sftp_server, sftp_root, tmp_path: Path):
    home = tmp_path / "home"
    dagster_home = ensure_dagster_home(home / "dagster")  # pool `warehouse`: one slot
    slow = sftp_root / "slow_site" / DATE
    slow.mkdir(parents=True)
    (slow / "big.bin").write_bytes(os.urandom(48 * 1024 * 1024))
    (slow / "_DONE").write_text("")
    fast = home / "drops" / "fast_site" / DATE
    fast.mkdir(parents=True)
    (fast / "smr01.csv").write_text(smr01_csv(1, 2))
    (fast / "_DONE").write_text("")

    proxy = ThrottledProxy(sftp_server.host, sftp_server.port, bytes_per_second=2 * 1024 * 1024)
    known = write_known_hosts(
        tmp_path / "known_hosts", sftp_server.host, proxy.port, sftp_server.host_public_key
    )
    base = {**os.environ, "MEDVAULT_HOME": str(home), "DAGSTER_HOME": str(dagster_home)}
    base["MEDVAULT_RULES"] = str(ROOT / "rules")
    slow_env = {
        **base,
        "MEDVAULT_STORES": "sftp",
        "MEDVAULT_SFTP_HOST": sftp_server.host,
        "MEDVAULT_SFTP_PORT": str(proxy.port),
        "MEDVAULT_SFTP_USER": sftp_server.username,
        "MEDVAULT_SFTP_KEY_FILE": str(sftp_server.key_file),
        "MEDVAULT_SFTP_KNOWN_HOSTS": str(known),
        "MEDVAULT_SFTP_ROOT": str(sftp_root),
    }
    try:
        run_a = _start("slow_site", slow_env)
        with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
            deadline = time.monotonic() + 120
            while (
                _step_time(instance, "slow_site", "raw__drops.fetch", dg.DagsterEventType.STEP_START) is None
            ):
                assert run_a.poll() is None, run_a.stdout.read().decode(errors="replace")
                assert time.monotonic() < deadline, "run A never started fetching"
                time.sleep(0.2)
            run_b = _start("fast_site", {**base, "MEDVAULT_STORES": "local"})
            out_b, _ = run_b.communicate(timeout=300)
            out_a, _ = run_a.communicate(timeout=300)
            assert run_b.returncode == 0, out_b.decode(errors="replace")[-3000:]
            assert run_a.returncode == 0, out_a.decode(errors="replace")[-3000:]
            fetched = _step_time(instance, "slow_site", "raw__drops.fetch", dg.DagsterEventType.STEP_SUCCESS)
            staged = _step_time(instance, "fast_site", "load", dg.DagsterEventType.STEP_SUCCESS)
    finally:
        proxy.stop()
    assert staged < fetched, f"B staged {fetched - staged:.1f}s after A's download ended: the pool was held"
    with Warehouse(home / "warehouse.duckdb").connect(read_only=True) as con:
        rows = con.execute("SELECT count(*) FROM staging.ndc_smr01__admissions").fetchall()[0][0]
        slow_files = con.execute("SELECT status FROM ops.file_manifest WHERE site = 'slow_site'").fetchall()
    assert rows == 2
    assert slow_files == [("quarantined",)], "the slow file was still accounted for"

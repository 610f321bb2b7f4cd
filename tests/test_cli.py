"""The `medvault` command as a user runs it: subprocesses, a real DAGSTER_HOME, real files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

ROOT = Path(__file__).resolve().parents[1]
MEDVAULT = [sys.executable, "-m", "medvault.cli"]


def _run(args: list[str], home: Path, **env) -> subprocess.CompletedProcess:
    environ = {**os.environ, "MEDVAULT_HOME": str(home), "MEDVAULT_RULES": str(ROOT / "rules"), **env}
    environ.pop("DAGSTER_HOME", None)
    return subprocess.run(
        [*MEDVAULT, *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300
    )


def test_rules_check_ok_and_failing(tmp_path: Path):
    ok = _run(["rules", "check"], tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "rules OK" in ok.stdout
    bad = tmp_path / "rules"
    (bad / "sources" / "x").mkdir(parents=True)
    (bad / "sites.yaml").write_text("sites: []\n")
    (bad / "sources" / "x" / "v1.yaml").write_text("system: x\nversion: v1\nformat: xls\ntables: {}\n")
    failed = _run(["rules", "check", "--rules", str(bad)], tmp_path)
    assert failed.returncode == 1
    assert "rules/sources/x/v1.yaml: format: 'xls' is not one of" in failed.stderr


def test_identify_says_what_and_why(tmp_path: Path):
    gen = _run(["generate", "--sites", "2", "--days", "1", "--out", str(tmp_path / "drops")], tmp_path)
    assert gen.returncode == 0, gen.stderr
    v2 = next((tmp_path / "drops" / "kestrel_imaging").glob("*/studies_*.csv"))
    out = _run(["identify", str(v2)], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "harmony_pacs v2 table studies" in out.stdout
    unknown = tmp_path / "mystery.csv"
    unknown.write_text("colour,flavour\nred,sweet\n")
    miss = _run(["identify", str(unknown)], tmp_path)
    assert miss.returncode == 1
    assert "NOT IDENTIFIED (unknown_source)" in miss.stdout and "colour" in miss.stdout


@pytest.mark.slow
def test_run_goes_through_a_real_dagster_home(tmp_path: Path):
    assert _run(["generate", "--sites", "1", "--days", "1"], tmp_path).returncode == 0
    first = _run(["run"], tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "1 partition run(s) requested, 1 succeeded" in first.stdout
    second = _run(["run"], tmp_path)
    assert "0 partition run(s) requested" in second.stdout, "the stored cursor: nothing new"
    status = _run(["status"], tmp_path)
    assert "(reconciles)" in status.stdout
    dagster_home = tmp_path / "dagster"
    assert "default_limit: 1" in (dagster_home / "dagster.yaml").read_text()
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        jobs = sorted(r.job_name for r in instance.get_runs())
        assert jobs == ["ingest_job", "marts_job"], "the runs are in the instance the UI reads"
        assert instance.get_dynamic_partitions("site") == ["aurora_eye"]


def test_invalid_rules_give_the_rules_report_not_a_traceback(tmp_path: Path):
    bad = tmp_path / "rules"
    (bad / "sources" / "x").mkdir(parents=True)
    (bad / "sites.yaml").write_text("sites: []\n")
    (bad / "sources" / "x" / "v1.yaml").write_text("system: x\nversion: v1\nformat: xls\ntables: {}\n")
    sample = tmp_path / "a.csv"
    sample.write_text("a,b\n1,2\n")
    for args in (["identify", str(sample)], ["run"]):
        out = _run(args, tmp_path, MEDVAULT_RULES=str(bad))
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert "Traceback" not in out.stderr, out.stderr
        assert "rules check failed: " in out.stderr
        assert "rules/sources/x/v1.yaml: format: 'xls' is not one of" in out.stderr


def test_a_bad_setting_is_one_sentence(tmp_path: Path):
    out = _run(["run"], tmp_path, MEDVAULT_LOOKBACK_DAYS="three")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip() == "medvault: MEDVAULT_LOOKBACK_DAYS must be a whole number, got 'three'"


def test_demo_command_runs_end_to_end(tmp_path):
    """`make demo` is `medvault demo`: the command itself, on one site and one day."""
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "MEDVAULT_HOME": str(tmp_path / "home"),
        "DAGSTER_HOME": str(tmp_path / "home" / "dagster"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "medvault.cli", "demo", "--sites", "1", "--days", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "generated" in done.stdout and "aurora_eye" in done.stdout

"""Operating medvault as a data engineer does: bad folders are isolated, quarantine is actionable, sites
can be removed, histories extended, ranges backfilled, and every CLI error is one sentence."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from medvault.platform.drops.scan import scan
from medvault.platform.stores.local import LocalStore
from medvault.platform.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]
MEDVAULT = [sys.executable, "-m", "medvault.cli"]


def _run(args: list[str], home: Path, cwd: Path | None = None, **env) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "MEDVAULT_RULES")}
    environ |= {"MEDVAULT_HOME": str(home), **env}
    return subprocess.run(
        [*MEDVAULT, *args], cwd=cwd or ROOT, env=environ, capture_output=True, text=True, timeout=600
    )


def _query(home: Path, sql: str) -> list[tuple]:
    with Warehouse(home / "warehouse.duckdb").connect(read_only=True) as con:
        return con.execute(sql).fetchall()


def test_scan_reports_out_of_range_and_future_folders_and_never_fails_for_one_site(tmp_path: Path):
    drops = tmp_path / "drops"
    for folder in ("rhine_vision/2025-12-31", "aurora_eye/2026-03-02", "aurora_eye/2099-01-01"):
        (drops / folder).mkdir(parents=True)
        (drops / folder / "a.csv").write_text("x\n1\n")
        (drops / folder / "_DONE").write_text("")
    (drops / "kestrel_imaging").mkdir()

    class OneSiteBroken(LocalStore):
        def list_prefixes(self, prefix=""):
            if prefix == "kestrel_imaging":
                raise OSError("site folder unreadable")
            return super().list_prefixes(prefix)

    result = scan(OneSiteBroken(drops), None, dates=("2026-01-01", "2026-12-02"))
    assert list(result.ready) == [("aurora_eye", "2026-03-02")]
    assert result.strays == [
        (
            "rhine_vision/2025-12-31/a.csv",
            "date_out_of_range",
            "'rhine_vision/2025-12-31/a.csv': the date folder is before MEDVAULT_START_DATE (2026-01-01)",
        )
    ]
    assert result.future == ["aurora_eye/2099-01-01"]
    assert set(result.errors) == {"kestrel_imaging"} and "unreadable" in result.errors["kestrel_imaging"]
    again = scan(LocalStore(drops), result.cursor, dates=("2026-01-01", "2026-12-02"))
    assert again.ready == {} and again.strays == [], "nothing handed out twice"


@pytest.mark.slow
def test_bad_folder_quarantined_other_site_ingested_then_site_removed(tmp_path: Path):
    home = tmp_path / "home"
    assert _run(["generate", "--sites", "1", "--days", "1"], home).returncode == 0
    bad = home / "drops" / "rhine_vision" / "2025-12-31"
    bad.mkdir(parents=True)
    (bad / "studies.csv").write_text("a,b\n1,2\n")
    first = _run(["run"], home)
    assert first.returncode == 0, first.stderr
    assert "1 partition run(s) requested, 1 succeeded" in first.stdout
    strays = _query(home, "SELECT key, reason_code FROM ops.file_manifest WHERE site = '_strays'")
    assert strays == [("rhine_vision/2025-12-31/studies.csv", "date_out_of_range")]
    refused = _run(["sites", "remove", "aurora_eye"], home)
    assert refused.returncode == 2 and "remove it with --purge" in refused.stderr
    assert "Traceback" not in refused.stderr
    shutil.rmtree(home / "drops" / "rhine_vision")
    removed = _run(["sites", "remove", "rhine_vision"], home)
    assert removed.returncode == 0, removed.stderr
    assert list((home / "lake" / "staged").glob("*/site=aurora_eye/*/data_0.parquet"))
    purged = _run(["sites", "remove", "aurora_eye", "--purge"], home)
    assert purged.returncode == 0, purged.stderr
    assert not list((home / "lake" / "staged").glob("*/site=aurora_eye/*/*")), "its staged Parquet too"
    assert _query(home, "SELECT count(*) FROM ops.file_manifest WHERE site = 'aurora_eye'") == [(0,)]
    assert _query(home, "SELECT count(*) FROM staging.harmony_pacs__studies") == [(0,)]
    assert not list((home / "lake" / "raw").glob("aurora_eye/*"))
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        assert instance.get_dynamic_partitions("site") == []


@pytest.mark.slow
def test_quarantined_file_released_once_its_source_is_defined(tmp_path: Path):
    home = tmp_path / "home"
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    assert _run(["generate", "--sites", "1", "--days", "1"], home).returncode == 0
    folder = home / "drops" / "aurora_eye" / "2026-03-02"
    (folder / "tastes_20260302.csv").write_text("colour,flavour\nred,sweet\nblue,sour\n")
    assert _run(["run"], home, MEDVAULT_RULES=str(rules)).returncode == 0
    listed = _run(["quarantine", "list", "--reason", "unknown_source"], home, MEDVAULT_RULES=str(rules))
    assert "tastes_20260302.csv" in listed.stdout
    file_id = next(line.split()[0] for line in listed.stdout.splitlines() if "tastes_" in line)
    shown = _run(["quarantine", "show", file_id], home, MEDVAULT_RULES=str(rules))
    assert '"code": "unknown_source"' in shown.stdout and "-> quarantined" in shown.stdout
    kept = _run(["quarantine", "release", file_id], home, MEDVAULT_RULES=str(rules))
    assert "still unknown_source" in kept.stdout, "the rules do not know it yet"
    (rules / "sources" / "tastes").mkdir()
    (rules / "sources" / "tastes" / "v1.yaml").write_text(
        "system: tastes\nversion: v1\nformat: csv\ntables:\n  tastes:\n    files: ['tastes_*.csv']\n"
        "    columns:\n      - {name: colour, source: colour, required: true}\n"
        "      - {name: flavour, source: flavour, required: true}\n"
    )
    released = _run(["quarantine", "release", "--reason", "unknown_source"], home, MEDVAULT_RULES=str(rules))
    assert released.returncode == 0, released.stdout + released.stderr
    assert "released 1 file(s)" in released.stdout and "ran 1 of 1 partition(s)" in released.stdout
    assert _query(home, "SELECT colour FROM staging.tastes__tastes ORDER BY 1") == [("blue",), ("red",)]
    history = _query(
        home,
        "SELECT from_status, to_status, reason_code FROM ops.file_events WHERE key LIKE '%tastes_%' "
        "ORDER BY changed_at, rowid",
    )
    assert history == [
        (None, "quarantined", "unknown_source"),
        ("quarantined", "received", "released"),
        ("received", "loaded", None),
    ]


@pytest.mark.slow
def test_continue_extends_history_and_backfill_reprocesses_a_range(tmp_path: Path):
    home = tmp_path / "home"
    assert _run(["generate", "--sites", "1", "--days", "2"], home).returncode == 0
    more = _run(["generate", "--sites", "1", "--days", "1", "--start", "2026-03-04", "--continue"], home)
    assert more.returncode == 0, more.stderr
    dates = sorted(p.name for p in (home / "drops" / "aurora_eye").iterdir())
    assert dates == ["2026-03-02", "2026-03-03", "2026-03-04"]
    out = _run(
        ["backfill", "--site", "aurora_eye", "--from", "2026-03-03", "--to", "2026-03-10", "--settle", "0"],
        home,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 partition(s) with drops between 2026-03-03 and 2026-03-10: 2 succeeded" in out.stdout
    days = _query(home, "SELECT DISTINCT CAST(date AS VARCHAR) FROM ops.file_manifest ORDER BY 1")
    assert days == [("2026-03-03",), ("2026-03-04",)]
    studies = _query(home, "SELECT count(*), count(DISTINCT study_uid) FROM staging.harmony_pacs__studies")
    assert studies[0][0] == studies[0][1], "the continued day repeats no study of the earlier ones"


def test_cli_errors_are_sentences_and_paths_do_not_depend_on_the_working_directory(tmp_path: Path):
    home = tmp_path / "home"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert _run(["--version"], home).stdout.startswith("medvault ")
    ok = _run(["rules", "check"], home, cwd=elsewhere)
    assert ok.returncode == 0 and "rules OK" in ok.stdout, "the project's rules, found from any folder"
    cases = [
        (["generate", "--sites", "0"], {}, "--sites and --days must be at least 1"),
        (["generate", "--start", "2026-02-30"], {}, "--start must be a date"),
        (["identify", str(tmp_path / "missing.csv")], {}, "no such file"),
        (["identify", str(tmp_path)], {}, "not a file"),
        (["run"], {"MEDVAULT_STORES": "local,ftp"}, "MEDVAULT_STORES takes local, s3, sftp"),
        (["run"], {"MEDVAULT_LOOKBACK_DAYS": "x"}, "MEDVAULT_LOOKBACK_DAYS must be a whole number"),
        (["run"], {"MEDVAULT_STORES": "s3"}, "the s3 drop store (MEDVAULT_STORES) needs MEDVAULT_S3_BUCKET"),
        (["quarantine", "show", "abcdef"], {}, "no quarantined file has the id"),
        (["backfill", "--from", "2026-03-01"], {}, "--site CODE"),
    ]
    for args, env, expected in cases:
        out = _run(args, home, cwd=elsewhere, **env)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert "Traceback" not in out.stderr, (args, out.stderr)
        assert expected in out.stderr, (args, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1, (args, out.stderr)
    help_text = _run(["generate", "--help"], home).stdout
    for option in ("--sites", "--days", "--seed", "--start", "--continue"):
        line = next(line for line in help_text.splitlines() if line.strip().startswith(option))
        assert len(line.split()) > 1 or option in help_text, option


def test_identify_json(tmp_path: Path):
    sample = tmp_path / "tastes.csv"
    sample.write_text("colour,flavour\nred,sweet\n")
    out = _run(["identify", str(sample), "--json"], tmp_path / "home")
    import json

    verdict = json.loads(out.stdout)
    assert out.returncode == 1 and verdict["identified"] is False and verdict["code"] == "unknown_source"

"""A vault load killed with SIGKILL in the middle of its transaction leaves the vault as it was, and the
rerun completes it: a real process, a real kill, the real DuckDB file reopened."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import duckdb

from medvault.platform.vault.ddl import create_vault_tables
from medvault.platform.vault.loader import load_partition
from tests.test_vault import _create_staging, make_rules

ROOT = Path(__file__).resolve().parents[1]
TABLES = [
    "hub_person",
    "hub_event",
    "link_person_event",
    "sat_event_study_details",
    "sat_event_study_details__seen",
]


def _stage(con, day: str, rows: int, description: str) -> None:
    con.execute(
        f"""INSERT INTO staging.pacs__studies
        SELECT 'UID-{day}-' || i, 'P' || (i % 500), DATE '2025-12-01', 'ACC' || i,
               CASE WHEN i % 3 = 0 THEN '{description}' ELSE 'CT head' END, 'CT', TIMESTAMP '{day} 08:00',
               'site_a', DATE '{day}', 'sha', 'key', 'v1', i + 1, now()
        FROM range({rows}) t(i)"""
    )


def _warehouse(path: Path) -> None:
    con = duckdb.connect(str(path))
    _create_staging(con)
    create_vault_tables(con, make_rules())
    _stage(con, "2026-01-01", 2000, "CT head")
    _stage(con, "2026-01-02", 2000, "CT chest")
    load_partition(con, make_rules(), "site_a", "2026-01-01", datetime(2026, 1, 1, 23))
    con.close()


def _counts(path: Path) -> dict:
    with duckdb.connect(str(path)) as con:
        return {t: con.execute(f'SELECT count(*) FROM vault."{t}"').fetchone()[0] for t in TABLES}


CHILD = textwrap.dedent(
    """
    import sys, time, duckdb
    from datetime import datetime
    from medvault.platform.vault import loader
    from tests.test_vault import make_rules

    run, calls = loader._execute, []
    def execute(con, plan, load_ts):  # after hub_event's INSERT (new rows), inside the transaction
        out = run(con, plan, load_ts)
        calls.append(out)
        if len(calls) == 2:
            assert out["inserted"] == 2000
            print("in transaction", flush=True)
            time.sleep(60)
        return out
    loader._execute = execute
    con = duckdb.connect(sys.argv[1])
    loader.load_partition(con, make_rules(), "site_a", "2026-01-02", datetime(2026, 1, 2, 23))
    """
)


def test_a_load_killed_in_its_transaction_leaves_the_vault_as_it_was(tmp_path: Path):
    db = tmp_path / "warehouse.duckdb"
    _warehouse(db)
    before = _counts(db)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db)], cwd=ROOT, stdout=subprocess.PIPE, text=True, env=os.environ
    )
    try:
        assert child.stdout.readline().strip() == "in transaction"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert _counts(db) == before, "nothing of the killed load is kept"

    with duckdb.connect(str(db)) as con:  # the rerun completes it
        load_partition(con, make_rules(), "site_a", "2026-01-02", datetime(2026, 1, 3, 1))
    reference = tmp_path / "reference.duckdb"
    _warehouse(reference)
    with duckdb.connect(str(reference)) as con:
        load_partition(con, make_rules(), "site_a", "2026-01-02", datetime(2026, 1, 2, 23))
    after, expected = _counts(db), _counts(reference)
    assert after == expected and after["hub_event"] == 4000 + 1 and after != before  # and the ghost row

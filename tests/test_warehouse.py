"""The warehouse writes UTC timestamps whatever the host's timezone."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from medvault.platform.warehouse.db import Warehouse


def test_timestamps_are_utc_under_another_timezone(tmp_path: Path):
    code = (
        "from medvault.platform.warehouse.db import Warehouse\n"
        f"w = Warehouse({str(tmp_path / 'w.duckdb')!r})\n"
        "with w.connect() as con:\n"
        "    print(con.execute('SELECT CAST(current_timestamp AS TIMESTAMP)').fetchall()[0][0].isoformat())\n"
    )
    env = {**os.environ, "TZ": "America/Los_Angeles"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    written = datetime.fromisoformat(out.stdout.strip())
    now = datetime.now(UTC).replace(tzinfo=None)
    assert abs((now - written).total_seconds()) < 120, (written, now)


def test_each_connection_is_held_to_the_configured_memory_limit(tmp_path):
    from medvault.platform.config import Settings, SettingsError

    settings = Settings.from_env({"MEDVAULT_HOME": str(tmp_path), "MEDVAULT_DUCKDB_MEMORY_LIMIT": "300MB"})
    with Warehouse(settings.warehouse, settings.duckdb_memory_limit).connect() as con:
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert limit in ("286.1 MiB", "300.0 MB"), limit  # DuckDB reports it in its own units
    with pytest.raises(SettingsError, match="MEDVAULT_DUCKDB_MEMORY_LIMIT must be an amount of memory"):
        Settings.from_env({"MEDVAULT_DUCKDB_MEMORY_LIMIT": "lots"})

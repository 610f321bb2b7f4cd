"""The warehouse writes UTC timestamps whatever the host's timezone."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path


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

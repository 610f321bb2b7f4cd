"""Write the dashboard: `MEDVAULT_HOME/dashboard/index.html`, replaced atomically (a reader never sees
half a page)."""

from __future__ import annotations

import os
from pathlib import Path

from medvault.platform.dashboard.data import collect
from medvault.platform.dashboard.page import render
from medvault.platform.rules.models import Rules


def dashboard_path(home: Path) -> Path:
    return home / "dashboard" / "index.html"


def write_dashboard(con, rules: Rules, home: Path, threshold: int) -> tuple[Path, dict]:
    """Build the page from the marts and the ledger; return its path and the data it shows."""
    data = collect(con, rules, threshold)
    path = dashboard_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.part")
    tmp.write_text(render(data), encoding="utf-8")
    os.replace(tmp, path)
    return path, data

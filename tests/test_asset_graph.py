"""The asset graph as a checked-in snapshot: a change to assets, groups, deps, partitions, checks, jobs,
sensors or schedules is a visible diff in review.

Regenerate after an intended change with `MEDVAULT_UPDATE_SNAPSHOT=1 .venv/bin/pytest tests/test_asset_graph.py`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

from medvault.definitions import build_definitions
from medvault.platform.config import Settings

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"


def _partitions(defn) -> str | None:
    if defn is None:
        return None
    if isinstance(defn, dg.MultiPartitionsDefinition):
        dims = {d.name: type(d.partitions_def).__name__ for d in defn.partitions_defs}
        return "multi(" + ", ".join(f"{k}: {v}" for k, v in sorted(dims.items())) + ")"
    return type(defn).__name__


def graph_snapshot(defs: dg.Definitions) -> dict:
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "partitions": _partitions(node.partitions_def),
            "checks": sorted(c.name for c in node.check_keys),
            "kinds": sorted(node.kinds),
            "pool": sorted({p for p in (node.pools or ()) if p}),
        }
    jobs = {}
    for job in sorted(defs.resolve_all_job_defs(), key=lambda j: j.name):
        if job.name.startswith("__"):
            continue
        selected = job.asset_layer.selected_asset_keys if job.asset_layer else set()
        jobs[job.name] = sorted(k.to_user_string() for k in selected)
    sensors = {
        s.name: {"jobs": sorted(t.job_name for t in s.targets), "interval": s.minimum_interval_seconds}
        for s in sorted(defs.sensors, key=lambda s: s.name)
    }
    schedules = {
        s.name: {"job": s.job_name, "cron": s.cron_schedule, "status": s.default_status.value}
        for s in sorted(defs.schedules, key=lambda s: s.name)
    }
    return {"assets": assets, "jobs": jobs, "sensors": sensors, "schedules": schedules}


def test_asset_graph_matches_snapshot(tmp_path: Path):
    settings = Settings.from_env(
        {
            "MEDVAULT_HOME": str(tmp_path),
            "MEDVAULT_RULES": str(ROOT / "rules"),
            "MEDVAULT_STORES": "local,s3,sftp",
        }
    )
    current = graph_snapshot(build_definitions(settings))
    text = json.dumps(current, indent=2, sort_keys=True) + "\n"
    if os.environ.get("MEDVAULT_UPDATE_SNAPSHOT"):
        SNAPSHOT.write_text(text)
    expected = json.loads(SNAPSHOT.read_text())
    assert current == expected, (
        "the asset graph changed; review the difference and regenerate the snapshot "
        "(MEDVAULT_UPDATE_SNAPSHOT=1 .venv/bin/pytest tests/test_asset_graph.py)"
    )

"""The Dagster instance medvault runs in: a real DAGSTER_HOME so runs, cursors and partitions persist."""

from __future__ import annotations

from pathlib import Path

from medvault.platform.config import use_dagster_home

DAGSTER_YAML = """\
# Written by medvault on first use; edit freely (medvault never overwrites it).
# Every asset that writes the DuckDB warehouse sits in the `warehouse` pool: one writer at a time.
concurrency:
  pools:
    default_limit: 1
  runs:
    # one run fetching while another writes keeps the single warehouse writer busy; more runs only contend
    max_concurrent_runs: 2
# A run that failed (a store briefly unreachable, say) is retried; every asset is idempotent per partition.
run_retries:
  enabled: true
  max_retries: 2
telemetry:
  enabled: false
"""


def ensure_dagster_home(path: Path) -> Path:
    """Create DAGSTER_HOME with a dagster.yaml (pool limit 1) if missing, export it, and return it."""
    path = Path(path).resolve()
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)  # run history and event logs can name patients' files
    config = path / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
        config.chmod(0o600)
    use_dagster_home(path)
    return path

"""Every location and setting medvault uses, read from environment variables in one place.

Why one module: the same code runs on a laptop (embedded DuckDB + local folders) and in production
(S3/SFTP/Postgres); only the environment changes. Each setting names its variable and default so the
README table and `medvault config` stay in step with the code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, default (as text) and what it is for."""

    env: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "MEDVAULT_HOME",
        "./.medvault",
        "Root of the embedded default: drops/, lake/, quarantine/, warehouse.duckdb.",
    ),
    Setting(
        "MEDVAULT_RULES",
        "./rules",
        "Folder of YAML rules: sites.yaml, sources/<system>/<version>.yaml, vault/.",
    ),
    Setting("MEDVAULT_DROPS", "$MEDVAULT_HOME/drops", "Local drop folder watched by the local store sensor."),
    Setting("MEDVAULT_LAKE", "$MEDVAULT_HOME/lake", "Lake root: immutable raw copies under lake/raw/."),
    Setting("MEDVAULT_QUARANTINE", "$MEDVAULT_HOME/quarantine", "Quarantined files and their JSON reasons."),
    Setting(
        "MEDVAULT_WAREHOUSE", "$MEDVAULT_HOME/warehouse.duckdb", "The DuckDB warehouse file (one writer)."
    ),
    Setting("MEDVAULT_START_DATE", "2026-01-01", "First day of the daily partition dimension."),
    Setting("MEDVAULT_STORES", "local", "Comma-separated drop stores with a sensor each: local, s3, sftp."),
    Setting(
        "MEDVAULT_LOOKBACK_DAYS",
        "3",
        "Sensor look-back window in days, counted back from each site's newest drop.",
    ),
    Setting(
        "MEDVAULT_FRESHNESS_HOURS",
        "36",
        "A site with no new file for longer fails the sites_fresh check (warning).",
    ),
    Setting(
        "MEDVAULT_SETTLE_SECONDS",
        "60",
        "Backfill/manual runs take a file without a completion marker once unchanged this long.",
    ),
    Setting(
        "MEDVAULT_RERUN_DELAY_SECONDS",
        "600",
        "A drop sensor asks again for a failed ingest run after this long (up to 10 times).",
    ),
    Setting("MEDVAULT_SENSOR_INTERVAL", "30", "Seconds between sensor ticks in the daemon."),
    Setting("MEDVAULT_S3_BUCKET", "", "S3 drop bucket (s3 store)."),
    Setting("MEDVAULT_S3_PREFIX", "", "Key prefix of the drop root inside the bucket."),
    Setting("MEDVAULT_S3_ENDPOINT_URL", "", "S3 endpoint for MinIO/Ceph/moto; empty for AWS."),
    Setting("MEDVAULT_S3_REGION", "us-east-1", "S3 region."),
    Setting("AWS_ACCESS_KEY_ID", "", "S3 credentials (standard AWS variables; never in files)."),
    Setting("AWS_SECRET_ACCESS_KEY", "", "S3 credentials (standard AWS variables; never in files)."),
    Setting("MEDVAULT_SFTP_HOST", "", "SFTP drop server host (sftp store)."),
    Setting("MEDVAULT_SFTP_PORT", "22", "SFTP port."),
    Setting("MEDVAULT_SFTP_USER", "", "SFTP user (key-only auth)."),
    Setting("MEDVAULT_SFTP_KEY_FILE", "", "Private key file for SFTP key auth."),
    Setting("MEDVAULT_SFTP_KEY_PASSPHRASE", "", "Passphrase of the private key, if any."),
    Setting(
        "MEDVAULT_SFTP_KNOWN_HOSTS", "", "known_hosts file pinning the server's host key (RejectPolicy)."
    ),
    Setting("MEDVAULT_SFTP_ROOT", "/", "Drop root folder on the SFTP server."),
    Setting(
        "DAGSTER_HOME",
        "$MEDVAULT_HOME/dagster",
        "Dagster instance folder: run history, sensor cursors, partitions.",
    ),
)


def _expand(value: str, home: Path) -> str:
    return value.replace("$MEDVAULT_HOME", str(home))


def env(name: str, environ: dict[str, str] | None = None) -> str:
    """The value of a documented setting, falling back to its default."""
    environ = os.environ if environ is None else environ
    setting = next((s for s in SETTINGS if s.env == name), None)
    if setting is None:
        raise KeyError(f"{name} is not a documented medvault setting")
    home = Path(environ.get("MEDVAULT_HOME") or "./.medvault").resolve()
    raw = environ.get(name) or setting.default
    return _expand(raw, home)


@dataclass(frozen=True)
class Settings:
    """Resolved locations of the embedded default; build with `Settings.from_env()`."""

    home: Path
    rules: Path
    drops: Path
    lake: Path
    quarantine: Path
    warehouse: Path
    dagster_home: Path
    start_date: date
    stores: tuple[str, ...] = field(default=("local",))
    lookback_days: int = 3

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        def get(name: str) -> str:
            return env(name, environ)

        return cls(
            home=Path(get("MEDVAULT_HOME")).resolve(),
            rules=Path(get("MEDVAULT_RULES")).resolve(),
            drops=Path(get("MEDVAULT_DROPS")).resolve(),
            lake=Path(get("MEDVAULT_LAKE")).resolve(),
            quarantine=Path(get("MEDVAULT_QUARANTINE")).resolve(),
            warehouse=Path(get("MEDVAULT_WAREHOUSE")).resolve(),
            dagster_home=Path(get("DAGSTER_HOME")).resolve(),
            start_date=date.fromisoformat(get("MEDVAULT_START_DATE")),
            stores=tuple(s.strip() for s in get("MEDVAULT_STORES").split(",") if s.strip()),
            lookback_days=int(get("MEDVAULT_LOOKBACK_DAYS")),
        )

    def ensure_folders(self) -> None:
        for folder in (self.home, self.drops, self.lake, self.quarantine, self.dagster_home):
            folder.mkdir(parents=True, exist_ok=True)
        self.warehouse.parent.mkdir(parents=True, exist_ok=True)

"""Every location and setting medvault uses, read from environment variables in one place.

Why one package, and the only code that reads the environment: the same code runs on a laptop (embedded DuckDB + local folders) and in production
(S3/SFTP/Postgres); only the environment changes. Each setting names its variable and default so the
README table and `medvault config` stay in step with the code.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from medvault.platform.config.catalogue import SETTINGS, Setting  # noqa: F401 - re-exported
from medvault.platform.drops.archive import ArchiveLimits
from medvault.platform.notify.smtp import SECURITIES, SmtpSettings

# The checkout medvault runs from (the folder of its pyproject.toml): defaults are anchored here, not in
# the working directory, so every command works from any folder.
PROJECT = Path(__file__).resolve().parents[3]
DROP_STORES = ("local", "s3", "sftp")


def _expand(value: str, home: Path) -> str:
    return value.replace("$MEDVAULT_HOME", str(home)).replace("$PROJECT", str(PROJECT))


def env(name: str, environ: Mapping[str, str] | None = None) -> str:
    """The value of a documented setting, falling back to its default."""
    environ = os.environ if environ is None else environ
    setting = next((s for s in SETTINGS if s.env == name), None)
    if setting is None:
        raise KeyError(f"{name} is not a documented medvault setting")
    home = Path(_expand(environ.get("MEDVAULT_HOME") or "$PROJECT/.medvault", PROJECT)).resolve()
    raw = environ.get(name) or setting.default
    return _expand(raw, home)


SECRET_WORDS = ("SECRET", "PASSPHRASE", "KEY_ID", "PASSWORD", "TOKEN", "PSEUDONYM_KEY")
_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)([^@/]*)@", re.IGNORECASE)


def mask_url(value: str) -> str:
    """A URL with its user-info (credentials) replaced: scheme://***@host/..."""
    return _USERINFO.sub(r"\1***@", value)


def describe(environ: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """Every setting with its current value, secrets and URL credentials masked (for `medvault config`)."""
    out = []
    for s in SETTINGS:
        value = env(s.env, environ)
        if value and any(word in s.env for word in SECRET_WORDS):
            value = "***"
        out.append((s.env, mask_url(value) if value else "(unset)"))
    return out


def location(value: str) -> Path | str:
    """A store location: a URL (s3://bucket/prefix, sftp://host/path) stays text, a folder is resolved."""
    return value if "://" in value else Path(value).resolve()


class SettingsError(ValueError):
    """A setting has a value medvault cannot use; the message names the variable."""


def _int(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {text!r}") from None


_MEMORY = re.compile(r"^\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


def _memory(name: str, text: str) -> str:
    if not _MEMORY.match(text):
        raise SettingsError(f"{name} must be an amount of memory such as 512MB or 2GB, got {text!r}")
    return text.strip()


_UNITS = {"": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNITS |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_AMOUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


def _bytes(name: str, text: str) -> int:
    """A size in bytes: 1000000, 500MB, 16GB or 2GiB."""
    match = _AMOUNT.match(text)
    if not match or match.group(2).lower() not in _UNITS:
        raise SettingsError(f"{name} must be a size such as 500MB or 16GB, got {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def _archive_limits(get) -> ArchiveLimits:
    ratio = _float("MEDVAULT_ARCHIVE_MAX_RATIO", get("MEDVAULT_ARCHIVE_MAX_RATIO"))
    members = _int("MEDVAULT_ARCHIVE_MAX_MEMBERS", get("MEDVAULT_ARCHIVE_MAX_MEMBERS"))
    if ratio <= 1 or members < 1:
        raise SettingsError(
            "MEDVAULT_ARCHIVE_MAX_RATIO must exceed 1 and MEDVAULT_ARCHIVE_MAX_MEMBERS be at least 1"
        )
    return ArchiveLimits(
        members, _bytes("MEDVAULT_ARCHIVE_MAX_BYTES", get("MEDVAULT_ARCHIVE_MAX_BYTES")), ratio
    )


def _role(name: str, text: str) -> str:
    role = text.strip()
    if role and not re.fullmatch(r"[a-z_][a-z0-9_]*", role):
        raise SettingsError(
            f"{name} must be a plain PostgreSQL role name (lower case, digits, _), got {text!r}"
        )
    return role


def _at_least(name: str, text: str, minimum: int) -> int:
    value = _int(name, text)
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {text!r}")
    return value


REJECTED_VALUES = ("keep", "hash", "none")


def _choice(name: str, text: str, choices: tuple[str, ...]) -> str:
    value = text.strip().lower()
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {text!r}")
    return value


def _float(name: str, text: str, minimum: float | None = None) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {text!r}") from None
    if minimum is not None and value < minimum:
        raise SettingsError(f"{name} must be at least {minimum:g}, got {text!r}")
    return value


_DEFAULT_SMTP_PORTS = {"none": 25, "starttls": 587, "ssl": 465}


def _smtp(get) -> SmtpSettings:
    security = _choice("MEDVAULT_SMTP_SECURITY", get("MEDVAULT_SMTP_SECURITY"), SECURITIES)
    port_text = get("MEDVAULT_SMTP_PORT")
    port = _int("MEDVAULT_SMTP_PORT", port_text) if port_text else _DEFAULT_SMTP_PORTS[security]
    try:
        return SmtpSettings(
            host=get("MEDVAULT_SMTP_HOST"),
            port=port,
            security=security,
            user=get("MEDVAULT_SMTP_USER"),
            password=get("MEDVAULT_SMTP_PASSWORD"),
            sender=get("MEDVAULT_MAIL_FROM"),
            outbox=Path(get("MEDVAULT_MAIL_OUTBOX")).resolve(),
            ca_file=get("MEDVAULT_SMTP_CA_FILE"),
        )
    except ValueError as exc:
        raise SettingsError(f"SMTP settings: {exc}") from None


def _cron(name: str, text: str) -> str:
    if len(text.split()) != 5:
        raise SettingsError(f"{name} must be a cron expression of five fields, got {text!r}")
    return text


@dataclass(frozen=True)
class S3Settings:
    bucket: str = ""
    prefix: str = ""
    endpoint_url: str = ""
    region: str = "us-east-1"


@dataclass(frozen=True)
class SftpSettings:
    host: str = ""
    port: int = 22
    user: str = ""
    key_file: str = ""
    known_hosts: str = ""
    root: str = "/"
    key_passphrase: str = field(default="", repr=False)  # a secret: never printed


@dataclass(frozen=True)
class Settings:
    """Every setting, resolved once from the environment (`Settings.from_env()`) and passed down."""

    home: Path
    rules: Path
    drops: Path
    lake: Path | str
    quarantine: Path | str
    warehouse: Path
    dagster_home: Path
    start_date: date
    stores: tuple[str, ...] = ("local",)
    lookback_days: int = 3
    freshness_hours: float = 36.0
    settle_seconds: float = 60.0
    rerun_delay_seconds: float = 600.0
    sensor_interval: int = 30
    duckdb_memory_limit: str = "1GB"
    pool_wait_seconds: float = 3600.0
    backfill_per_run: int = 10
    rejected_values: str = "keep"
    delivery: Path | str = ""
    pseudonym_key: str = field(default="", repr=False)  # a secret: never printed
    ui_url: str = "http://127.0.0.1:3000"
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    digest_cron: str = "0 6 * * *"
    archive_limits: ArchiveLimits = field(default_factory=ArchiveLimits)
    reports: Path | str = ""
    publish_postgres: str = field(default="", repr=False)  # may carry credentials: never printed
    publish_reader: str = ""
    small_count: int = 5
    s3: S3Settings = field(default_factory=S3Settings)
    sftp: SftpSettings = field(default_factory=SftpSettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        def get(name: str) -> str:
            return env(name, environ)

        try:
            start = date.fromisoformat(get("MEDVAULT_START_DATE"))
        except ValueError:
            raise SettingsError(
                f"MEDVAULT_START_DATE must be a date (YYYY-MM-DD), got {get('MEDVAULT_START_DATE')!r}"
            ) from None
        stores = tuple(s.strip() for s in get("MEDVAULT_STORES").split(",") if s.strip())
        unknown = [s for s in stores if s not in DROP_STORES]
        if unknown or not stores:
            raise SettingsError(
                f"MEDVAULT_STORES takes {', '.join(DROP_STORES)} (comma-separated), got {get('MEDVAULT_STORES')!r}"
            )
        return cls(
            home=Path(get("MEDVAULT_HOME")).resolve(),
            rules=Path(get("MEDVAULT_RULES")).resolve(),
            drops=Path(get("MEDVAULT_DROPS")).resolve(),
            lake=location(get("MEDVAULT_LAKE")),
            quarantine=location(get("MEDVAULT_QUARANTINE")),
            warehouse=Path(get("MEDVAULT_WAREHOUSE")).resolve(),
            dagster_home=Path(get("DAGSTER_HOME")).resolve(),
            start_date=start,
            stores=stores,
            lookback_days=_int("MEDVAULT_LOOKBACK_DAYS", get("MEDVAULT_LOOKBACK_DAYS")),
            freshness_hours=_float("MEDVAULT_FRESHNESS_HOURS", get("MEDVAULT_FRESHNESS_HOURS")),
            settle_seconds=_float("MEDVAULT_SETTLE_SECONDS", get("MEDVAULT_SETTLE_SECONDS")),
            rerun_delay_seconds=_float("MEDVAULT_RERUN_DELAY_SECONDS", get("MEDVAULT_RERUN_DELAY_SECONDS")),
            sensor_interval=_int("MEDVAULT_SENSOR_INTERVAL", get("MEDVAULT_SENSOR_INTERVAL")),
            pool_wait_seconds=_float("MEDVAULT_POOL_WAIT_SECONDS", get("MEDVAULT_POOL_WAIT_SECONDS")),
            backfill_per_run=_at_least("MEDVAULT_BACKFILL_PER_RUN", get("MEDVAULT_BACKFILL_PER_RUN"), 1),
            rejected_values=_choice(
                "MEDVAULT_REJECTED_VALUES", get("MEDVAULT_REJECTED_VALUES"), REJECTED_VALUES
            ),
            duckdb_memory_limit=_memory("MEDVAULT_DUCKDB_MEMORY_LIMIT", get("MEDVAULT_DUCKDB_MEMORY_LIMIT")),
            delivery=location(get("MEDVAULT_DELIVERY")),
            pseudonym_key=get("MEDVAULT_PSEUDONYM_KEY"),
            ui_url=get("MEDVAULT_UI_URL").rstrip("/"),
            smtp=_smtp(get),
            digest_cron=_cron("MEDVAULT_DIGEST_CRON", get("MEDVAULT_DIGEST_CRON")),
            archive_limits=_archive_limits(get),
            reports=location(get("MEDVAULT_REPORTS")),
            publish_postgres=get("MEDVAULT_PUBLISH_POSTGRES").strip(),
            publish_reader=_role("MEDVAULT_PUBLISH_READER", get("MEDVAULT_PUBLISH_READER")),
            small_count=_at_least("MEDVAULT_SMALL_COUNT", get("MEDVAULT_SMALL_COUNT"), 1),
            s3=S3Settings(
                bucket=get("MEDVAULT_S3_BUCKET"),
                prefix=get("MEDVAULT_S3_PREFIX"),
                endpoint_url=get("MEDVAULT_S3_ENDPOINT_URL"),
                region=get("MEDVAULT_S3_REGION"),
            ),
            sftp=SftpSettings(
                host=get("MEDVAULT_SFTP_HOST"),
                port=_int("MEDVAULT_SFTP_PORT", get("MEDVAULT_SFTP_PORT")),
                user=get("MEDVAULT_SFTP_USER"),
                key_file=get("MEDVAULT_SFTP_KEY_FILE"),
                known_hosts=get("MEDVAULT_SFTP_KNOWN_HOSTS"),
                root=get("MEDVAULT_SFTP_ROOT"),
                key_passphrase=get("MEDVAULT_SFTP_KEY_PASSPHRASE"),
            ),
        )

    def require_stores(self) -> None:
        """Raise SettingsError when an enabled drop store lacks what it needs to be reached."""
        needs = {"s3": ("MEDVAULT_S3_BUCKET", self.s3.bucket), "sftp": ("MEDVAULT_SFTP_HOST", self.sftp.host)}
        for store in self.stores:
            variable, value = needs.get(store, ("", "set"))
            if not value:
                raise SettingsError(f"the {store} drop store (MEDVAULT_STORES) needs {variable}")

    def local_folders(self) -> list[Path]:
        """The folders of the embedded default this configuration uses (remote locations excluded)."""
        folders = [self.home, self.drops, self.dagster_home, self.warehouse.parent]
        return folders + [p for p in (self.lake, self.quarantine) if isinstance(p, Path)]

    def pseudonym_secret(self) -> bytes:
        """The pseudonym key: MEDVAULT_PSEUDONYM_KEY, else a random key made once under the home folder
        (owner-only), so pseudonyms stay stable across runs of the embedded default."""
        if self.pseudonym_key:
            return self.pseudonym_key.encode()
        path = self.home / "secrets" / "pseudonym.key"
        if not path.exists():
            import secrets

            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            import contextlib

            tmp = path.with_suffix(f".{os.getpid()}.part")
            tmp.write_text(secrets.token_hex(32))
            os.chmod(tmp, 0o600)
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)  # never replace a key another process made first
            tmp.unlink(missing_ok=True)
        return path.read_text().strip().encode()

    def ensure_folders(self) -> None:
        """Create the local folders owner-only (0700): they hold patient data."""
        for folder in self.local_folders():
            folder.mkdir(parents=True, exist_ok=True)
            os.chmod(folder, 0o700)


def keep_files_private() -> None:
    """Every file and folder this process creates from now on is owner-only (umask 077), whatever the
    caller's umask: the warehouse, lake, quarantine and Dagster's storage hold patient data."""
    os.umask(0o077)


def use_dagster_home(path: Path) -> None:
    """Point Dagster at this instance folder for the rest of the process (Dagster reads DAGSTER_HOME
    itself); the one place medvault writes the environment."""
    os.environ["DAGSTER_HOME"] = str(path)

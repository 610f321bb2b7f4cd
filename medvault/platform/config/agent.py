"""The site agent's settings: `MEDVAULT_AGENT_*` variables, each overridable by a command-line option.

Secrets (the database password, the SFTP key's passphrase, AWS credentials) come from the environment
only: there is no option for them, and `describe()` masks them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from medvault.platform.config import SettingsError, _at_least, _float, env

FORMATS = ("csv.gz", "parquet")
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def interval_seconds(text: str) -> float:
    """`90s`, `30m`, `1h`, `1d` in seconds."""
    match = _INTERVAL.match(text or "")
    if not match or float(match.group(1)) <= 0:
        raise SettingsError(f"MEDVAULT_AGENT_EVERY (--every) must be like 30m, 1h or 1d, got {text!r}")
    return float(match.group(1)) * _SECONDS[match.group(2)]


@dataclass(frozen=True)
class AgentSettings:
    site: str = ""
    db: str = ""
    db_password: str = field(default="", repr=False)
    to: str = ""
    system: str = "harmony_pacs"
    version: str = "auto"
    rules: Path = Path("rules/agent")
    state: Path = Path(".medvault/agent")
    format: str = "csv.gz"
    file_rows: int = 500_000
    every: str = "1h"
    retries: int = 5
    backoff: float = 2.0
    timeout: float = 30.0
    sftp_key_file: str = ""
    sftp_key_passphrase: str = field(default="", repr=False)
    sftp_known_hosts: str = ""
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AgentSettings:
        def get(name: str) -> str:
            return env(f"MEDVAULT_AGENT_{name}", environ)

        return cls(
            site=get("SITE"),
            db=get("DB"),
            db_password=get("DB_PASSWORD"),
            to=get("TO"),
            system=get("SYSTEM"),
            version=get("VERSION"),
            rules=Path(get("RULES")),
            state=Path(get("STATE")),
            format=get("FORMAT"),
            file_rows=_at_least("MEDVAULT_AGENT_FILE_ROWS", get("FILE_ROWS"), 1),
            every=get("EVERY"),
            retries=_at_least("MEDVAULT_AGENT_RETRIES", get("RETRIES"), 0),
            backoff=_float("MEDVAULT_AGENT_BACKOFF_SECONDS", get("BACKOFF_SECONDS"), 0),
            timeout=_float("MEDVAULT_AGENT_TIMEOUT_SECONDS", get("TIMEOUT_SECONDS"), 1),
            sftp_key_file=get("SFTP_KEY_FILE"),
            sftp_key_passphrase=get("SFTP_KEY_PASSPHRASE"),
            sftp_known_hosts=get("SFTP_KNOWN_HOSTS"),
            s3_endpoint_url=get("S3_ENDPOINT_URL"),
            s3_region=get("S3_REGION"),
        )

    def override(self, **options) -> AgentSettings:
        """These settings with the options given on the command line (None = not given)."""
        names = {f.name for f in fields(self)}
        given = {k: v for k, v in options.items() if v is not None and k in names}
        return replace(self, **given)

    def require(self, *names: str) -> None:
        """Fail with one sentence naming the option and variable of each setting still empty."""
        missing = [n for n in names if not getattr(self, n)]
        if missing:
            raise SettingsError(
                "missing: "
                + ", ".join(f"--{n.replace('_', '-')} (or MEDVAULT_AGENT_{n.upper()})" for n in missing)
            )
        if self.format not in FORMATS:
            raise SettingsError(
                f"MEDVAULT_AGENT_FORMAT (--format) takes {', '.join(FORMATS)}, got {self.format!r}"
            )
        interval_seconds(self.every)

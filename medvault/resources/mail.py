"""The SMTP resource: where medvault's e-mails go, from the environment (the password as `dg.EnvVar`, so
it is resolved when a run or sensor starts and never stored in run configuration or snapshots)."""

from __future__ import annotations

import dagster as dg

from medvault.platform.config import Settings
from medvault.platform.notify.smtp import SmtpSettings

SMTP_KEY = "smtp"
PASSWORD_ENV = "MEDVAULT_SMTP_PASSWORD"


class SmtpResource(dg.ConfigurableResource):
    """SMTP host, port, security (none, starttls, ssl), login; with no host, e-mails go to `outbox`."""

    host: str = ""
    port: int = 25
    security: str = "none"
    user: str = ""
    password: str = ""
    sender: str = "medvault@localhost"
    outbox: str = ""
    ca_file: str = ""

    def settings(self) -> SmtpSettings:
        from pathlib import Path

        return SmtpSettings(
            host=self.host,
            port=self.port,
            security=self.security,
            user=self.user,
            password=self.password,
            sender=self.sender,
            outbox=Path(self.outbox) if self.outbox else None,
            ca_file=self.ca_file,
        )


def build_smtp(settings: Settings) -> SmtpResource:
    s = settings.smtp
    return SmtpResource(
        host=s.host,
        port=s.port,
        security=s.security,
        user=s.user,
        password=dg.EnvVar(PASSWORD_ENV) if s.password else "",
        sender=s.sender,
        outbox=str(s.outbox or ""),
        ca_file=s.ca_file,
    )

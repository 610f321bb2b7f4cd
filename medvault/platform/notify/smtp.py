"""Sending one e-mail: over SMTP when a host is configured, else as an .eml file in an outbox folder.

Why an outbox: a laptop or a test machine has no mail relay, yet the messages should still be looked at;
they land as files a mail client opens. Security choices:
- TLS is never downgraded: `starttls` fails when the server does not offer STARTTLS, `ssl` speaks TLS
  from the first byte; both verify the certificate against the system store (or `ca_file`).
- A password is never sent in clear: `security="none"` with a user is refused unless the host is loopback.
- Errors name host:port and what failed, never the password, and do not chain the library's exception.
Every network wait is bounded by `timeout`.
"""

from __future__ import annotations

import contextlib
import copy
import ipaddress
import logging
import os
import re
import smtplib
import ssl
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

log = logging.getLogger(__name__)

SECURITIES = ("none", "starttls", "ssl")
DEFAULT_SENDER = "medvault@localhost"


class NotifyError(RuntimeError):
    """An e-mail could not be sent or written; the message names where (host:port or folder), no secret."""


@dataclass(frozen=True)
class SmtpSettings:
    """Where e-mail goes. No host: to `outbox` (when set); neither: mail is off."""

    host: str = ""
    port: int = 25
    security: str = "none"  # none | starttls | ssl
    user: str = ""
    password: str = field(default="", repr=False)
    sender: str = DEFAULT_SENDER
    timeout: float = 30.0
    outbox: Path | None = None
    ca_file: str = ""  # extra CA bundle to trust (a private relay, a test server's self-signed cert)

    def __post_init__(self):
        if self.security not in SECURITIES:
            raise ValueError(f"SMTP security must be one of {', '.join(SECURITIES)}, got {self.security!r}")
        if not 0 < self.port < 65536:
            raise ValueError(f"SMTP port must be between 1 and 65535, got {self.port}")
        if not self.timeout > 0:
            raise ValueError(f"SMTP timeout must be positive, got {self.timeout}")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _slug(text: str, limit: int = 60) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "message"


class Mailer:
    """Sends `EmailMessage`s as configured; `send` says where each one went."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        if (
            settings.host
            and settings.user
            and settings.security == "none"
            and not _is_loopback(settings.host)
        ):
            raise NotifyError(
                f"SMTP {self.where}: a user is set but security is none, so the password would travel in "
                "clear; use starttls or ssl"
            )

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    @property
    def mode(self) -> str:
        """smtp, outbox or off."""
        if self.settings.host:
            return "smtp"
        return "outbox" if self.settings.outbox is not None else "off"

    @property
    def enabled(self) -> bool:
        """True when a message would go somewhere (an SMTP host or an outbox folder)."""
        return self.mode != "off"

    def send(self, message: EmailMessage) -> str:
        """Send (or write) `message` with From set to the configured sender; "smtp://host:port" or the path."""
        if self.mode == "off":
            raise NotifyError("e-mail is off: no SMTP host and no outbox folder configured")
        message = copy.deepcopy(message)  # the caller's message is not changed
        del message["From"]
        message["From"] = self.settings.sender
        if self.mode == "smtp":
            return self._send_smtp(message)
        return str(self._write_outbox(message))

    # -- SMTP ---------------------------------------------------------------------------------------
    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.settings.ca_file or None)

    def _fail(self, doing: str, exc: BaseException) -> NotifyError:
        text = f"{type(exc).__name__}: {exc}"
        if self.settings.password:
            text = text.replace(self.settings.password, "***")
        return NotifyError(f"SMTP {self.where} ({self.settings.security}): {doing} failed: {text[:300]}")

    def _send_smtp(self, message: EmailMessage) -> str:
        s = self.settings
        doing = "connect"
        try:
            if s.security == "ssl":
                client = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self._context())
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            with client:
                if s.security == "starttls":
                    doing = "STARTTLS"
                    client.starttls(context=self._context())
                if s.user:
                    doing = f"login as {s.user!r}"
                    client.login(s.user, s.password)
                doing = "send"
                refused = client.send_message(message, from_addr=s.sender)
        except smtplib.SMTPAuthenticationError as exc:
            raise NotifyError(
                f"SMTP {self.where} ({s.security}): login as {s.user!r} refused ({exc.smtp_code})"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:  # OSError covers ssl errors and timeouts
            raise self._fail(doing, exc) from None
        if refused:  # the others have it: raising would make a retry send it twice
            log.warning("SMTP %s refused %d recipient(s): %s", self.where, len(refused), ", ".join(refused))
        return f"smtp://{self.where}"

    # -- outbox -------------------------------------------------------------------------------------
    def _write_outbox(self, message: EmailMessage) -> Path:
        """`<outbox>/<UTC timestamp>-<slug>.eml`, written to a temporary file then linked in place."""
        folder = Path(self.settings.outbox)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        base = f"{stamp}-{_slug(str(message.get('Subject', '')))}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".", suffix=".eml.part")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(message.as_bytes())
                    f.flush()
                    os.fsync(f.fileno())
                for n in range(1, 1000):  # link, not rename: an existing message is never replaced
                    path = folder / (f"{base}.eml" if n == 1 else f"{base}-{n}.eml")
                    try:
                        os.link(tmp, path)
                    except FileExistsError:
                        continue
                    except OSError:  # a file system without hard links
                        if path.exists():
                            continue
                        os.replace(tmp, path)
                    return path
                raise FileExistsError(f"too many messages named {base}")
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
        except OSError as exc:
            raise NotifyError(
                f"outbox {folder}: writing the message failed: {type(exc).__name__}: {exc}"
            ) from None

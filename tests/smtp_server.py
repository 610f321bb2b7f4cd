"""A real SMTP server on loopback for tests: aiosmtpd's `Controller`, plain, STARTTLS or implicit TLS.

Like tests/servers.py: a plain start function (`start_smtp_server`) does the work, the fixtures below only
wrap it. TLS uses a throwaway self-signed certificate for 127.0.0.1 made with the `openssl` CLI; pass
`server.ca_file` to the client so it verifies the server as it would a real relay. Every wait is bounded.

Fixtures (import them into a test module, or list this module in conftest's `pytest_plugins`):
- `smtp_server` (function): a plain server without auth, or `request.param` as keyword arguments of
  `start_smtp_server` when parametrized indirectly;
- `smtp_server_factory` (function): `factory(tls=..., auth=...)` starts one more; all stop at teardown.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from tests.servers import LOOPBACK, free_port

TLS_MODES = ("none", "starttls", "ssl")


@dataclass(frozen=True)
class Received:
    """One message as the server got it: the envelope, the parsed message, how the session was secured."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: str | None  # the authenticated user, if any
    tls: bool


@dataclass
class SmtpServer:
    host: str
    port: int
    tls: str
    ca_file: str = ""  # the certificate to trust (TLS modes)
    auth: tuple[str, str] | None = field(default=None, repr=False)
    messages: list[Received] = field(default_factory=list)
    controller: object | None = field(default=None, repr=False)
    workdir: Path | None = field(default=None, repr=False)
    _arrived: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def wait_for(self, count: int = 1, timeout: float = 5) -> list[Received]:
        """The messages once at least `count` arrived (bounded: TimeoutError after `timeout`)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.messages) >= count, timeout):
                raise TimeoutError(f"{len(self.messages)} of {count} messages arrived within {timeout}s")
            return list(self.messages)

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


class _Handler:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_DATA(self, smtp, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode()
        transport = smtp.transport
        received = Received(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            message=BytesParser(policy=policy.default).parsebytes(content),
            login=session.auth_data if session.authenticated else None,
            tls=transport is not None and transport.get_extra_info("ssl_object") is not None,
        )
        with self.server._arrived:
            self.server.messages.append(received)
            self.server._arrived.notify_all()
        return "250 OK"


def _authenticator(user: str, password: str):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    expected = (user.encode(), password.encode())

    def check(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == expected:
            return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False)

    return check


def make_certificate(folder: Path, host: str = LOOPBACK, timeout: float = 30) -> tuple[Path, Path]:
    """A self-signed certificate (and its key) for `host` and localhost, valid two days; test use only."""
    if not shutil.which("openssl"):
        raise RuntimeError("openssl not found: apt-get install -y openssl")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            f"/CN={host}",
            "-addext",
            f"subjectAltName=IP:{host},DNS:localhost",
        ],
        check=True,
        capture_output=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return cert, key


def _controller_class():
    from aiosmtpd.controller import Controller

    class QuietController(Controller):
        """aiosmtpd warns that implicit TLS with auth does not require TLS: it is TLS, so hush it."""

        def factory(self):
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS", UserWarning)
                return super().factory()

    return QuietController


def start_smtp_server(
    tls: str = "none", auth: tuple[str, str] | None = None, timeout: float = 10
) -> SmtpServer:
    """Start aiosmtpd on a free loopback port. `tls`: none, starttls (required before MAIL) or ssl
    (implicit TLS); `auth`: (user, password) to require a login (over TLS unless `tls` is none)."""
    if tls not in TLS_MODES:
        raise ValueError(f"tls must be one of {TLS_MODES}, got {tls!r}")
    server = SmtpServer(host=LOOPBACK, port=free_port(), tls=tls, auth=auth)
    kwargs: dict = {"server_hostname": "medvault-test-smtp", "ready_timeout": timeout}
    if tls != "none":
        server.workdir = Path(tempfile.mkdtemp(prefix="medvault-smtp-"))
        cert, key = make_certificate(server.workdir, timeout=timeout)
        server.ca_file = str(cert)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        if tls == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        else:
            kwargs.update(ssl_context=context)
    if auth is not None:
        # implicit TLS is invisible to aiosmtpd's check, so only STARTTLS needs it declared
        kwargs.update(
            authenticator=_authenticator(*auth), auth_required=True, auth_require_tls=tls == "starttls"
        )
    controller = _controller_class()(_Handler(server), hostname=LOOPBACK, port=server.port, **kwargs)
    try:
        controller.start()
    except Exception:
        server.stop()
        raise
    server.controller = controller
    return server


@pytest.fixture
def smtp_server(request):
    server = start_smtp_server(**getattr(request, "param", {}))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_server_factory():
    started: list[SmtpServer] = []

    def factory(**kwargs) -> SmtpServer:
        server = start_smtp_server(**kwargs)
        started.append(server)
        return server

    try:
        yield factory
    finally:
        for server in started:
            server.stop()

"""Real loopback servers for tests and benchmarks: moto's S3 server and an OpenSSH sshd.

Plain start functions (`start_moto_server`, `start_sshd`) do the work so `benchmarks/` can reuse them;
the pytest fixtures below only wrap them. Everything listens on 127.0.0.1 and every wait is bounded.

Fixtures:
- `s3_server` (session): a moto S3 server; `.endpoint_url`, `.client()`. Fake credentials are set in the
  environment only while the fixture is alive (and passed explicitly to clients).
- `s3_bucket` (function): a fresh bucket, yields `(client, bucket_name)`; the client is shared by the
  session: build your own with `s3_server.client()` before registering event hooks on it.
- `sftp_server` (session): sshd with pinned host key and key-only auth; `.host`, `.port`, `.username`,
  `.key_file`, `.known_hosts`, `.host_public_key`, `.workdir`, `.store(root)`.
- `sftp_root` (function): a fresh empty folder on this machine that sshd serves (use it as the store root).
- `any_store` (function, parametrized local/s3/sftp): an empty `ObjectStore` of each kind.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

LOOPBACK = "127.0.0.1"
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
# Never let a developer's real AWS configuration reach the fake server (or the real one).
AWS_ENV_TO_CLEAR = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")
SSHD = "/usr/sbin/sshd"


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for_port(
    host: str, port: int, timeout: float, proc: subprocess.Popen | None = None, banner: bytes = b""
):
    """Wait until `host:port` accepts (and sends `banner` when given); fail early if `proc` died."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"server process exited with code {proc.returncode} before listening on {port}"
            )
        try:
            with socket.create_connection((host, port), timeout=1) as s:
                if banner:
                    s.settimeout(2)
                    if not s.recv(64).startswith(banner):
                        raise OSError("unexpected banner")
                return
        except OSError as exc:
            last = exc
            time.sleep(0.05)
    raise TimeoutError(f"{host}:{port} did not accept connections within {timeout}s ({last})")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


# -- S3 (moto) ----------------------------------------------------------------------------------------
@dataclass
class MotoServer:
    endpoint_url: str
    process: subprocess.Popen | None = None
    thread_server: object | None = None
    region: str = "us-east-1"
    _shared: object | None = field(default=None, repr=False)

    @property
    def shared_client(self):
        """One client for the session (creating a boto3 client costs ~0.2 s); do not mutate it."""
        if self._shared is None:
            self._shared = self.client()
        return self._shared

    def client(self):
        """A new boto3 S3 client for this server (fake credentials, short timeouts)."""
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(
                retries={"max_attempts": 2, "mode": "standard"},
                connect_timeout=5,
                read_timeout=30,
                max_pool_connections=32,
            ),
        )

    def make_bucket(self, client=None, name: str | None = None) -> tuple[object, str]:
        client = client or self.shared_client
        name = name or f"medvault-test-{uuid.uuid4().hex[:12]}"
        client.create_bucket(Bucket=name)
        return client, name

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
        if self.thread_server is not None:
            self.thread_server.stop()


def start_moto_server(timeout: float = 30) -> MotoServer:
    """Start moto's S3 server on a free loopback port, as a separate process when its CLI is installed."""
    port = free_port()
    exe = Path(sys.executable).parent / "moto_server"
    if exe.exists():
        env = {k: v for k, v in os.environ.items() if k not in AWS_ENV_TO_CLEAR}
        env.update(FAKE_AWS_ENV)
        log = tempfile.TemporaryFile()  # noqa: SIM115 - the server's log, read only if it fails to start
        proc = subprocess.Popen(
            [str(exe), "-H", LOOPBACK, "-p", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env
        )
        try:
            wait_for_port(LOOPBACK, port, timeout, proc)
        except Exception as exc:
            _stop(proc)
            log.seek(0)
            raise RuntimeError(
                f"moto_server did not start: {exc}\n{log.read().decode(errors='replace')}"
            ) from exc
        finally:
            log.close()  # the child keeps its own descriptor
        return MotoServer(endpoint_url=f"http://{LOOPBACK}:{port}", process=proc)
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=LOOPBACK, port=port, verbose=False)
    server.start()
    wait_for_port(LOOPBACK, port, timeout)
    return MotoServer(endpoint_url=f"http://{LOOPBACK}:{port}", thread_server=server)


# -- SFTP (OpenSSH sshd) ------------------------------------------------------------------------------
@dataclass
class SshdServer:
    host: str
    port: int
    username: str
    key_file: Path
    known_hosts: Path
    host_public_key: str
    workdir: Path
    process: subprocess.Popen | None = field(default=None, repr=False)

    def store(self, root: str | Path = "/", **kwargs):
        from medvault.platform.stores.sftp import SftpStore

        kwargs.setdefault("timeout", 5)
        kwargs.setdefault("retries", 1)
        kwargs.setdefault("backoff", 0.05)
        return SftpStore.connect(
            self.host, self.port, self.username, self.key_file, self.known_hosts, root=str(root), **kwargs
        )

    def log_text(self) -> str:
        log = self.workdir / "sshd.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)


def ssh_keygen(path: Path, comment: str = "medvault-test") -> Path:
    """An unencrypted ed25519 key pair at `path` / `path.pub` (test keys only)."""
    if not shutil.which("ssh-keygen"):
        raise RuntimeError("ssh-keygen not found: apt-get install -y openssh-client")
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    return path


def write_known_hosts(path: Path, host: str, port: int, public_key_line: str) -> Path:
    keytype, keyb64 = public_key_line.split()[:2]
    name = host if port == 22 else f"[{host}]:{port}"
    path.write_text(f"{name} {keytype} {keyb64}\n")
    return path


def start_sshd(workdir: Path | str, timeout: float = 20) -> SshdServer:
    """Start OpenSSH's sshd on a free loopback port with key-only auth for the current user."""
    if not Path(SSHD).exists():
        raise RuntimeError(
            f"{SSHD} is missing: the SFTP tests need a real OpenSSH server. Install it with "
            "`apt-get install -y openssh-server`."
        )
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    host_key = ssh_keygen(workdir / "ssh_host_ed25519_key", "medvault-test-host")
    client_key = ssh_keygen(workdir / "client_ed25519", "medvault-test-client")
    authorized = workdir / "authorized_keys"
    authorized.write_text((workdir / "client_ed25519.pub").read_text())
    os.chmod(authorized, 0o600)
    # The privilege separation folder sshd insists on.
    with contextlib.suppress(OSError):
        Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)
    port = free_port()
    username = getpass.getuser()
    config = workdir / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"ListenAddress {LOOPBACK}",
                f"Port {port}",
                f"HostKey {host_key}",
                f"PidFile {workdir / 'sshd.pid'}",
                f"AuthorizedKeysFile {authorized}",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "HostbasedAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "UseDNS no",
                "PermitRootLogin prohibit-password" if username == "root" else "PermitRootLogin no",
                f"AllowUsers {username}",
                "AllowTcpForwarding no",
                "X11Forwarding no",
                "MaxStartups 100:30:200",
                "MaxAuthTries 3",
                "LoginGraceTime 20",
                "LogLevel INFO",
                "Subsystem sftp internal-sftp",
                "",
            ]
        )
    )
    check = subprocess.run([SSHD, "-t", "-f", str(config)], capture_output=True, text=True, timeout=30)
    if check.returncode != 0:
        raise RuntimeError(f"sshd rejected its test config {config}: {check.stderr.strip()}")
    log = open(workdir / "sshd.log", "ab")  # noqa: SIM115 - kept open for the server's lifetime
    proc = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    log.close()
    server = SshdServer(
        host=LOOPBACK,
        port=port,
        username=username,
        key_file=client_key,
        known_hosts=workdir / "known_hosts",
        host_public_key=(workdir / "ssh_host_ed25519_key.pub").read_text().strip(),
        workdir=workdir,
        process=proc,
    )
    try:
        wait_for_port(LOOPBACK, port, timeout, proc, banner=b"SSH-")
    except Exception as exc:
        server.stop()
        raise RuntimeError(f"sshd did not start: {exc}\n{server.log_text()}") from exc
    write_known_hosts(server.known_hosts, LOOPBACK, port, server.host_public_key)
    return server


# -- a slow network -------------------------------------------------------------------------------
class ThrottledProxy:
    """A loopback TCP relay to `target` that passes at most `bytes_per_second` towards the client (and
    `upload_bytes_per_second` towards the server): a slow site link in front of a real server (SSH and
    SFTP run through it unchanged). `stop()` cuts every connection, like a server going away; a new
    proxy on the same `port` brings it back."""

    def __init__(
        self,
        target_host: str,
        target_port: int,
        bytes_per_second: int | None,
        upload_bytes_per_second: int | None = None,
        port: int = 0,
    ):
        import threading

        self.target = (target_host, target_port)
        self.rate = bytes_per_second
        self.upload_rate = upload_bytes_per_second
        self.listener = socket.create_server((LOOPBACK, port))
        self.port = self.listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        import threading

        self.listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                continue
            upstream = socket.create_connection(self.target, timeout=10)
            self._sockets += [client, upstream]
            for src, dst, rate in ((client, upstream, self.upload_rate), (upstream, client, self.rate)):
                threading.Thread(target=self._pump, args=(src, dst, rate), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, rate: int | None) -> None:
        chunk = min(16384, max(512, rate // 10)) if rate else 16384
        try:
            while not self._stop.is_set():
                data = src.recv(chunk)
                if not data:
                    break
                dst.sendall(data)
                if rate:
                    time.sleep(len(data) / rate)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self._stop.set()
        self.listener.close()
        for sock in self._sockets:  # every open connection is cut now, mid-transfer
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
        self._thread.join(timeout=2)


# -- fixtures -----------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def s3_server():
    with pytest.MonkeyPatch.context() as mp:
        for name in AWS_ENV_TO_CLEAR:
            mp.delenv(name, raising=False)
        for name, value in FAKE_AWS_ENV.items():
            mp.setenv(name, value)
        no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY"), LOOPBACK, "localhost"]))
        mp.setenv("NO_PROXY", no_proxy)
        mp.setenv("no_proxy", no_proxy)
        server = start_moto_server()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def s3_bucket(s3_server):
    client, name = s3_server.make_bucket()
    yield client, name


@pytest.fixture(scope="session")
def sftp_server(tmp_path_factory):
    try:
        server = start_sshd(tmp_path_factory.mktemp("sshd"))
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sftp_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sftp_root")
    return root.resolve()


@pytest.fixture(params=["local", "s3", "sftp"])
def any_store(request, tmp_path):
    """One `ObjectStore` per backend (local folder, S3 bucket on moto, SFTP on sshd), empty, per test."""
    if request.param == "local":
        from medvault.platform.stores.local import LocalStore

        yield LocalStore(tmp_path / "store")
        return
    if request.param == "s3":
        from medvault.platform.stores.s3 import S3Store

        client, bucket = request.getfixturevalue("s3_bucket")
        yield S3Store(client, bucket)
        return
    server = request.getfixturevalue("sftp_server")
    store = server.store(request.getfixturevalue("sftp_root"))
    try:
        yield store
    finally:
        store.close()

"""Many-to-one with each site in its own room (docs/agent.md, "The central drop server"): one Unix user per
site, chrooted by OpenSSH's internal-sftp into the drop root, owning only its own site folder. Every site's
agent pushes; no site can write into another's folder, invent a site, or log in with another's key.

Needs root (users, a root-owned chroot path); CI runs as root.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from medvault.platform.agent.run import once
from medvault.platform.stores.base import StoreError
from medvault.platform.stores.sftp import SftpStore
from medvault.synth.generator import generate
from tests.agent_support import agent_settings
from tests.servers import LOOPBACK, SSHD, free_port, ssh_keygen, wait_for_port, write_known_hosts

pytestmark = [
    pytest.mark.network,
    pytest.mark.skipif(
        os.geteuid() != 0, reason="per-site Unix users and a chroot need root (CI runs as root)"
    ),
]
SITES = ("aurora_eye", "kestrel_imaging", "lothian_general")


def _user(site: str) -> str:
    return f"mvs_{site[:12]}"


@pytest.fixture
def site_rooms(tmp_path):
    """sshd with `ChrootDirectory` = the drop root and one key-only, sftp-only user per site."""
    base = Path("/srv") / f"medvault-sftp-{uuid.uuid4().hex[:8]}"  # every path part root-owned, not 1777
    drops = base / "drops"
    drops.mkdir(parents=True)
    keys = tmp_path / "keys"
    keys.mkdir()
    authorized = base / "authorized"
    authorized.mkdir()
    for folder in (base, drops, authorized):  # explicit: the process umask may be 077 (keep_files_private)
        os.chmod(folder, 0o755)
    made = []
    for site in SITES:
        user = _user(site)
        try:
            pwd.getpwnam(user)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
                check=True,
                timeout=30,
            )
            made.append(user)
        subprocess.run(["usermod", "-p", "*", user], check=True, timeout=30)  # no password, not locked
        ssh_keygen(keys / site, f"{site}-agent")
        (authorized / user).write_text((keys / f"{site}.pub").read_text())
        os.chmod(authorized / user, 0o644)
        folder = drops / site
        folder.mkdir(mode=0o700)
        ids = pwd.getpwnam(user)
        os.chown(folder, ids.pw_uid, ids.pw_gid)
    host_key = ssh_keygen(tmp_path / "host_key", "central")
    port = free_port()
    config = tmp_path / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"ListenAddress {LOOPBACK}",
                f"Port {port}",
                f"HostKey {host_key}",
                f"PidFile {tmp_path / 'sshd.pid'}",
                f"AuthorizedKeysFile {authorized}/%u",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "UseDNS no",
                "PermitRootLogin no",
                f"AllowUsers {' '.join(_user(s) for s in SITES)}",
                "AllowTcpForwarding no",
                "X11Forwarding no",
                "Subsystem sftp internal-sftp",
                f"ChrootDirectory {drops}",
                "ForceCommand internal-sftp -u 0077",
                "LogLevel VERBOSE",
                "",
            ]
        )
    )
    check = subprocess.run([SSHD, "-t", "-f", str(config)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    log = open(tmp_path / "sshd.log", "ab")  # noqa: SIM115 - kept open for the server's lifetime
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        wait_for_port(LOOPBACK, port, 20, proc, banner=b"SSH-")
        known = write_known_hosts(
            tmp_path / "known_hosts", LOOPBACK, port, (tmp_path / "host_key.pub").read_text().strip()
        )
        yield {"port": port, "drops": drops, "keys": keys, "known_hosts": known}
    finally:
        proc.terminate()
        with contextlib.suppress(Exception):
            proc.wait(timeout=10)
        shutil.rmtree(base, ignore_errors=True)
        for user in made:
            subprocess.run(["userdel", user], check=False, timeout=30)


def _store(rooms, site: str, as_site: str | None = None) -> SftpStore:
    return SftpStore.connect(
        LOOPBACK,
        rooms["port"],
        _user(as_site or site),
        rooms["keys"] / site,
        rooms["known_hosts"],
        root="/",
        timeout=5,
        retries=0,
    )


def test_each_site_writes_only_its_own_folder(site_rooms, mariadb, tmp_path):
    generate(tmp_path / "generated", sites=3, days=1, seed=31, pacs_db=mariadb.template())
    for site in SITES:
        settings = agent_settings(
            site=site,
            db=mariadb.url(site),
            to=f"sftp://{_user(site)}@{LOOPBACK}:{site_rooms['port']}/",
            state=tmp_path / "state",
            sftp_key_file=str(site_rooms["keys"] / site),
            sftp_known_hosts=str(site_rooms["known_hosts"]),
        )
        assert once(settings).rows > 0
        owner = pwd.getpwnam(_user(site)).pw_uid
        sent = [p for p in (site_rooms["drops"] / site).rglob("*") if p.is_file()]
        assert sent and all(p.stat().st_uid == owner for p in sent), "the site's files, in its folder"
    intruder = _store(site_rooms, "aurora_eye")
    try:
        for key in (
            "kestrel_imaging/2026-12-03/studies_x.csv",
            "new_site/2026-12-03/studies_x.csv",
            "studies_x.csv",
        ):
            with pytest.raises(StoreError, match="Permission denied|No such file"):
                intruder.put_bytes(key, b"study_iuid\n1.2.3\n")
        with pytest.raises(StoreError):
            list(intruder.list_objects("kestrel_imaging"))
        assert intruder.list_prefixes("") == sorted(SITES), "the chroot is the drop root: no other path"
    finally:
        intruder.close()
    assert not list(site_rooms["drops"].glob("kestrel_imaging/*/studies_x.csv"))
    assert not (site_rooms["drops"] / "new_site").exists()
    with pytest.raises(StoreError, match="authentication failed"):
        _store(site_rooms, "aurora_eye", as_site="kestrel_imaging")  # a's key is not b's

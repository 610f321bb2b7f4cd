"""Opening an SFTP connection the safe way: key auth only, host key pinned, errors without secrets.

Split from the store so the security-relevant handshake reads on its own.
"""

from __future__ import annotations

import os
import stat as statmod

import paramiko


class UnknownHostKeyError(paramiko.SSHException):
    """The server is not in known_hosts (raised by the pinning policy; never retried)."""


class PinnedHostKeyPolicy(paramiko.RejectPolicy):
    """paramiko's RejectPolicy with a distinct exception type, so it is not mistaken for a network error."""

    def missing_host_key(self, client, hostname, key):
        raise UnknownHostKeyError(
            f"server {hostname!r} ({key.get_name()}) is not in known_hosts; add its host key to pin it"
        )


class Permanent(Exception):
    """A failure that retrying cannot fix (wrapped into StoreError by the caller)."""


def describe_exc(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def load_private_key(key_file: str, passphrase: str | bytes | None) -> paramiko.PKey:
    """The client key; errors name the file, never its content or the passphrase."""
    if not os.path.isfile(key_file):
        raise Permanent(f"key file {key_file} does not exist")
    try:
        # paramiko wants the passphrase as bytes for OpenSSH-format keys (str raises TypeError)
        secret = passphrase.encode() if isinstance(passphrase, str) else passphrase
        return paramiko.PKey.from_path(key_file, secret)
    except paramiko.PasswordRequiredException as exc:
        raise Permanent(f"key file {key_file} is encrypted and no passphrase was given") from exc
    except Exception as exc:  # wrong passphrase, unsupported format, unreadable
        raise Permanent(f"cannot load key file {key_file}: {type(exc).__name__}") from exc


def open_pinned_sftp(
    host: str,
    port: int,
    username: str,
    pkey: paramiko.PKey,
    key_file: str,
    known_hosts: str,
    timeout: float,
    root: str,
    real_root: str | None,
) -> tuple[paramiko.SSHClient, paramiko.SFTPClient, str]:
    """Connect with key auth and a pinned host key; return (client, sftp, the root's real path)."""
    if not os.path.isfile(known_hosts):
        raise Permanent(f"known_hosts file {known_hosts} does not exist; host keys must be pinned")
    client = paramiko.SSHClient()
    try:
        client.load_host_keys(known_hosts)
    except Exception as exc:
        raise Permanent(f"cannot read known_hosts {known_hosts}: {describe_exc(exc)}") from exc
    client.set_missing_host_key_policy(PinnedHostKeyPolicy())
    try:
        client.connect(
            hostname=host,
            port=port,
            username=username,
            pkey=pkey,
            look_for_keys=False,
            allow_agent=False,
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
            channel_timeout=timeout,
        )
        sftp = client.open_sftp()
        sftp.get_channel().settimeout(timeout)
    except paramiko.BadHostKeyException as exc:
        client.close()
        raise Permanent(
            f"host key mismatch: the server offered {exc.key.get_name()} {exc.key.fingerprint} but "
            f"{known_hosts} pins {exc.expected_key.fingerprint} (possible man-in-the-middle)"
        ) from exc
    except UnknownHostKeyError as exc:
        client.close()
        raise Permanent(f"{exc} ({known_hosts})") from exc
    except paramiko.AuthenticationException as exc:
        client.close()
        raise Permanent(
            f"authentication failed for user {username!r} with key file {key_file}: {type(exc).__name__}"
        ) from exc
    except BaseException:
        client.close()
        raise
    if real_root is None:
        try:
            real = sftp.normalize(root)
            st = sftp.stat(real)
        except OSError as exc:
            client.close()
            raise Permanent(f"root folder {root!r} is not accessible: {describe_exc(exc)}") from exc
        if not statmod.S_ISDIR(st.st_mode or 0):
            client.close()
            raise Permanent(f"root {root!r} is not a folder")
        real_root = real
    return client, sftp, real_root


def listdir_attr_lossless(sftp: paramiko.SFTPClient, path: str) -> list[paramiko.SFTPAttributes]:
    """`SFTPClient.listdir_attr`, but a file name that is not UTF-8 arrives with surrogate escapes
    (like `os.listdir`) instead of failing the whole listing; the ingest then quarantines that one file."""
    from paramiko.sftp import CMD_CLOSE, CMD_HANDLE, CMD_NAME, CMD_OPENDIR, CMD_READDIR, SFTPError

    t, msg = sftp._request(CMD_OPENDIR, sftp._adjust_cwd(path))
    if t != CMD_HANDLE:
        raise SFTPError("Expected handle")
    handle = msg.get_binary()
    entries = []
    try:
        while True:
            try:
                t, msg = sftp._request(CMD_READDIR, handle)
            except EOFError:
                break
            if t != CMD_NAME:
                raise SFTPError("Expected name response")
            for _ in range(msg.get_int()):
                filename = msg.get_binary().decode("utf-8", "surrogateescape")
                longname = msg.get_binary().decode("utf-8", "replace")
                attr = paramiko.SFTPAttributes._from_msg(msg, filename, longname)
                if filename not in (".", ".."):
                    entries.append(attr)
    finally:
        sftp._request(CMD_CLOSE, handle)
    return entries

"""SFTP store on paramiko: key authentication only, host key pinned, bounded retries.

Security choices (patient data travels over this):
- Key authentication only: `look_for_keys=False`, `allow_agent=False`, no password is ever sent.
- The host key is pinned: `known_hosts` is loaded and an unknown host is rejected (a `RejectPolicy`,
  unknown keys are never auto-added). A mismatching host key or a failed authentication is not retried.
- Error messages name the server, the key *file* and the operation, never key material or passphrases.
- Symlinks are not data: listings skip them (files and folders), `stat` returns None for them, and a
  read, download, copy or upload whose path passes through a symlink is refused, so nothing is ever
  read or written outside `root` through a link. Keys with `..` segments or a leading `/` are rejected.

Transient network errors (refused/reset connections, timeouts, a dropped transport) are retried with
exponential backoff (`backoff`, `2*backoff`, ...) on a fresh connection; after `retries` retries the
store raises `StoreError` saying host, port, operation and the last error. Errors the server answers
while the connection is healthy (no such file, permission denied) are not retried.

Writes are atomic: `upload` writes `<key>.part` then `posix_rename`s it; `download` writes `dest.part`
then renames it locally. SFTP has no server-side copy, so `copy` streams through this client.
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import shutil
import socket
import stat as statmod
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import paramiko

from medvault.platform.stores.base import ObjectStore, StoredObject, StoreError, special_kind
from medvault.platform.stores.sftp_connect import (
    Permanent,
    UnknownHostKeyError,
    describe_exc,
    listdir_attr_lossless,
    load_private_key,
    open_pinned_sftp,
)

T = TypeVar("T")
_CHUNK = 1024 * 1024


class SftpStore(ObjectStore):
    """Files under `root` on an SFTP server; keys are POSIX paths relative to `root`."""

    kind = "sftp"

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        key_file: str | Path,
        known_hosts: str | Path,
        root: str = "/",
        passphrase: str | None = None,
        timeout: float = 10,
        retries: int = 3,
        backoff: float = 0.5,
    ):
        self.host = host
        self.port = int(port)
        self.username = username
        self.key_file = str(key_file)
        self.known_hosts = str(known_hosts)
        self.root = root if root else "/"
        self._passphrase = passphrase
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff = backoff
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._real_root: str | None = None
        self._pkey: paramiko.PKey | None = None
        # paramiko's SFTP client is not safe for concurrent requests: one operation at a time.
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"SftpStore({self.describe()!r})"

    @classmethod
    def connect(cls, *args, **kwargs) -> SftpStore:
        """Construct (same arguments as the constructor) and open the connection now, failing fast with a
        clear StoreError."""
        store = cls(*args, **kwargs)
        store._run("connect", "", lambda sftp: None)
        return store

    # -- naming -------------------------------------------------------------------------------
    def describe(self) -> str:
        root = self.root if self.root.startswith("/") else "/" + self.root
        return f"sftp://{self.username}@{self.host}:{self.port}{root}"

    def _check(self, key: str) -> str:
        if key.startswith("/") or "\\" in key or "\x00" in key or any(p == ".." for p in key.split("/")):
            raise StoreError(f"{self.describe()}: {key!r} escapes the store root")
        return "/".join(p for p in key.split("/") if p and p != ".")

    def _path(self, key: str) -> str:
        key = self._check(key)
        assert self._real_root is not None
        return posixpath.join(self._real_root, key) if key else self._real_root

    def _rel(self, path: str) -> str:
        assert self._real_root is not None
        if path == self._real_root:
            return ""
        base = self._real_root.rstrip("/") + "/"
        return path[len(base) :]

    # -- connection ---------------------------------------------------------------------------
    def _connect_once(self) -> paramiko.SFTPClient:
        if self._pkey is None:
            self._pkey = load_private_key(self.key_file, self._passphrase)
        client, sftp, real_root = open_pinned_sftp(
            self.host,
            self.port,
            self.username,
            self._pkey,
            self.key_file,
            self.known_hosts,
            self.timeout,
            self.root,
            self._real_root,
        )
        self._real_root = real_root
        self._client, self._sftp = client, sftp
        return sftp

    def _alive(self) -> bool:
        if self._sftp is None or self._client is None:
            return False
        transport = self._client.get_transport()
        return transport is not None and transport.is_active()

    def _drop(self) -> None:
        client, self._client, self._sftp = self._client, None, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    def _is_transient(self, exc: BaseException) -> bool:
        if isinstance(
            exc, paramiko.BadHostKeyException | UnknownHostKeyError | paramiko.AuthenticationException
        ):
            return False
        if isinstance(
            exc, socket.timeout | TimeoutError | EOFError | ConnectionError | paramiko.SSHException
        ):
            return True
        if isinstance(exc, socket.gaierror):
            return True
        # An OSError while the transport is healthy is the server's answer (no such file, permission
        # denied, failure): retrying cannot help. With a dead transport it is a network error.
        return isinstance(exc, OSError) and not self._alive()

    def _run(self, op: str, key: str, fn: Callable[[paramiko.SFTPClient], T]) -> T:
        """Run `fn(sftp)` with reconnects and exponential backoff on transient errors."""
        with self._lock:
            last: BaseException | None = None
            attempts = self.retries + 1
            for attempt in range(attempts):
                if attempt:
                    time.sleep(self.backoff * (2 ** (attempt - 1)))
                try:
                    sftp = self._sftp if self._alive() else None
                    if sftp is None:
                        self._drop()
                        sftp = self._connect_once()
                except Permanent as exc:
                    raise StoreError(f"{self.describe()}: {op} failed (not retried): {exc}") from None
                except Exception as exc:
                    if not self._is_transient(exc):
                        raise StoreError(
                            f"{self.describe()}: {op} failed with key file {self.key_file}: {describe_exc(exc)}"
                        ) from None
                    last = exc
                    continue
                try:
                    return fn(sftp)
                except StoreError:
                    raise
                except Exception as exc:
                    if not self._is_transient(exc):
                        raise StoreError(
                            f"{self.describe()}: {op} {key!r} failed: {describe_exc(exc)}"
                        ) from exc
                    self._drop()
                    last = exc
            target = f" {key!r}" if key else ""
            raise StoreError(
                f"{self.describe()}: {op}{target} failed after {attempts} attempt(s) "
                f"(host {self.host}, port {self.port}, user {self.username!r}, key file {self.key_file}, "
                f"timeout {self.timeout}s): {describe_exc(last) if last else 'unknown error'}"
            )

    def close(self) -> None:
        with self._lock:
            self._drop()

    # -- helpers run inside _run --------------------------------------------------------------
    def _require_real(self, sftp: paramiko.SFTPClient, path: str, key: str) -> None:
        """Refuse a path that is, or passes through, a symlink (it could lead outside the root)."""
        if path == self._real_root:
            return
        try:
            real = sftp.normalize(path)
        except FileNotFoundError:
            return  # nothing there: the caller's own operation reports it
        if real != path:
            raise StoreError(
                f"{self.describe()}: {key!r} is or passes through a symlink; symlinks are not data"
            )

    def _makedirs(self, sftp: paramiko.SFTPClient, folder: str, key: str) -> None:
        assert self._real_root is not None
        try:
            st = sftp.stat(folder)
            if not statmod.S_ISDIR(st.st_mode or 0):
                raise StoreError(f"{self.describe()}: cannot write {key!r}: a parent is not a folder")
        except FileNotFoundError:
            rel = self._rel(folder)
            current = self._real_root
            for part in rel.split("/"):
                current = posixpath.join(current, part)
                try:
                    sftp.mkdir(current)
                except OSError:
                    st = sftp.lstat(current)  # raises when it really failed
                    if not statmod.S_ISDIR(st.st_mode or 0):
                        raise StoreError(
                            f"{self.describe()}: cannot write {key!r}: {self._rel(current)!r} is not a folder"
                        ) from None
        self._require_real(sftp, folder, key)

    def _obj(self, path: str, attr: paramiko.SFTPAttributes) -> StoredObject:
        return StoredObject(key=self._rel(path), size=int(attr.st_size or 0), mtime=float(attr.st_mtime or 0))

    def _listdir(self, sftp: paramiko.SFTPClient, path: str) -> list[paramiko.SFTPAttributes]:
        try:
            return sorted(listdir_attr_lossless(sftp, path), key=lambda a: a.filename)
        except FileNotFoundError:
            return []
        except OSError as exc:
            if exc.errno == errno.ENOTDIR:
                return []
            raise

    # -- listing ------------------------------------------------------------------------------
    def list_level(self, prefix: str = "") -> tuple[list[str], list[StoredObject]]:
        """Child folders and the files directly in `prefix`, from one directory listing.

        Symlinks (to files or folders) and special files are skipped: they are not data.
        """
        path = self._path_after_connect(prefix)

        def op(sftp):
            self._require_real(sftp, path, prefix)
            folders, files = [], []
            for attr in self._listdir(sftp, path):
                mode = attr.st_mode or 0
                if statmod.S_ISDIR(mode):
                    folders.append(attr.filename)
                elif statmod.S_ISREG(mode):
                    files.append(self._obj(posixpath.join(path, attr.filename), attr))
            return folders, files

        return self._run("list", prefix, op)

    def list_prefixes(self, prefix: str = "") -> list[str]:
        return self.list_level(prefix)[0]

    def list_objects(self, prefix: str = "", recursive: bool = True) -> Iterator[StoredObject]:
        """Regular files under `prefix`; symlinks are skipped and never followed."""
        path = self._path_after_connect(prefix)

        def op(sftp):
            self._require_real(sftp, path, prefix)
            out: list[StoredObject] = []
            stack = [path]
            while stack:
                folder = stack.pop()
                subfolders = []
                for attr in self._listdir(sftp, folder):
                    mode = attr.st_mode or 0
                    child = posixpath.join(folder, attr.filename)
                    if statmod.S_ISDIR(mode):
                        if recursive:
                            subfolders.append(child)
                    elif statmod.S_ISREG(mode):
                        out.append(self._obj(child, attr))
                    elif not statmod.S_ISLNK(mode):  # pipes, sockets, devices: reported, never opened
                        out.append(replace(self._obj(child, attr), kind=special_kind(mode) or "special file"))
                stack.extend(reversed(subfolders))
            return out

        yield from self._run("list", prefix, op)

    def _path_after_connect(self, key: str) -> str:
        self._check(key)
        if self._real_root is None:
            self._run("connect", "", lambda sftp: None)
        return self._path(key)

    # -- single objects -----------------------------------------------------------------------
    def stat(self, key: str) -> StoredObject | None:
        path = self._path_after_connect(key)

        def op(sftp):
            try:
                attr = sftp.lstat(path)
            except FileNotFoundError:
                return None
            if not statmod.S_ISREG(attr.st_mode or 0):
                return None  # folders, symlinks and special files are not objects
            self._require_real(sftp, path, key)
            return self._obj(path, attr)

        return self._run("stat", key, op)

    def read_range(self, key: str, start: int, length: int) -> bytes:
        path = self._path_after_connect(key)
        if length <= 0:
            return b""

        def op(sftp):
            self._require_real(sftp, path, key)
            with sftp.open(path, "rb") as fh:
                fh.seek(start)
                chunks, remaining = [], length
                while remaining > 0:
                    data = fh.read(min(remaining, _CHUNK))
                    if not data:
                        break
                    chunks.append(data)
                    remaining -= len(data)
                return b"".join(chunks)

        return self._run("read", key, op)

    def download(self, key: str, dest: Path) -> Path:
        path = self._path_after_connect(key)
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")

        def op(sftp):
            self._require_real(sftp, path, key)
            try:
                with open(tmp, "wb") as fh:
                    sftp.getfo(path, fh)
                os.replace(tmp, dest)
            finally:
                tmp.unlink(missing_ok=True)
            return dest

        return self._run("download", key, op)

    def _write(
        self, sftp: paramiko.SFTPClient, path: str, key: str, write: Callable[[paramiko.SFTPFile], None]
    ):
        """Write `<path>.part` (created exclusively, so an existing link is never followed), then rename."""
        self._makedirs(sftp, posixpath.dirname(path), key)
        tmp = path + ".part"
        with contextlib.suppress(FileNotFoundError):
            sftp.remove(tmp)  # a leftover from a failed attempt (removes a link itself, not its target)
        try:
            with sftp.open(tmp, "wbx") as fh:
                fh.set_pipelined(True)
                write(fh)
            sftp.posix_rename(tmp, path)
        except BaseException:
            try:
                if self._alive():
                    sftp.remove(tmp)
            except OSError:
                pass
            raise

    def upload(self, src: Path, key: str) -> None:
        path = self._path_after_connect(key)

        def write(fh):
            with open(src, "rb") as local:
                shutil.copyfileobj(local, fh, _CHUNK)

        self._run("upload", key, lambda sftp: self._write(sftp, path, key, write))

    def resume_upload(self, src: Path, key: str) -> int:
        """Upload through `<key>.part` like `upload`, but keep the bytes an interrupted upload already put
        there (they are a prefix of `src`: the caller's file never changes) and send only the rest; every
        retry after a dropped connection continues from what arrived. The size is checked before the
        rename, so a `.part` of another file is never renamed into place."""
        path = self._path_after_connect(key)
        size = src.stat().st_size

        def op(sftp):
            self._makedirs(sftp, posixpath.dirname(path), key)
            tmp = path + ".part"
            try:
                st = sftp.lstat(tmp)
            except FileNotFoundError:
                st = None
            offset = 0
            if st is not None:
                if statmod.S_ISREG(st.st_mode or 0) and (st.st_size or 0) <= size:
                    offset = st.st_size or 0
                else:  # a link, a folder or a longer file: not ours to continue
                    sftp.remove(tmp)
            with sftp.open(tmp, "r+b" if offset else "wbx") as fh, open(src, "rb") as local:
                fh.set_pipelined(True)
                fh.seek(offset)
                local.seek(offset)
                shutil.copyfileobj(local, fh, _CHUNK)
            written = sftp.stat(tmp).st_size
            if written != size:
                raise StoreError(f"{self.describe()}: upload {key!r}: {written} bytes arrived, {size} sent")
            sftp.posix_rename(tmp, path)
            return size - offset

        return self._run("upload", key, op)

    def put_bytes(self, key: str, data: bytes) -> None:
        path = self._path_after_connect(key)
        self._run("upload", key, lambda sftp: self._write(sftp, path, key, lambda fh: fh.write(data)))

    def copy(self, src_key: str, dest_key: str) -> None:
        src = self._path_after_connect(src_key)
        dest = self._path(dest_key)

        def op(sftp):
            self._require_real(sftp, src, src_key)
            with sftp.open(src, "rb") as reader:
                reader.prefetch()

                def write(fh):
                    shutil.copyfileobj(reader, fh, _CHUNK)

                self._write(sftp, dest, dest_key, write)

        self._run(f"copy to {dest_key!r} from", src_key, op)

    def move(self, src_key: str, dest_key: str) -> None:
        src = self._path_after_connect(src_key)
        dest = self._path(dest_key)

        def op(sftp):
            self._require_real(sftp, posixpath.dirname(src), src_key)
            try:
                sftp.lstat(src)
            except FileNotFoundError:
                raise StoreError(f"{self.describe()}: move {src_key!r} failed: it does not exist") from None
            self._makedirs(sftp, posixpath.dirname(dest), dest_key)
            sftp.posix_rename(src, dest)

        self._run(f"move to {dest_key!r} from", src_key, op)

    def delete(self, key: str) -> None:
        path = self._path_after_connect(key)

        def op(sftp):
            self._require_real(sftp, posixpath.dirname(path), key)
            with contextlib.suppress(FileNotFoundError):
                sftp.remove(path)

        self._run("delete", key, op)

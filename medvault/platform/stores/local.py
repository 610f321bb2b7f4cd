"""Local-folder store: the embedded default for drops, the lake and quarantine."""

from __future__ import annotations

import os
import shutil
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

from medvault.platform.stores.base import ObjectStore, StoredObject, StoreError, special_kind


def _private_dirs(folder: Path) -> None:
    """Create missing folders owner-only (0700), whatever the umask: they hold patient data."""
    missing = []
    for part in (folder, *folder.parents):
        if part.exists():
            break
        missing.append(part)
    folder.mkdir(parents=True, exist_ok=True)
    for part in missing:
        os.chmod(part, 0o700)


def _write_new(source, dest: Path) -> None:
    """Write `dest` atomically through a fresh owner-only (0600) temporary file opened with O_EXCL and
    O_NOFOLLOW, so neither a planted link nor a half-written file is ever seen."""
    _private_dirs(dest.parent)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:12]}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
        os.chmod(tmp, 0o600)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class LocalStore(ObjectStore):
    """Files under a root folder. Symlinks are not followed (a link could point outside the root)."""

    kind = "local"

    def __init__(self, root: Path | str):
        self.root = Path(root).resolve()

    def describe(self) -> str:
        return f"file://{self.root}"

    def _path(self, key: str) -> Path:
        path = Path(os.path.normpath(self.root / key)) if key else self.root  # lexical: never follows links
        if path != self.root and self.root not in path.parents:
            raise StoreError(f"{self.describe()}: {key!r} escapes the store root")
        return path

    def _no_links(self, key: str, path: Path) -> None:
        for part in (path, *path.parents):
            if part == self.root:
                break
            if part.is_symlink():
                raise StoreError(
                    f"{self.describe()}: {key!r} goes through a symbolic link; links are not data"
                )

    def _file(self, key: str) -> Path:
        """The path of a regular file to read; refuses links anywhere under the root (they could lead out)
        and anything that is not a regular file (reading a named pipe would hang)."""
        path = self._path(key)
        self._no_links(key, path)
        try:
            kind = special_kind(path.lstat().st_mode)
        except FileNotFoundError:
            return path  # a file about to be written, or missing: the caller's operation says which
        if kind is not None and not path.is_dir():
            raise StoreError(f"{self.describe()}: {key!r} is a {kind}, not a regular file; it is not read")
        return path

    def _key(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def list_prefixes(self, prefix: str = "") -> list[str]:
        base = self._path(prefix)
        if not base.is_dir():
            return []
        with os.scandir(base) as it:
            return sorted(e.name for e in it if e.is_dir(follow_symlinks=False))

    def list_objects(self, prefix: str = "", recursive: bool = True) -> Iterator[StoredObject]:
        base = self._path(prefix)
        if not base.is_dir():
            return
        stack = [base]
        while stack:
            folder = stack.pop()
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
            for e in entries:
                if e.is_symlink():
                    continue
                if e.is_dir(follow_symlinks=False):
                    if recursive:
                        stack.append(Path(e.path))
                    continue
                st = e.stat(follow_symlinks=False)
                rel = Path(e.path).relative_to(self.root).as_posix()
                # a named pipe, socket or device is listed (to be reported) but never opened
                kind = special_kind(st.st_mode) or "file"
                yield StoredObject(key=rel, size=st.st_size, mtime=st.st_mtime, kind=kind)

    def stat(self, key: str) -> StoredObject | None:
        path = self._path(key)  # a key escaping the root is an error, not a missing file
        try:
            self._no_links(key, path)
        except StoreError:
            return None  # a link is not data
        try:
            st = path.lstat()
        except FileNotFoundError:
            return None
        if stat.S_ISDIR(st.st_mode):
            return None
        return StoredObject(
            key=key, size=st.st_size, mtime=st.st_mtime, kind=special_kind(st.st_mode) or "file"
        )

    def read_range(self, key: str, start: int, length: int) -> bytes:
        with open(self._file(key), "rb") as fh:
            fh.seek(start)
            return fh.read(length)

    def download(self, key: str, dest: Path) -> Path:
        dest = Path(dest)
        try:
            source = open(self._file(key), "rb")  # noqa: SIM115 - closed by _write_new
        except FileNotFoundError as exc:
            raise StoreError(f"{self.describe()}: {key} does not exist") from exc
        with source:
            _write_new(source, dest)
        return dest

    def local_path(self, key: str) -> Path:
        """The file itself: local readers skip a copy."""
        return self._file(key)

    def upload(self, src: Path, key: str) -> None:
        dest = self._path(key)
        self._no_links(key, dest)  # a link planted in the root must not carry a write out of it
        with open(src, "rb") as source:
            _write_new(source, dest)

    def copy(self, src_key: str, dest_key: str) -> None:
        self.upload(self._file(src_key), dest_key)

    def move(self, src_key: str, dest_key: str) -> None:
        dest = self._path(dest_key)
        self._no_links(dest_key, dest)
        _private_dirs(dest.parent)
        os.replace(self._file(src_key), dest)

    def delete(self, key: str) -> None:
        """Remove the file and the folders it leaves empty (up to the root), as object stores have none."""
        path = self._path(key)
        path.unlink(missing_ok=True)
        for parent in path.parents:
            if parent == self.root or self.root not in parent.parents:
                break
            try:
                parent.rmdir()
            except OSError:
                break  # not empty (or gone)

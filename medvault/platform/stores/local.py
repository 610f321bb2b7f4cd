"""Local-folder store: the embedded default for drops, the lake and quarantine."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from medvault.platform.stores.base import ObjectStore, StoredObject, StoreError


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

    def _file(self, key: str) -> Path:
        """The path of a regular file to read; refuses links anywhere under the root (they could lead out)."""
        path = self._path(key)
        for part in (path, *path.parents):
            if part == self.root:
                break
            if part.is_symlink():
                raise StoreError(
                    f"{self.describe()}: {key!r} goes through a symbolic link; links are not data"
                )
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
                yield StoredObject(key=rel, size=st.st_size, mtime=st.st_mtime)

    def stat(self, key: str) -> StoredObject | None:
        self._path(key)  # a key escaping the root is an error, not a missing file
        try:
            path = self._file(key)
        except StoreError:
            return None  # a link is not data
        if not path.is_file():
            return None
        st = path.stat()
        return StoredObject(key=key, size=st.st_size, mtime=st.st_mtime)

    def read_range(self, key: str, start: int, length: int) -> bytes:
        with open(self._file(key), "rb") as fh:
            fh.seek(start)
            return fh.read(length)

    def download(self, key: str, dest: Path) -> Path:
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        try:
            shutil.copyfile(self._file(key), tmp)
        except FileNotFoundError as exc:
            raise StoreError(f"{self.describe()}: {key} does not exist") from exc
        os.replace(tmp, dest)
        return dest

    def local_path(self, key: str) -> Path:
        """The file itself: local readers skip a copy."""
        return self._file(key)

    def upload(self, src: Path, key: str) -> None:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)

    def copy(self, src_key: str, dest_key: str) -> None:
        self.upload(self._file(src_key), dest_key)

    def move(self, src_key: str, dest_key: str) -> None:
        dest = self._path(dest_key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._path(src_key), dest)

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

"""One interface for every place files live: drop stores (local, S3, SFTP), the lake and quarantine.

Why one interface: sensors, the raw zone and quarantine never care where bytes are; production swaps
a local folder for a bucket or an SFTP server by configuration alone.

Keys are always POSIX-style and relative to the store's root ("site_a/2026-01-02/patients.csv").
"""

from __future__ import annotations

import posixpath
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class StoreError(RuntimeError):
    """A store operation failed after its retries; the message names the store and the key."""


@dataclass(frozen=True)
class StoredObject:
    """One listed file: enough to decide stability and content version without reading it."""

    key: str
    size: int
    mtime: float  # seconds since the epoch
    etag: str | None = None
    kind: str = "file"  # "file", or what else it is ("fifo", "socket", "device"): never opened, only reported

    @property
    def name(self) -> str:
        return posixpath.basename(self.key)

    @property
    def version(self) -> str:
        """A token that changes when the content may have changed (etag where the store has one)."""
        return self.etag.strip('"') if self.etag else f"{self.size}-{int(self.mtime * 1000)}"


def special_kind(mode: int) -> str | None:
    """What a non-regular, non-folder, non-link entry is (None for a regular file), from its st_mode."""
    import stat

    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


class ObjectStore(ABC):
    """What medvault needs of a file store."""

    kind: str = "abstract"

    @abstractmethod
    def describe(self) -> str:
        """A human-readable location without secrets, e.g. 's3://bucket/prefix' or 'sftp://host:22/root'."""

    @abstractmethod
    def list_prefixes(self, prefix: str = "") -> list[str]:
        """Immediate child folders of `prefix` (one level, no trailing slash), sorted. Cheap: no files listed."""

    @abstractmethod
    def list_objects(self, prefix: str = "", recursive: bool = True) -> Iterator[StoredObject]:
        """Files under `prefix` (a folder path, '' for the root). Symlinks are reported as files only on
        stores that follow them; implementations document their choice."""

    @abstractmethod
    def stat(self, key: str) -> StoredObject | None:
        """The object at `key`, or None when it does not exist."""

    @abstractmethod
    def read_range(self, key: str, start: int, length: int) -> bytes:
        """Up to `length` bytes from offset `start` (fewer at end of file)."""

    @abstractmethod
    def download(self, key: str, dest: Path) -> Path:
        """Copy the object to a local file (written as dest.part then renamed) and return dest."""

    @abstractmethod
    def upload(self, src: Path, key: str) -> None:
        """Write a local file to `key` atomically where the store allows (temp name then rename)."""

    def resume_upload(self, src: Path, key: str) -> int:
        """Upload `src` to `key`, continuing what an interrupted upload of the same (unchanged) file left
        behind where the store can; return the bytes sent. Stores whose writes are atomic objects (S3)
        or local copies simply upload again."""
        self.upload(src, key)
        return src.stat().st_size

    @abstractmethod
    def copy(self, src_key: str, dest_key: str) -> None:
        """Copy within this store."""

    @abstractmethod
    def move(self, src_key: str, dest_key: str) -> None:
        """Move/rename within this store."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; missing objects are not an error."""

    def exists(self, key: str) -> bool:
        return self.stat(key) is not None

    def read_bytes(self, key: str) -> bytes:
        obj = self.stat(key)
        if obj is None:
            raise StoreError(f"{self.describe()}: {key} does not exist")
        return self.read_range(key, 0, obj.size)

    def put_bytes(self, key: str, data: bytes) -> None:
        import tempfile

        with tempfile.NamedTemporaryFile(delete=False) as tmp:
            tmp.write(data)
        try:
            self.upload(Path(tmp.name), key)
        finally:
            Path(tmp.name).unlink(missing_ok=True)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections (SFTP); a no-op elsewhere."""

    def __enter__(self) -> ObjectStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def join_key(*parts: str) -> str:
    """Join key parts with '/', ignoring empty parts and stray slashes."""
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))

"""Local file helpers for the zones: safe names, content hashes, a local path for any store's object."""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from medvault.platform.stores.base import ObjectStore
from medvault.platform.stores.local import LocalStore

SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """A file name safe for any store: odd bytes and separators become '_'."""
    return SAFE_NAME.sub("_", name).strip("._") or "unnamed"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def local_file(store: ObjectStore, key: str) -> Iterator[Path]:
    """A local path to read the object: the file itself for a local store, else a temporary download."""
    if isinstance(store, LocalStore):
        yield store.local_path(key)
        return
    with tempfile.TemporaryDirectory(prefix="medvault-") as tmp:
        yield store.download(key, Path(tmp) / safe_name(Path(key).name))

"""Raw and quarantine zones: immutable copies of accepted files, and rejected files with their reason.

Both zones sit behind the ObjectStore interface, so the lake can move from a local folder to S3
without touching the pipeline.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from medvault.platform.stores.base import ObjectStore, join_key
from medvault.platform.stores.local import LocalStore

SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Reason:
    """Why a file was quarantined: a stable code plus a message that names the file (never patient data)."""

    code: str
    message: str
    file: str
    row: int | None = None
    column: str | None = None
    details: dict | None = None

    def to_json(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None}, indent=2, sort_keys=True)


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


class RawZone:
    """`raw/<site>/<date>/<system>/<version>/<sha256>_<name>`: written once, never overwritten."""

    def __init__(self, lake: ObjectStore):
        self.store = lake

    @staticmethod
    def key(site: str, date: str, system: str, version: str, sha256: str, name: str) -> str:
        return join_key("raw", site, date, system, version, f"{sha256}_{safe_name(name)}")

    def put(self, src: Path, site: str, date: str, system: str, version: str, sha256: str, name: str) -> str:
        key = self.key(site, date, system, version, sha256, name)
        if not self.store.exists(key):
            self.store.upload(src, key)
        return key


class QuarantineZone:
    """`<site>/<date>/<sha256>_<name>` plus `<same>.reason.json`."""

    def __init__(self, store: ObjectStore):
        self.store = store

    def put(self, src: Path | None, site: str, date: str, sha256: str, name: str, reason: Reason) -> str:
        key = join_key(site, date, f"{sha256[:16]}_{safe_name(name)}")
        if src is not None and not self.store.exists(key):
            self.store.upload(src, key)
        self.store.put_bytes(key + ".reason.json", reason.to_json().encode())
        return key

    def reason(self, key: str) -> dict:
        return json.loads(self.store.read_bytes(key + ".reason.json"))

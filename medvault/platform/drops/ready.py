"""What a drop scan hands out: the files ready to ingest per (site, date), the new sites, the strays, the
folders it could not list, and the cursor for the next tick (drops/scan.py makes them; the sensor turns
them into run requests keyed by `run_key`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ReadyFile:
    site: str
    date: str  # YYYY-MM-DD
    key: str  # the full store key, "<site>/<date>/<name>"
    size: int
    mtime: float
    version: str  # StoredObject.version: the ETag, else "<size>-<mtime ms>"
    marked: bool = (
        False  # complete by a marker (`_DONE` in its folder or `<name>.done`): the run can see that too
    )


@dataclass
class ScanResult:
    ready: dict[tuple[str, str], list[ReadyFile]] = field(default_factory=dict)
    new_sites: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    strays: list[tuple[str, str, str]] = field(default_factory=list)  # (key, code, message)
    cursor: str = ""
    listed_prefixes: int = 0  # folders listed this tick (root, sites, date folders, stray folders)
    listed_objects: int = 0  # file entries returned by those listings
    future: list[str] = field(default_factory=list)  # "site/date" folders dated after the partition range
    errors: dict[str, str] = field(default_factory=dict)  # site -> why its listing failed (retried next tick)

    @property
    def ready_count(self) -> int:
        return sum(len(files) for files in self.ready.values())


def run_key(site: str, date: str, files: list[ReadyFile]) -> str:
    """One run per (site, date) and content: the same files at the same versions give the same key."""
    payload = "\n".join(sorted(f"{f.key}:{f.version}" for f in files))
    digest = hashlib.sha256(payload.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return f"drop:{site}:{date}:{digest}"

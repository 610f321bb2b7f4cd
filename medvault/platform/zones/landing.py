"""The lake's landing area: where a receive copies each file once before the warehouse is touched.

`landing/<site>/<date>/<landing id>/` holds one copy per fetched file and `landing.json`, the list of
what was fetched (hashes, identification verdicts, faults). The recording step reads it, moves each copy
to the raw zone or quarantine and deletes the folder. The id is the run's root id, so a retried run
finds the landing its first attempt left.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from medvault.platform.stores.base import ObjectStore, join_key
from medvault.platform.zones.files import safe_name


@dataclass
class LandedFile:
    """One file of the drop as fetched: its key, listing, content hash and what identification said."""

    key: str  # display key (valid UTF-8)
    store_key: str  # the key as the store names it
    size: int
    landed: str | None = None  # lake key of the copy; None when the file could not be read
    sha256: str = ""
    layout_fault: list | None = None  # [code, message] when the path breaks the convention
    verdict: dict | None = None  # {"system", "version", "table"}
    fault: dict | None = None  # {"code", "message", "row", "column"}


@dataclass
class Landing:
    site: str
    date: str
    landing_id: str
    stores: dict[str, list[LandedFile]] = field(default_factory=dict)  # store name -> files, in order
    pending: dict[str, int] = field(default_factory=dict)  # store name -> files not yet complete
    errors: dict[str, str] = field(default_factory=dict)  # store name -> why it could not be read

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Landing:
        data = json.loads(text)
        stores = {name: [LandedFile(**f) for f in files] for name, files in data.pop("stores").items()}
        return cls(stores=stores, **data)


class LandingArea:
    def __init__(self, lake: ObjectStore):
        self.store = lake

    @staticmethod
    def folder(site: str, date: str, landing_id: str) -> str:
        return join_key("landing", site, date, safe_name(landing_id))

    def copy_key(self, site: str, date: str, landing_id: str, store: str, n: int, name: str) -> str:
        return join_key(self.folder(site, date, landing_id), f"{store}-{n:06d}_{safe_name(name)}")

    def put(self, src: Path, key: str) -> None:
        self.store.upload(src, key)

    def save(self, landing: Landing) -> None:
        key = join_key(self.folder(landing.site, landing.date, landing.landing_id), "landing.json")
        self.store.put_bytes(key, landing.to_json().encode())

    def load(self, site: str, date: str, landing_id: str) -> Landing | None:
        key = join_key(self.folder(site, date, landing_id), "landing.json")
        if not self.store.exists(key):
            return None
        return Landing.from_json(self.store.read_bytes(key).decode())

    def discard(self, landing: Landing) -> None:
        """Remove what is left of a landing once it is recorded."""
        folder = self.folder(landing.site, landing.date, landing.landing_id)
        for obj in list(self.store.list_objects(folder)):
            self.store.delete(obj.key)

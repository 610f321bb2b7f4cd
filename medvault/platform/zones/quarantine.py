"""The quarantine zone: `<site>/<date>/<sha16>_<name>` plus `<same>.reason.json`."""

from __future__ import annotations

import json
from pathlib import Path

from medvault.platform.stores.base import ObjectStore, join_key
from medvault.platform.zones.files import safe_name
from medvault.platform.zones.reason import Reason


class QuarantineZone:
    def __init__(self, store: ObjectStore):
        self.store = store

    @staticmethod
    def key(site: str, date: str, sha256: str, name: str) -> str:
        return join_key(site, date, f"{sha256[:16]}_{safe_name(name)}")

    def put(self, src: Path | None, site: str, date: str, sha256: str, name: str, reason: Reason) -> str:
        """Copy a file (None: it could not be read) with its reason; returns the quarantine key."""
        key = self.key(site, date, sha256, name)
        if src is not None and not self.store.exists(key):
            self.store.upload(src, key)
        self.store.put_bytes(key + ".reason.json", reason.to_json().encode())
        return key

    def reason(self, key: str) -> dict:
        return json.loads(self.store.read_bytes(key + ".reason.json"))

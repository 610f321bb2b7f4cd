"""The raw zone: `raw/<site>/<date>/<system>/<version>/<sha256>_<name>`, written once, never overwritten."""

from __future__ import annotations

from pathlib import Path

from medvault.platform.stores.base import ObjectStore, join_key
from medvault.platform.zones.files import safe_name


class RawZone:
    def __init__(self, lake: ObjectStore):
        self.store = lake

    @staticmethod
    def key(site: str, date: str, system: str, version: str, sha256: str, name: str) -> str:
        return join_key("raw", site, date, system, version, f"{sha256}_{safe_name(name)}")

    @staticmethod
    def prefix(site: str, date: str, system: str) -> str:
        """Every version of one system's files of a partition lives under this prefix."""
        return join_key("raw", site, date, system)

    def put(self, src: Path, site: str, date: str, system: str, version: str, sha256: str, name: str) -> str:
        key = self.key(site, date, system, version, sha256, name)
        if not self.store.exists(key):
            self.store.upload(src, key)
        return key

    def adopt(
        self, landed_key: str, site: str, date: str, system: str, version: str, sha256: str, name: str
    ) -> str:
        """Move a copy from the lake's landing area into the raw zone (a rename on the same store)."""
        key = self.key(site, date, system, version, sha256, name)
        if self.store.exists(key):
            self.store.delete(landed_key)
        else:
            self.store.move(landed_key, key)
        return key

"""Rules, lake and quarantine locations: what every pipeline step needs besides the warehouse."""

from __future__ import annotations

from functools import cached_property

import dagster as dg

from medvault.platform.pipeline.zones import QuarantineZone, RawZone
from medvault.platform.rules import Rules, load_rules
from medvault.platform.stores.local import LocalStore


class PlatformResource(dg.ConfigurableResource):
    rules_dir: str
    lake_dir: str
    quarantine_dir: str

    @cached_property
    def _rules(self) -> Rules:
        return load_rules(self.rules_dir)

    def rules(self) -> Rules:
        return self._rules

    def lake(self) -> LocalStore:
        return LocalStore(self.lake_dir)

    def raw_zone(self) -> RawZone:
        return RawZone(self.lake())

    def quarantine_zone(self) -> QuarantineZone:
        return QuarantineZone(LocalStore(self.quarantine_dir))

"""What every step of a partition run is handed: one small `StepContext`, built by the `Engine`.

The engine holds what lives for the whole process (settings, rules, the warehouse, the store factory);
a step context adds the partition and run, and opens the lake, quarantine and delivery stores on first use
(closing them with the context).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property

import duckdb

from medvault.platform.config import Settings
from medvault.platform.rules import Rules, RulesError, load_rules
from medvault.platform.stores.base import ObjectStore
from medvault.platform.stores.open import StoreFactory
from medvault.platform.vault.model import VaultModel, compile_vault
from medvault.platform.warehouse import Warehouse
from medvault.platform.zones import LandingArea, QuarantineZone, RawZone

log = logging.getLogger("medvault")


@dataclass
class StepContext:
    """One step of one run: the partition (site, date; None for cross-site steps) and its surroundings."""

    rules: Rules
    warehouse: Warehouse
    stores: StoreFactory
    settings: Settings
    site: str | None = None
    date: str | None = None
    run_id: str | None = None
    log: logging.Logger | logging.LoggerAdapter = log
    lake_store: ObjectStore | None = None  # opened from the settings when not given
    quarantine_store: ObjectStore | None = None
    delivery_store: ObjectStore | None = None
    vault_model: VaultModel | None = None  # compiled once by the engine; compiled here when not given
    _exit: ExitStack = field(default_factory=ExitStack, repr=False)
    _con: duckdb.DuckDBPyConnection | None = field(default=None, repr=False)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A warehouse connection: the session's when one is open, else a new one for this block."""
        if self._con is not None:
            yield self._con
            return
        with self.warehouse.connect() as con:
            yield con

    @contextmanager
    def session(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One connection for every step run inside: each open and close of the file costs a checkpoint."""
        with self.warehouse.connect() as con:
            self._con = con
            try:
                yield con
            finally:
                self._con = None

    def for_partition(self, site: str, date: str) -> StepContext:
        """A context for one partition sharing this one's rules, warehouse, stores and run (a cross-site
        step working partition by partition); close it after use."""
        return replace(self, site=site, date=date, _exit=ExitStack(), _con=None)

    @property
    def partition(self) -> tuple[str, str]:
        if self.site is None or self.date is None:
            raise ValueError("this step runs per (site, date) partition")
        return self.site, self.date

    @cached_property
    def lake(self) -> ObjectStore:
        if self.lake_store is None:
            self.lake_store = self._exit.enter_context(self.stores.lake())
        return self.lake_store

    @cached_property
    def vault(self) -> VaultModel:
        return self.vault_model or compile_vault(self.rules)

    @cached_property
    def raw(self) -> RawZone:
        return RawZone(self.lake)

    @cached_property
    def landing(self) -> LandingArea:
        return LandingArea(self.lake)

    @cached_property
    def quarantine(self) -> QuarantineZone:
        if self.quarantine_store is None:
            self.quarantine_store = self._exit.enter_context(self.stores.quarantine())
        return QuarantineZone(self.quarantine_store)

    @cached_property
    def delivery(self) -> ObjectStore:
        """The DICOM pipeline's destination store (MEDVAULT_DELIVERY), opened on first use."""
        if self.delivery_store is None:
            self.delivery_store = self._exit.enter_context(self.stores.delivery())
        return self.delivery_store

    @cached_property
    def reports(self) -> ObjectStore:
        """Where the CSV reports go (MEDVAULT_REPORTS), opened on first use."""
        return self._exit.enter_context(self.stores.reports())

    def close(self) -> None:
        self._exit.close()

    def __enter__(self) -> StepContext:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def checked_rules(folder) -> Rules:
    """The rules, refused (RulesError, every problem with its file and key path) when they would fail in
    a run: the structural checks of `load_rules` and the engine's own (`rules_check`)."""
    from medvault.platform.steps.rules_check import deep_problems

    rules = load_rules(folder)
    problems = deep_problems(rules)
    if problems:
        raise RulesError(problems)
    return rules


class Engine:
    """The platform for one process: settings resolved once, rules loaded once, one warehouse."""

    def __init__(self, settings: Settings, rules: Rules | None = None, stores: StoreFactory | None = None):
        self.settings = settings
        self.rules = rules if rules is not None else checked_rules(settings.rules)
        self.stores = stores or StoreFactory(settings)
        self.warehouse = Warehouse(settings.warehouse, settings.duckdb_memory_limit)

    @cached_property
    def vault(self) -> VaultModel:
        return compile_vault(self.rules)

    def step(
        self,
        site: str | None = None,
        date: str | None = None,
        run_id: str | None = None,
        log: logging.Logger | logging.LoggerAdapter = log,
    ) -> StepContext:
        return StepContext(
            rules=self.rules,
            warehouse=self.warehouse,
            stores=self.stores,
            settings=self.settings,
            site=site,
            date=date,
            run_id=run_id,
            log=log,
            vault_model=self.vault,
        )

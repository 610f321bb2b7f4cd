"""Small fixtures-as-functions shared by the pipeline tests: an SMR01 extract, a step context over a
temp folder, a local receive, and a whole generated demo run through a test Dagster instance."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from medvault.definitions import build_definitions
from medvault.platform.config import Settings
from medvault.platform.rules import Rules
from medvault.platform.steps.context import Engine, StepContext
from medvault.platform.steps.receive import ReceiveSummary, receive
from medvault.platform.stores.local import LocalStore
from medvault.platform.zones import QuarantineZone, RawZone
from medvault.runner import run_pending
from medvault.synth.generator import generate

REPO_RULES = Path(__file__).resolve().parents[1] / "rules"

SMR01_HEADER = (
    "record_id,chi,admission_date,discharge_date,length_of_stay,sex,age_in_years,ethnic_group,marital_status,"
    "postcode,main_condition,other_condition_1,other_condition_2,other_condition_3,other_condition_4,"
    "main_operation_a,main_operation_b,modified_at\n"
)
SMR01_ROW = "SMR{n},0101011234,2026-03-01,2026-03-02,1,1,40,1A,A,AB1 2CD,I10,,,,,,,2026-03-02T10:00:00\n"


def smr01_csv(*numbers: int) -> str:
    """A valid SMR01 extract with one row per record number."""
    return SMR01_HEADER + "".join(SMR01_ROW.format(n=n) for n in numbers)


def step_context(
    root: Path,
    rules: Rules,
    site: str | None = "aurora_eye",
    date: str | None = "2026-03-02",
    run_id: str | None = None,
    *,
    lake: str = "lake",
    quarantine: str = "q",
    warehouse: str = "w.duckdb",
) -> StepContext:
    """A step context whose lake, quarantine and warehouse are `root/<name>`."""
    settings = Settings.from_env(
        {
            "MEDVAULT_HOME": str(root),
            "MEDVAULT_DROPS": str(root / "drops"),
            "MEDVAULT_LAKE": str(root / lake),
            "MEDVAULT_QUARANTINE": str(root / quarantine),
            "MEDVAULT_WAREHOUSE": str(root / warehouse),
        }
    )
    return Engine(settings, rules).step(site, date, run_id)


class LocalZones:
    """The lake and quarantine of a test, under `tmp_path`, and a receive from `tmp_path/drops`."""

    def __init__(self, tmp_path: Path, rules: Rules):
        self.tmp = tmp_path
        self.rules = rules
        self.lake = LocalStore(tmp_path / "lake")
        self.raw = RawZone(self.lake)
        self.quarantine = QuarantineZone(LocalStore(tmp_path / "q"))

    def context(
        self, site: str = "aurora_eye", date: str = "2026-03-02", run_id: str | None = None
    ) -> StepContext:
        return step_context(self.tmp, self.rules, site, date, run_id)

    def receive(
        self,
        con=None,
        site: str = "aurora_eye",
        date: str = "2026-03-02",
        drops: str = "drops",
        store_name: str = "local",
        run_id: str | None = None,
        **kwargs,
    ) -> ReceiveSummary:
        """Receive `tmp/<drops>/<site>/<date>/` (`con`, when given, is the test's own open connection)."""
        with self.context(site, date, run_id) as ctx:
            return receive(ctx, LocalStore(self.tmp / drops), store_name, **kwargs)


@contextmanager
def demo_run(home: Path, *, sites: int, days: int, seed: int, dirty: bool) -> Iterator[tuple]:
    """Generate `sites` x `days` of drops under `home` and run everything pending, as `medvault demo`
    does, with the repository's rules; yields (settings, summary dict, defs, instance, run report)."""
    settings = Settings.from_env({"MEDVAULT_HOME": str(home), "MEDVAULT_RULES": str(REPO_RULES)})
    settings.ensure_folders()
    summary = generate(settings.drops, sites=sites, days=days, seed=seed, dirty=dirty).to_dict()
    defs = build_definitions(settings)
    with dg.instance_for_test(temp_dir=str(home / "dagster")) as instance:
        report = run_pending(defs, instance, settings, settle_seconds=0, log=lambda *_: None)
        yield settings, summary, defs, instance, report

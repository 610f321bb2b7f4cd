"""Small fixtures-as-functions shared by the pipeline tests: an SMR01 extract and a local receive."""

from __future__ import annotations

from pathlib import Path

from medvault.platform.pipeline.receive import ReceiveSummary, receive_partition
from medvault.platform.pipeline.zones import QuarantineZone, RawZone
from medvault.platform.rules import Rules
from medvault.platform.stores.local import LocalStore

SMR01_HEADER = (
    "record_id,chi,admission_date,discharge_date,length_of_stay,sex,age_in_years,ethnic_group,marital_status,"
    "postcode,main_condition,other_condition_1,other_condition_2,other_condition_3,other_condition_4,"
    "main_operation_a,main_operation_b,modified_at\n"
)
SMR01_ROW = "SMR{n},0101011234,2026-03-01,2026-03-02,1,1,40,1A,A,AB1 2CD,I10,,,,,,,2026-03-02T10:00:00\n"


def smr01_csv(*numbers: int) -> str:
    """A valid SMR01 admissions extract with one row per record number."""
    return SMR01_HEADER + "".join(SMR01_ROW.format(n=n) for n in numbers)


class LocalZones:
    """The lake and quarantine of a test, under `tmp_path`, and a receive from `tmp_path/drops`."""

    def __init__(self, tmp_path: Path, rules: Rules):
        self.tmp = tmp_path
        self.rules = rules
        self.lake = LocalStore(tmp_path / "lake")
        self.raw = RawZone(self.lake)
        self.quarantine = QuarantineZone(LocalStore(tmp_path / "q"))

    def receive(
        self,
        con,
        site: str = "aurora_eye",
        date: str = "2026-03-02",
        drops: str = "drops",
        store_name: str = "local",
        **kwargs,
    ) -> ReceiveSummary:
        return receive_partition(
            con,
            LocalStore(self.tmp / drops),
            store_name,
            self.raw,
            self.quarantine,
            self.rules,
            site,
            date,
            **kwargs,
        )

"""The EHR admissions extract (system `ndc_smr01`), after the NDC SMR01 table of the SERUMS use case.

Why discharge-dated: an SMR01 episode is submitted when the patient is discharged, so each day's file
holds the episodes that ended that day (admission_date = discharge_date - length_of_stay).
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from medvault.synth.ids import stream
from medvault.synth.people import Patient, PatientPool
from medvault.synth.sites import SiteSpec

SYSTEM = "ndc_smr01"
VERSION = "v1"
TABLE = "admissions"
FILE_PREFIX = "smr01"
COLUMNS = (
    "record_id",
    "chi",
    "admission_date",
    "discharge_date",
    "length_of_stay",
    "sex",
    "age_in_years",
    "ethnic_group",
    "marital_status",
    "postcode",
    "main_condition",
    "other_condition_1",
    "other_condition_2",
    "other_condition_3",
    "other_condition_4",
    "main_operation_a",
    "main_operation_b",
    "modified_at",
)
# ICD-10 in SMR style (no dot, X filler); eye conditions first, weighted up for eye-care sites.
EYE_CONDITIONS = ("H251", "H259", "H353", "H360", "H401", "H334", "H340", "H202")
GENERAL_CONDITIONS = (
    "E113",
    "E119",
    "I10X",
    "I219",
    "I639",
    "J189",
    "J440",
    "S720",
    "K358",
    "N390",
    "C349",
    "F03X",
)
# OPCS-4 (no dot).
EYE_OPERATIONS = ("C712", "C751", "C794", "C822", "C864", "C601")
GENERAL_OPERATIONS = ("W371", "H011", "K401", "G451", "T202", "Y532")
SEX_CODES = {"M": "1", "F": "2", "O": "9", "U": "9"}


def fmt_ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


class EhrSite:
    def __init__(self, seed: int, site: SiteSpec, pool: PatientPool):
        self.seed = seed
        self.site = site
        self.pool = pool
        self.record_no = 0

    def record(self, rng: random.Random, patient: Patient, discharge: date, record_id: str) -> dict[str, str]:
        stay = rng.choices(range(15), weights=(30, 18, 12, 9, 7, 5, 4, 3, 3, 2, 2, 2, 1, 1, 1))[0]
        admission = discharge - timedelta(days=stay)
        eye = rng.random() < self.site.eye_share
        conditions = EYE_CONDITIONS if eye else GENERAL_CONDITIONS
        others = rng.sample(
            EYE_CONDITIONS + GENERAL_CONDITIONS, rng.choices(range(5), weights=(35, 30, 18, 10, 7))[0]
        )
        operation_a = rng.choice(EYE_OPERATIONS if eye else GENERAL_OPERATIONS) if rng.random() < 0.6 else ""
        operation_b = (
            rng.choice(EYE_OPERATIONS + GENERAL_OPERATIONS) if operation_a and rng.random() < 0.25 else ""
        )
        return {
            "record_id": record_id,
            "chi": patient.chi,
            "admission_date": admission.isoformat(),
            "discharge_date": discharge.isoformat(),
            "length_of_stay": str(stay),
            "sex": SEX_CODES[patient.sex],
            "age_in_years": str(patient.age_on(admission)),
            "ethnic_group": patient.ethnic_group,
            "marital_status": patient.marital_status,
            "postcode": patient.postcode,
            "main_condition": rng.choice(conditions),
            **{f"other_condition_{i + 1}": (others[i] if i < len(others) else "") for i in range(4)},
            "main_operation_a": operation_a,
            "main_operation_b": operation_b,
            "modified_at": fmt_ts(
                datetime.combine(discharge, time(rng.randint(9, 20), rng.randint(0, 59), rng.randint(0, 59)))
            ),
        }

    def day(self, index: int, day: date) -> list[dict[str, str]]:
        rng = stream(self.seed, self.site.code, "ehr", day.isoformat())
        rows = []
        for _ in range(rng.randint(2, 5)):
            self.record_no += 1
            patient = self.pool.pick(rng, new_share=0.4)
            rows.append(self.record(rng, patient, day, f"SMR{self.site.prefix}{self.record_no:07d}"))
        return rows

"""Golden test of seed 002's NDC SMR01 example: the shipped rules against the seed's control files
(tables 3.2 and 3.3, copied below), loading two SMR01 episodes.

What is reproduced exactly: every column of table 3.2 lands in a satellite of the same major/minor name
with exactly the seed's column group, and the demographics hang on `hub_person` keyed by `chi`
(table 3.3). Where medvault departs from the seed, on purpose (docs/vault.md, "The model"): the seed
keys its time and object hubs by the SMR01 row id, so the admission dates, conditions and operations
satellites hang on the admission (`hub_event`, keyed by the record id); the calendar day is its own
`hub_time` key and each condition and operation code its own object hub (`hub_condition`,
`hub_operation`), linked to the admission.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb

from medvault.platform.rules import load_rules
from medvault.platform.vault import hashing
from medvault.platform.vault.ddl import create_vault_tables
from medvault.platform.vault.loader import load_partition
from medvault.platform.vault.model import compile_vault

REPO = Path(__file__).resolve().parents[1]

COLUMN_CONTROL = """\
admission_date	sat_time_admissions_date	id_hub_time
discharge_date	sat_time_admissions_date	id_hub_time
length_of_stay	sat_time_admissions_date	id_hub_time
sex	sat_person_demographic_details	chi_hub_person
age_in_years	sat_person_demographic_details	chi_hub_person
ethnic_group	sat_person_demographic_details	chi_hub_person
marital_status	sat_person_demographic_details	chi_hub_person
postcode	sat_person_demographic_details	chi_hub_person
main_condition	sat_object_conditions_details	id_hub_object
other_condition_1	sat_object_conditions_details	id_hub_object
other_condition_2	sat_object_conditions_details	id_hub_object
other_condition_3	sat_object_conditions_details	id_hub_object
other_condition_4	sat_object_conditions_details	id_hub_object
main_operation_a	sat_object_operations_details	id_hub_object
main_operation_b	sat_object_operations_details	id_hub_object
"""
HUB_CONTROL = {"hub_person": "chi", "hub_time": "id", "hub_object": "id"}
FAMILY = {"hub_person": "person", "hub_time": "time", "hub_object": "object"}

EPISODES = [  # record_id, chi, admission, discharge, stay, sex, age, ethnic, marital, postcode, conditions, ops
    (
        "R1",
        "0101011234",
        date(2025, 3, 1),
        date(2025, 3, 4),
        3,
        1,
        64,
        "1A",
        "B",
        "KY16 9AJ",
        ("C712", "I10", None, None, None),
        ("A011", None),
    ),
    (
        "R2",
        "0101011234",
        date(2025, 6, 9),
        date(2025, 6, 9),
        0,
        1,
        64,
        "1A",
        "B",
        "KY16 9AJ",
        ("I10", "E119", "Z921", None, None),
        (None, None),
    ),
]


def _stage(con) -> None:
    con.execute(
        """CREATE SCHEMA staging; CREATE TABLE staging.ndc_smr01__admissions (
            record_id VARCHAR, chi VARCHAR, admission_date DATE, discharge_date DATE, length_of_stay INTEGER,
            sex INTEGER, age_in_years INTEGER, ethnic_group VARCHAR, marital_status VARCHAR, postcode VARCHAR,
            main_condition VARCHAR, other_condition_1 VARCHAR, other_condition_2 VARCHAR,
            other_condition_3 VARCHAR, other_condition_4 VARCHAR, main_operation_a VARCHAR,
            main_operation_b VARCHAR, modified_at TIMESTAMP, _site VARCHAR, _date DATE, _sha256 VARCHAR,
            _source_key VARCHAR, _version VARCHAR, _row_number BIGINT, _loaded_at TIMESTAMP)"""
    )
    for n, (*head, conditions, operations) in enumerate(EPISODES, start=1):
        con.execute(
            "INSERT INTO staging.ndc_smr01__admissions VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'ustan', DATE '2025-07-01', 'sha', 'k', 'v1', ?, now())",
            [*head, *conditions, *operations, datetime(2025, 7, 1), n],
        )


def test_the_shipped_smr01_rules_reproduce_the_seeds_control_files():
    rules = load_rules(REPO / "rules")
    smr01 = [load for load in rules.vault.loads if load.source == "ndc_smr01.admissions"]
    groups: dict[str, list[str]] = {}
    for line in COLUMN_CONTROL.splitlines():
        column, destination, _ = line.split("\t")
        groups.setdefault(destination, []).append(column)
    shipped = {sat.name: sat for load in smr01 for sat in load.satellites}
    for destination, columns in groups.items():
        suffix = destination.split("_", 2)[2]  # sat_<hub>_<major>_<minor> -> <major>_<minor>
        matches = [s for name, s in shipped.items() if name.endswith("_" + suffix)]
        assert len(matches) == 1, f"{destination}: one shipped satellite named *_{suffix}"
        assert list(matches[0].columns) == columns, destination
    assert shipped["sat_person_demographic_details"].parent == "hub_person"
    assert smr01[0].hubs["hub_person"] == (HUB_CONTROL["hub_person"],)
    families = {h.name: h.family for h in rules.vault.hubs.values()}
    assert {families[h] for load in smr01 for h in load.hubs} >= set(FAMILY.values())

    con = duckdb.connect()
    _stage(con)
    model = compile_vault(rules)
    create_vault_tables(con, model)
    counts = load_partition(con, model, "ustan", "2025-07-01", datetime(2025, 7, 2))
    chi = EPISODES[0][1]
    person = con.execute(
        "SELECT hk_person, person_id FROM vault.hub_person WHERE record_source <> 'SYSTEM'"
    ).fetchall()
    assert [(bytes(h), p) for h, p in person] == [(hashing.hash_key([chi], tenant="ustan"), chi)]
    demographics = con.execute(
        "SELECT sex, age_in_years, ethnic_group, marital_status, postcode "
        "FROM vault.sat_person_demographic_details__current"
    ).fetchall()
    assert demographics == [(1, 64, "1A", "B", "KY16 9AJ")], "one person, one demographic version"
    codes = {c for *_, conditions, _ in EPISODES for c in conditions if c}
    conditions = "SELECT condition_code FROM vault.hub_condition WHERE record_source <> 'SYSTEM'"
    assert {r[0] for r in con.execute(conditions).fetchall()} == codes
    assert counts["hub_operation"] == 1 and counts["hub_event"] == 2 and counts["hub_time"] == 2
    stays = con.execute(
        "SELECT admission_date, discharge_date, length_of_stay FROM vault.sat_event_admissions_date__current "
        "ORDER BY admission_date"
    ).fetchall()
    assert stays == [(e[2], e[3], e[4]) for e in EPISODES]

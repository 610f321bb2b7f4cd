"""Derived columns in vault loads (rules `derive:`): computed before hashing, keyed and compared like
staged ones, and checked with file and key-path errors."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from medvault.platform.rules import RulesError, load_rules
from medvault.platform.rules.models import DerivedColumn, HubDef, SatelliteLoad
from medvault.platform.vault import hashing
from medvault.platform.vault.ddl import create_vault_tables
from medvault.platform.vault.loader import load_partition
from medvault.platform.vault.model import compile_vault
from tests.test_vault import _create_staging, _stage_studies, make_rules

REPO = Path(__file__).resolve().parents[1]


def derived_rules():
    rules = make_rules()
    studies = rules.vault.loads[0]
    derive = {
        "study_day": DerivedColumn("study_day", "date", ("modified_at",)),
        "modality_label": DerivedColumn(
            "modality_label", "map", ("modality",), mapping=(("CT", "computed tomography"),)
        ),
        "order_key": DerivedColumn("order_key", "concat", ("accession_number", "modality"), sep="-"),
        "shout": DerivedColumn("shout", "upper", ("study_description",)),
    }
    sat = SatelliteLoad("sat_event_study_labels", "hub_event", ("modality_label", "order_key", "shout"))
    load = replace(
        studies,
        derive=derive,
        hubs={**studies.hubs, "hub_time": ("study_day",)},
        satellites=(*studies.satellites, sat),
    )
    hubs = {**rules.vault.hubs, "hub_time": HubDef("hub_time", "time", ("calendar_day",))}
    return replace(rules, vault=replace(rules.vault, hubs=hubs, loads=(load, *rules.vault.loads[1:])))


def test_derived_columns_key_hubs_and_fill_satellites():
    con = duckdb.connect()
    _create_staging(con)
    model = compile_vault(derived_rules())
    create_vault_tables(con, model)
    _stage_studies(
        con,
        "site_a",
        "2026-01-01",
        [
            ("1.1", "P1", date(2025, 12, 1), "A1", "ct head", "CT", datetime(2026, 1, 1, 9)),
            ("1.2", "P1", date(2025, 12, 1), None, "mr knee", "MR", datetime(2026, 1, 1, 17)),
            ("1.3", "P2", date(2025, 12, 2), "A3", "ct chest", "CT", datetime(2025, 12, 31, 8)),
        ],
    )
    counts = load_partition(con, model, "site_a", "2026-01-01", datetime(2026, 1, 2))
    assert counts["hub_time"] == 2, "two calendar days from three timestamps"
    days = con.execute(
        "SELECT hk_time, calendar_day FROM vault.hub_time WHERE record_source <> 'SYSTEM' ORDER BY calendar_day"
    ).fetchall()
    assert [d for _, d in days] == ["2025-12-31", "2026-01-01"]
    assert bytes(days[1][0]) == hashing.hash_key(["2026-01-01"], tenant="site_a")
    labels = con.execute(
        "SELECT e.event_id, s.modality_label, s.order_key, s.shout FROM vault.sat_event_study_labels__current s "
        "JOIN vault.hub_event e USING (hk_event) ORDER BY 1"
    ).fetchall()
    assert labels == [
        ("1.1", "computed tomography", "A1-CT", "CT HEAD"),
        ("1.2", None, None, "MR KNEE"),  # no code in the map; a composite key with a missing part is NULL
        ("1.3", "computed tomography", "A3-CT", "CT CHEST"),
    ]


def _rules_with(tmp_path: Path, derive: str) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules" / "vault", root / "vault")
    shutil.copytree(REPO / "rules" / "sources", root / "sources")
    (root / "sites.yaml").write_text("sites:\n  - {code: site_a, name: A, country: FI, timezone: UTC}\n")
    (root / "vault" / "loads_extra.yaml").write_text(
        "loads:\n  - source: harmony_pacs.studies\n    derive:\n"
        + derive
        + "    hubs: {hub_event: [study_uid]}\n"
    )
    return root


@pytest.mark.parametrize(
    ("derive", "problem"),
    [
        ("      d: {column: study_date, transform: round}\n", "'round' is not one of"),
        ("      d: {column: nope, transform: upper}\n", "'nope' is not a staged column"),
        ("      d: {column: modality, transform: map}\n", "a map needs at least one code"),
        (
            "      modality: {column: modality, transform: upper}\n",
            "is a staged column of harmony_pacs.studies already",
        ),
        ("      d: {columns: [modality], transform: concat}\n", "concat joins at least two columns"),
        (
            "      d: {column: modality, transform: upper, format: '%Y'}\n",
            "only a date transform takes a format",
        ),
    ],
)
def test_derive_mistakes_are_named_by_file_and_key(tmp_path, derive, problem):
    with pytest.raises(RulesError) as err:
        load_rules(_rules_with(tmp_path, derive))
    assert any("loads_extra.yaml: loads[0].derive." in p and problem in p for p in err.value.problems), (
        err.value.problems
    )


def test_a_date_in_a_sites_text_format(tmp_path):
    root = _rules_with(tmp_path, "      d: {column: accession_number, transform: date, format: '%d/%m/%Y'}\n")
    load = next(x for x in load_rules(root).vault.loads if x.derive)
    from medvault.platform.vault.derive import derived_sql

    sql = derived_sql(load.derive["d"])
    got = duckdb.execute(
        f"SELECT {sql} FROM (SELECT * FROM (VALUES ('02/03/2026'), ('bad')) t(accession_number))"
    )
    assert got.fetchall() == [(date(2026, 3, 2),), (None,)]

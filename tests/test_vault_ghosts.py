"""Ghost records: a missing business key is the zero key, every hub and satellite holds one ghost row,
links keep the row with the zero key on the missing end, PITs point at the ghost satellite row, and the
audit counts the rows that took the zero key (vault/ghosts.py)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from medvault.platform.rules import RulesError, load_rules
from medvault.platform.rules.models import SatelliteLoad
from medvault.platform.staging.tables import ensure_staging_tables
from medvault.platform.steps import vault as vault_step
from medvault.platform.vault import hashing
from medvault.platform.vault.bridge import bridges, build_bridge
from medvault.platform.vault.ddl import create_vault_tables
from medvault.platform.vault.ghosts import GHOST_SOURCE, GHOST_TS, has_ghost
from medvault.platform.vault.loader import load_partition
from medvault.platform.vault.model import compile_vault, hash_column, table_name
from medvault.platform.vault.pit import build_pit, pits
from medvault.platform.warehouse.db import Warehouse
from tests.helpers import step_context
from tests.test_vault import _create_staging, _stage_studies, make_rules

REPO = Path(__file__).resolve().parents[1]
ZERO = hashing.ZERO_KEY
D1, D2 = "2026-01-01", "2026-01-02"
T1, T2 = datetime(2026, 1, 1, 9), datetime(2026, 1, 2, 9)
ROWS = [
    ("1.1", "P1", date(2025, 12, 1), "A1", "CT head", "CT", T1),
    ("1.2", None, date(2025, 12, 2), "A2", "no patient", "CT", T1),  # no person key
    (None, "P3", date(2025, 12, 3), "A3", "no study", "MR", T1),  # no event key
]


def _rules(ghosts: bool = True):
    rules = make_rules()
    return replace(rules, vault=replace(rules.vault, ghost_records=ghosts))


def _vault(ghosts: bool = True):
    con = duckdb.connect()
    _create_staging(con)
    model = compile_vault(_rules(ghosts))
    create_vault_tables(con, model)
    _stage_studies(con, "site_a", D1, ROWS)
    return con, model


def _snapshot(con, model) -> dict[str, list]:
    return {
        name: sorted(con.execute(f"SELECT * EXCLUDE (load_ts) FROM {table_name(name)}").fetchall(), key=str)
        for name in model.objects
    }


def _zero_rows(con, model) -> dict[str, int]:
    out = {}
    for obj in model.objects.values():
        key = obj.hash_key or hash_column(obj.parent)
        out[obj.name] = con.execute(
            f"SELECT count(*) FROM {table_name(obj.name)} WHERE {key} = ?", [ZERO]
        ).fetchone()[0]
    return out


def test_a_missing_business_key_links_to_the_zero_key_and_an_inner_join_keeps_the_row():
    con, model = _vault()
    load_partition(con, model, "site_a", D1, datetime(2026, 1, 2))
    person_1_2 = hashing.hash_key(["1.2"], tenant="site_a")
    links = {
        (bytes(p), bytes(e))
        for p, e in con.execute("SELECT hk_person, hk_event FROM vault.link_person_event").fetchall()
    }
    assert (ZERO, person_1_2) in links and (hashing.hash_key(["P3"], tenant="site_a"), ZERO) in links
    assert len(links) == 3, "every staged row is a link row; none has two missing ends"
    joined = con.execute(
        """SELECT e.event_id, p.person_id, s.study_description
           FROM vault.link_person_event l
           JOIN vault.hub_person p ON p.hk_person = l.hk_person
           JOIN vault.hub_event e ON e.hk_event = l.hk_event
           JOIN vault.sat_event_study_details__history s ON s.hk_event = e.hk_event
           ORDER BY ALL"""
    ).fetchall()
    assert joined == [
        ("1.1", "P1", "CT head"),
        ("1.2", None, "no patient"),  # the ghost person
        (None, "P3", None),  # the ghost event and its ghost satellite row
    ]
    # the ghost rows: the zero key, no site, no business key or payload, the beginning of all times
    assert con.execute("SELECT * FROM vault.hub_person WHERE hk_person = ?", [ZERO]).fetchall() == [
        (ZERO, None, None, GHOST_TS, GHOST_SOURCE)
    ]
    ghost = con.execute(
        "SELECT hashdiff, study_date, study_description, effective_ts, load_ts, record_source, _site, _date "
        "FROM vault.sat_event_study_details WHERE hk_event = ?",
        [ZERO],
    ).fetchall()
    assert ghost == [(ZERO, None, None, GHOST_TS, GHOST_TS, GHOST_SOURCE, None, None)]
    # nobody's current state: the ghost is in __history (for the PITs), not in __current
    current = con.execute("SELECT count(*) FROM vault.sat_event_study_details__current").fetchone()[0]
    assert current == 2
    # the staged row without a study stored no satellite row beside the ghost
    assert _zero_rows(con, model) == {
        "hub_person": 1,
        "hub_event": 1,
        "link_person_event": 0,
        "sat_event_study_details": 1,
        "sat_person_demographic_details": 1,
    }


def test_reruns_insert_nothing_and_the_ghost_rows_stay_unique():
    con, model = _vault()
    load_partition(con, model, "site_a", D1, datetime(2026, 1, 2))
    before = _snapshot(con, model)
    assert set(load_partition(con, model, "site_a", D1, datetime(2026, 1, 3)).values()) == {0}
    for _ in range(2):
        create_vault_tables(con, model)
    assert _snapshot(con, model) == before, "a rerun and re-created tables insert nothing"
    # another partition with missing keys, and another site: still one ghost row per hub and satellite
    _stage_studies(con, "site_a", D2, [("2.1", None, date(2025, 12, 5), "B", "again", "CT", T2)])
    _stage_studies(con, "site_b", D1, [(None, None, date(2025, 12, 5), "C", "nothing", "CT", T1)])
    load_partition(con, model, "site_a", D2, datetime(2026, 1, 4))
    load_partition(con, model, "site_b", D1, datetime(2026, 1, 4))
    zero = _zero_rows(con, model)
    assert {n: zero[n] for n, o in model.objects.items() if has_ghost(o)} == dict.fromkeys(
        (n for n, o in model.objects.items() if has_ghost(o)), 1
    )
    # a row with no key at either end is no link row
    assert (
        con.execute(
            "SELECT count(*) FROM vault.link_person_event WHERE hk_person = ? AND hk_event = ?", [ZERO, ZERO]
        ).fetchone()[0]
        == 0
    )


def test_with_ghost_records_off_a_row_without_a_key_is_skipped():
    con, model = _vault(ghosts=False)
    load_partition(con, model, "site_a", D1, datetime(2026, 1, 2))
    assert set(_zero_rows(con, model).values()) == {0}
    assert con.execute("SELECT count(*) FROM vault.link_person_event").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM vault.hub_person").fetchone()[0] == 2  # P1, P3


def _stage_admissions(con, day: str, rows: list[tuple]) -> None:
    """rows: (record_id, chi, admission_date, sex, age_in_years)."""
    for n, r in enumerate(rows, start=1):
        con.execute(
            "INSERT INTO staging.smr__admissions VALUES (?, ?, ?, ?, ?, 'site_a', ?, 'sha', 'k', 'v1', ?, now())",
            [*r, day, n],
        )


def _pit_rules():
    """The test rules with a second satellite on hub_event, fed by the admissions: a study has no
    version in it, an admission none in the study details."""
    rules = _rules()
    smr = rules.vault.loads[1]
    extra = SatelliteLoad("sat_event_admission_dates", "hub_event", ("admission_date",))
    loads = (rules.vault.loads[0], replace(smr, satellites=(*smr.satellites, extra)))
    return replace(rules, vault=replace(rules.vault, loads=loads))


PIT_JOIN = """
    SELECT e.event_id, d.study_description, a.admission_date
    FROM vault.pit_event p
    JOIN vault.hub_event e ON e.hk_event = p.hk_event
    JOIN vault.sat_event_study_details__history d
      ON d.hk_event = p.sat_event_study_details_hk AND d.effective_ts = p.sat_event_study_details_ts
    JOIN vault.sat_event_admission_dates__history a
      ON a.hk_event = p.sat_event_admission_dates_hk AND a.effective_ts = p.sat_event_admission_dates_ts
    ORDER BY ALL"""


def test_a_pit_points_at_the_ghost_row_where_a_key_has_no_version_so_inner_joins_keep_it():
    con = duckdb.connect()
    _create_staging(con)
    model = compile_vault(_pit_rules())
    create_vault_tables(con, model)
    _stage_studies(con, "site_a", D1, ROWS[:1])
    _stage_admissions(con, D1, [("R1", "CHI1", date(2025, 12, 30), "1", 40)])
    load_partition(con, model, "site_a", D1, datetime(2026, 1, 2))
    pit = next(p for p in pits(model) if p.hub == "hub_event")
    assert pit.satellites == ("sat_event_study_details", "sat_event_admission_dates")
    assert build_pit(con, pit) == (2, 2)
    assert con.execute(PIT_JOIN).fetchall() == [("1.1", "CT head", None), ("R1", None, date(2025, 12, 30))]
    pointers = con.execute(
        "SELECT sat_event_admission_dates_hk, sat_event_admission_dates_ts FROM vault.pit_event p "
        "JOIN vault.hub_event e USING (hk_event) WHERE e.event_id = '1.1'"
    ).fetchall()
    assert pointers == [(ZERO, GHOST_TS)]
    assert con.execute("SELECT count(*) FROM vault.pit_event WHERE hk_event = ?", [ZERO]).fetchone()[0] == 0

    # built under the other setting, the PIT is rebuilt whole: no pointer where no version is
    assert build_pit(con, replace(pit, ghosts=False)) == (2, 2)
    assert con.execute(PIT_JOIN).fetchall() == []
    nulls = con.execute(
        "SELECT count(*) FROM vault.pit_event WHERE sat_event_admission_dates_hk IS NULL "
        "AND sat_event_admission_dates_ts IS NULL"
    ).fetchone()[0]
    assert nulls == 1
    assert build_pit(con, pit) == (2, 2), "and back"
    assert len(con.execute(PIT_JOIN).fetchall()) == 2
    assert build_pit(con, pit) == (0, 0), "nothing loaded since: nothing rebuilt"


def test_the_audit_counts_the_ghost_rows_and_the_balance_checks_pass(tmp_path: Path):
    """Through the vault step: the orders without a study take the zero key; the hub and link checks
    find it in the ghost row (accounted, not an orphan) and `ops.load_audit.rows_ghost` counts them."""
    rules = load_rules(REPO / "rules")
    ctx = step_context(tmp_path, rules, "aurora_eye", "2026-03-02", run_id="run-1")
    with Warehouse(ctx.settings.warehouse).connect() as con:
        ensure_staging_tables(con, rules, "harmony_pacs", "orders")
        for n, (order, patient, study) in enumerate(
            [("ORD1", "P1", "1.2.3"), ("ORD2", "P2", None), ("ORD3", None, None)], start=1
        ):
            con.execute(
                "INSERT INTO staging.harmony_pacs__orders (order_id, patient_id, order_type, study_uid, "
                "_site, _date, _version, _row_number, _sha256) "
                "VALUES (?, ?, 'STUDY', ?, 'aurora_eye', DATE '2026-03-02', 'v2', ?, 's')",
                [order, patient, study, n],
            )
    result = vault_step.run(ctx, {o.name for o in ctx.vault.fed()})
    assert result.failures == [] and result.checks and all(c.passed for c in result.checks)
    with Warehouse(ctx.settings.warehouse).connect(read_only=True) as con:
        audit = dict(
            con.execute(
                "SELECT target, (rows_in, rows_inserted, rows_ghost) FROM ops.load_audit WHERE step = 'vault'"
            ).fetchall()
        )
    # hub_event: ORD1..3 as orders (plainly and as role `order`) and 1.2.3 as a study; two studies missing
    assert audit["vault.hub_event"] == (3, 4, 2)
    assert audit["vault.hub_person"] == (3, 2, 1)
    assert audit["vault.link_order_study"] == (3, 3, 2), "every order links, two to the zero key"
    assert audit["vault.link_person_event"] == (3, 3, 1)
    assert audit["vault.sat_event_order_details"][2] == 0, "every order has its key"
    meta = {t.table[1]: t.metadata for t in result.tables}
    assert meta["link_order_study"]["rows_ghost"] == 2 and "rows_ghost" not in meta["sat_event_order_details"]
    checks = {(c.table[1], c.name): c.metadata for c in result.checks}
    assert checks[("hub_event", "keys_resolve")]["unresolved_keys"] == 0
    assert checks[("link_order_study", "hub_keys_exist")]["missing_in_hub_event.study"] == 0


def _rules_with(tmp_path: Path, file: str, old: str, new: str) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    path = root / "vault" / file
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    return root


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "model.yaml",
            "ghost_records: true",
            "ghost_records: maybe",
            "rules/vault/model.yaml: ghost_records: expected true or false, got 'maybe'",
        ),
        (
            "model.yaml",
            "ghost_records: true",
            "ghost_records: [true]",
            "rules/vault/model.yaml: ghost_records: expected true or false, got [True]",
        ),
        (
            "references.yaml",
            "references:",
            "ghost_records: false\nreferences:",
            "rules/vault/references.yaml: ghost_records: is set in rules/vault/model.yaml already; say it once",
        ),
    ],
)
def test_rules_check_names_a_bad_ghost_records_setting(tmp_path: Path, file, old, new, expected):
    with pytest.raises(RulesError) as err:
        load_rules(_rules_with(tmp_path, file, old, new))
    assert expected in err.value.problems, err.value.problems


def test_the_setting_is_on_by_default_and_can_be_turned_off(tmp_path: Path):
    assert load_rules(REPO / "rules").vault.ghost_records is True
    root = _rules_with(tmp_path, "model.yaml", "ghost_records: true\n", "")
    assert load_rules(root).vault.ghost_records is True
    root = _rules_with(tmp_path / "off", "model.yaml", "ghost_records: true", "ghost_records: false")
    assert load_rules(root).vault.ghost_records is False


def test_a_bridge_walks_real_keys_only():
    """A link row pointing at the zero key on the path is no step: the bridge is what it would be
    without ghost records (a path through the ghost would join unrelated rows)."""
    rules = load_rules(REPO / "rules")
    built = {}
    for ghosts in (True, False):
        model = compile_vault(replace(rules, vault=replace(rules.vault, ghost_records=ghosts)))
        con = duckdb.connect()
        for table in ("series", "instances"):
            ensure_staging_tables(con, rules, "harmony_pacs", table)
        create_vault_tables(con, model)
        for n, (series, study) in enumerate([("1.3.1", "1.2.1"), ("1.3.2", None), ("1.3.3", None)], start=1):
            con.execute(
                "INSERT INTO staging.harmony_pacs__series (series_uid, study_uid, _site, _date, _version, "
                "_row_number, _sha256) VALUES (?, ?, 'aurora_eye', DATE '2026-03-02', 'v2', ?, 's')",
                [series, study, n],
            )
        for n, (instance, series) in enumerate([("1.4.1", "1.3.1"), ("1.4.2", None), ("1.4.3", "1.3.2")], 1):
            con.execute(
                "INSERT INTO staging.harmony_pacs__instances (sop_instance_uid, series_uid, _site, _date, "
                "_version, _row_number, _sha256) VALUES (?, ?, 'aurora_eye', DATE '2026-03-02', 'v2', ?, 's')",
                [instance, series, n],
            )
        load_partition(con, model, "aurora_eye", "2026-03-02", datetime(2026, 3, 3))
        bridge = next(b for b in bridges(model) if b.name == "bridge_study_images")
        build_bridge(con, bridge)
        built[ghosts] = sorted(
            con.execute(f"SELECT * EXCLUDE (built_load_ts) FROM {table_name(bridge.name)}").fetchall(),
            key=str,
        )
        if ghosts:  # the links hold the rows with a missing end
            assert (
                con.execute(
                    "SELECT count(*) FROM vault.link_event_series WHERE hk_event = ?", [ZERO]
                ).fetchone()[0]
                == 2
            )
    assert built[True] == built[False] and len(built[True]) == 1


def test_rules_check_refuses_a_mart_reading_a_pit_without_ghost_records(tmp_path: Path):
    """The star reads the PITs with inner joins to the satellites; without ghost rows to point at, a key
    without a version would drop out, so `rules check` says what the mart needs."""
    from medvault.platform.marts.validate import mart_problems

    rules = load_rules(_rules_with(tmp_path, "model.yaml", "ghost_records: true", "ghost_records: false"))
    problems = mart_problems(rules, compile_vault(rules))
    assert (
        "rules/marts/dim_patient.sql: inputs: vault.pit_person: a mart reads the PIT tables with "
        "ghost_records: true (rules/vault)"
    ) in problems
    assert mart_problems(load_rules(REPO / "rules"), compile_vault(load_rules(REPO / "rules"))) == []

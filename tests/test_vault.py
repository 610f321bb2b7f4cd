"""Data Vault hashing and loads against a real DuckDB file with hand-made staging tables."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from medvault.platform.rules.loader import load_rules
from medvault.platform.rules.models import (
    ColumnDef,
    HubDef,
    LinkDef,
    Rules,
    SatelliteLoad,
    SourceDef,
    TableDef,
    VaultLoad,
    VaultModel,
)
from medvault.platform.vault import hashing
from medvault.platform.vault.ddl import create_vault_tables, vault_ddl
from medvault.platform.vault.loader import load_hub, load_link, load_partition, load_satellite

REPO = Path(__file__).resolve().parents[1]
LOAD_TS1 = datetime(2026, 1, 3, 1, 0, 0)
LOAD_TS2 = datetime(2026, 1, 4, 1, 0, 0)
LOAD_TS3 = datetime(2026, 1, 5, 1, 0, 0)


# --- hashing ------------------------------------------------------------------------------------------


def _sql_hash(con, values: list, *, tenant=None) -> bytes | None:
    cols = [f"c{i}" for i in range(len(values))]
    select = ", ".join(f"?::VARCHAR AS c{i}" for i in range(len(values)))
    expr = hashing.hash_key_sql(cols, tenant="t" if tenant is not None else None)
    row = con.execute(f"SELECT {expr} FROM (SELECT {select}, ?::VARCHAR AS t)", [*values, tenant]).fetchone()
    return None if row[0] is None else bytes(row[0])


@pytest.mark.parametrize(
    "values",
    [
        ["abc"],
        ["  abc  ", "Def"],
        [None, "x"],
        ["", "x", None],
        ["a||b", "c"],
        ["a|", "b"],
        ["back\\slash", "^^"],
        ["héllo wörld", "12"],
        [None, None],
        ["   ", None],
    ],
)
def test_hash_key_sql_matches_python_reference(values):
    con = duckdb.connect()
    assert _sql_hash(con, values) == hashing.hash_key(values)
    assert _sql_hash(con, values, tenant="site_a") == hashing.hash_key(values, tenant="site_a")


def test_hash_key_convention_and_all_null():
    # AutomateDV convention for plain values: UPPER(TRIM(x)), '^^' for NULL, '||' joined, MD5 bytes
    import hashlib

    assert hashing.hash_key([" ab ", None]) == hashlib.md5(b"AB||^^").digest()
    assert hashing.hash_key(["x"], tenant="site_a") == hashlib.md5(b"SITE_A||X").digest()
    assert len(hashing.hash_key(["x"])) == 16
    assert hashing.hash_key([None, " "]) is None
    assert hashing.hash_key([None], tenant="site_a") is None  # the tenant alone is not a key
    con = duckdb.connect()
    assert _sql_hash(con, [None, ""], tenant="site_a") is None


def test_delimiter_escaping_prevents_collisions():
    con = duckdb.connect()
    pairs = [
        (["a||b", "c"], ["a", "b||c"]),
        (["a|", "b"], ["a", "|b"]),
        (["a\\", "|b"], ["a\\|", "b"]),
        (["^^", "x"], [None, "x"]),
    ]
    for left, right in pairs:
        assert hashing.hash_key(left) != hashing.hash_key(right), (left, right)
        assert _sql_hash(con, left) != _sql_hash(con, right), (left, right)
        assert _sql_hash(con, left) == hashing.hash_key(left)


def test_hashdiff_sql_sorted_and_case_kept():
    con = duckdb.connect()
    payload = {"zeta": "Mixed Case ", "alpha": None, "mid": 42, "when": date(2026, 1, 2)}
    expr = hashing.hashdiff_sql(list(payload))
    row = con.execute(
        f"SELECT {expr} FROM (SELECT ?::VARCHAR AS zeta, ?::VARCHAR AS alpha, ?::INTEGER AS mid, "
        '?::DATE AS "when")',
        [payload["zeta"], payload["alpha"], payload["mid"], payload["when"]],
    ).fetchone()
    assert bytes(row[0]) == hashing.hashdiff(payload)
    # column order does not matter, case does
    assert hashing.hashdiff({"b": 1, "a": 2}) == hashing.hashdiff({"a": 2, "b": 1})
    assert hashing.hashdiff({"a": "x"}) != hashing.hashdiff({"a": "X"})
    assert hashing.hashdiff({"a": " x "}) == hashing.hashdiff({"a": "x"})


# --- rules and staging --------------------------------------------------------------------------------


def _col(name: str, type_: str = "varchar") -> ColumnDef:
    return ColumnDef(name=name, source=name.upper(), type=type_)


STUDIES = TableDef(
    name="studies",
    files=("studies*.csv",),
    columns=(
        _col("study_uid"),
        _col("patient_id"),
        _col("study_date", "date"),
        _col("accession_number"),
        _col("study_description"),
        _col("modality"),
        _col("modified_at", "timestamp"),
    ),
    key=("study_uid",),
    modified="modified_at",
)
ADMISSIONS = TableDef(
    name="admissions",
    files=("smr01*.csv",),
    columns=(
        _col("record_id"),
        _col("chi"),
        _col("admission_date", "date"),
        _col("sex"),
        _col("age_in_years", "integer"),
    ),
    key=("record_id",),
)


def make_rules() -> Rules:
    hubs = {
        "hub_person": HubDef("hub_person", "person", ("person_id",)),
        "hub_event": HubDef("hub_event", "event", ("event_id",)),
    }
    links = {"link_person_event": LinkDef("link_person_event", ("hub_person", "hub_event"))}
    loads = (
        VaultLoad(
            source="pacs.studies",
            hubs={"hub_person": ("patient_id",), "hub_event": ("study_uid",)},
            links=("link_person_event",),
            satellites=(
                SatelliteLoad(
                    "sat_event_study_details",
                    "hub_event",
                    ("study_date", "modality", "study_description", "accession_number"),
                ),
            ),
        ),
        VaultLoad(
            source="smr.admissions",
            hubs={"hub_person": ("chi",), "hub_event": ("record_id",)},
            links=("link_person_event",),
            satellites=(
                SatelliteLoad("sat_person_demographic_details", "hub_person", ("sex", "age_in_years")),
            ),
        ),
    )
    sources = (
        SourceDef("pacs", "v1", "csv", (STUDIES,)),
        SourceDef("smr", "v1", "csv", (ADMISSIONS,)),
    )
    return Rules(sites={}, sources=sources, vault=VaultModel(hubs, links, loads))


META = "_site VARCHAR, _date DATE, _sha256 VARCHAR, _source_key VARCHAR, _version VARCHAR, _row_number BIGINT, _loaded_at TIMESTAMP"


def _create_staging(con) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS staging")
    con.execute(
        "CREATE TABLE staging.pacs__studies (study_uid VARCHAR, patient_id VARCHAR, study_date DATE, "
        "accession_number VARCHAR, study_description VARCHAR, modality VARCHAR, modified_at TIMESTAMP, "
        f"{META})"
    )
    con.execute(
        "CREATE TABLE staging.smr__admissions (record_id VARCHAR, chi VARCHAR, admission_date DATE, "
        f"sex VARCHAR, age_in_years INTEGER, {META})"
    )


def _stage_studies(con, site: str, day: str, rows: list[tuple]) -> None:
    """rows: (study_uid, patient_id, study_date, accession, description, modality, modified_at)."""
    con.execute("DELETE FROM staging.pacs__studies WHERE _site = ? AND _date = ?", [site, day])
    for n, r in enumerate(rows, start=1):
        con.execute(
            "INSERT INTO staging.pacs__studies VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'sha', 'key', 'v1', ?, now())",
            [*r, site, day, n],
        )


@pytest.fixture
def con(tmp_path):
    c = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    _create_staging(c)
    create_vault_tables(c, make_rules())
    yield c
    c.close()


def _count(con, table: str) -> int:
    """Rows loaded from staging (not the ghost row of ghost records, record source SYSTEM)."""
    return con.execute(f"SELECT count(*) FROM vault.{table} WHERE record_source <> 'SYSTEM'").fetchone()[0]


D1, D2 = "2026-01-01", "2026-01-02"
T1, T2 = datetime(2026, 1, 1, 9), datetime(2026, 1, 2, 9)


def test_ddl_shapes(con):
    cols = lambda t: [  # noqa: E731
        (r[0], r[1])
        for r in con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'vault' AND table_name = ? ORDER BY ordinal_position",
            [t],
        ).fetchall()
    ]
    assert cols("hub_person") == [
        ("hk_person", "BLOB"),
        ("site", "VARCHAR"),
        ("person_id", "VARCHAR"),
        ("load_ts", "TIMESTAMP"),
        ("record_source", "VARCHAR"),
    ]
    assert [c for c, _ in cols("link_person_event")] == [
        "hk_link_person_event",
        "hk_person",
        "hk_event",
        "site",
        "load_ts",
        "record_source",
    ]
    sat = dict(cols("sat_person_demographic_details"))
    assert sat["age_in_years"] == "INTEGER" and sat["hk_person"] == "BLOB" and sat["_date"] == "DATE"
    assert dict(cols("sat_event_study_details"))["study_date"] == "DATE"
    # idempotent
    create_vault_tables(con, make_rules())
    assert all(s.startswith("CREATE") for s in vault_ddl(make_rules()))


def test_hub_link_satellite_load_and_idempotent_rerun(con):
    _stage_studies(
        con,
        "site_a",
        D1,
        [
            ("1.2.3.1", "P1", date(2025, 12, 1), "ACC1", "CT head", "CT", T1),
            ("1.2.3.2", "P1", date(2025, 12, 5), "ACC2", "OP", "OP", T1),
            ("1.2.3.3", "P2", date(2026, 1, 1), "ACC3", "CT chest", "CT", T1),
            ("1.2.3.4", None, date(2026, 1, 1), "ACC4", "no patient", "CT", T1),  # no person key
            (None, "P3", date(2026, 1, 1), "ACC5", "no study", "CT", T1),  # no event key
        ],
    )
    # same patient id at another site is another person
    _stage_studies(con, "site_b", D1, [("9.9.9", "P1", date(2025, 12, 1), "B1", "x", "MR", T1)])

    assert load_hub(con, make_rules(), "hub_person", "site_a", D1, LOAD_TS1) == 3  # P1, P2, P3
    assert load_hub(con, make_rules(), "hub_event", "site_a", D1, LOAD_TS1) == 4
    # 3 links, and the two rows without a person or a study keep that end as the zero key (ghost records)
    assert load_link(con, make_rules(), "link_person_event", "site_a", D1, LOAD_TS1) == 5
    assert load_satellite(con, make_rules(), "sat_event_study_details", "site_a", D1, LOAD_TS1) == 4

    row = con.execute(
        "SELECT hk_person, site, person_id, load_ts, record_source FROM vault.hub_person WHERE person_id = 'P1'"
    ).fetchone()
    assert bytes(row[0]) == hashing.hash_key(["P1"], tenant="site_a")
    assert row[1:] == ("site_a", "P1", LOAD_TS1, "pacs.studies/v1")

    link = con.execute(
        "SELECT l.hk_person, l.hk_event, l.hk_link_person_event FROM vault.link_person_event l "
        "JOIN vault.hub_event e USING (hk_event) WHERE e.event_id = '1.2.3.1'"
    ).fetchone()
    assert bytes(link[0]) == hashing.hash_key(["P1"], tenant="site_a")
    assert bytes(link[1]) == hashing.hash_key(["1.2.3.1"], tenant="site_a")
    assert bytes(link[2]) == hashing.hash_key(["P1", "1.2.3.1"], tenant="site_a")

    sat = con.execute(
        "SELECT hashdiff, study_date, modality, effective_ts, _site, _date FROM vault.sat_event_study_details s "
        "JOIN vault.hub_event e USING (hk_event) WHERE e.event_id = '1.2.3.2'"
    ).fetchone()
    assert bytes(sat[0]) == hashing.hashdiff(
        {
            "study_date": date(2025, 12, 5),
            "modality": "OP",
            "study_description": "OP",
            "accession_number": "ACC2",
        }
    )
    assert sat[1:] == (date(2025, 12, 5), "OP", T1, "site_a", date(2026, 1, 1))

    # rerun of the same partition inserts nothing
    counts = load_partition(con, make_rules(), "site_a", D1, LOAD_TS2)
    assert counts == {
        "hub_person": 0,
        "hub_event": 0,
        "link_person_event": 0,
        "sat_event_study_details": 0,
        "sat_person_demographic_details": 0,  # staging.smr__admissions is empty
    }
    # site_b: P1 there is a different hub row
    assert load_partition(con, make_rules(), "site_b", D1, LOAD_TS2)["hub_person"] == 1
    assert (
        con.execute(
            "SELECT count(DISTINCT hk_person) FROM vault.hub_person WHERE person_id = 'P1'"
        ).fetchone()[0]
        == 2
    )


def test_satellite_change_replay_and_batch_duplicates(con):
    rules = make_rules()
    base = ("1.2.3.1", "P1", date(2025, 12, 1), "ACC1", "CT head", "CT")
    _stage_studies(con, "site_a", D1, [(*base, T1)])
    assert load_partition(con, rules, "site_a", D1, LOAD_TS1)["sat_event_study_details"] == 1

    # a later partition with a changed payload: exactly one new row
    changed = ("1.2.3.1", "P1", date(2025, 12, 1), "ACC1", "CT head and neck", "CT")
    _stage_studies(con, "site_a", D2, [(*changed, T2)])
    assert load_satellite(con, rules, "sat_event_study_details", "site_a", D2, LOAD_TS2) == 1
    assert load_satellite(con, rules, "sat_event_study_details", "site_a", D2, LOAD_TS3) == 0
    assert _count(con, "sat_event_study_details") == 2

    # replaying the older partition adds nothing (its payload differs from the current row but is older)
    assert load_partition(con, rules, "site_a", D1, LOAD_TS3)["sat_event_study_details"] == 0
    assert _count(con, "sat_event_study_details") == 2

    # a corrected re-delivery of the newest partition (same date and modified_at, changed payload): one row
    _stage_studies(con, "site_a", D2, [("1.2.3.1", "P1", date(2025, 12, 1), "ACC1", "late fix", "CT", T2)])
    assert load_satellite(con, rules, "sat_event_study_details", "site_a", D2, LOAD_TS3) == 1
    assert _count(con, "sat_event_study_details") == 3

    # several versions of one key in one batch each land once; for one modified_at the last row wins
    _stage_studies(
        con,
        "site_a",
        "2026-01-03",
        [
            ("1.2.3.1", "P1", date(2025, 12, 1), "ACC1", "third", "CT", datetime(2026, 1, 3, 12)),
            ("1.2.3.1", "P1", date(2025, 12, 1), "ACC1", "second", "CT", datetime(2026, 1, 3, 8)),
            ("1.2.3.1", "P1", date(2025, 12, 1), "ACC1", "fourth", "CT", datetime(2026, 1, 3, 12)),
        ],
    )
    assert load_satellite(con, rules, "sat_event_study_details", "site_a", "2026-01-03", LOAD_TS3) == 2
    stored = con.execute(
        "SELECT study_description FROM vault.sat_event_study_details WHERE record_source <> 'SYSTEM' "
        "ORDER BY effective_ts DESC, load_ts DESC"
    ).fetchall()
    assert [r[0] for r in stored] == ["fourth", "second", "late fix", "CT head and neck", "CT head"]

    # replaying D2 now (older than 01-03) adds nothing
    assert load_partition(con, rules, "site_a", D2, LOAD_TS3)["sat_event_study_details"] == 0
    assert _count(con, "sat_event_study_details") == 5

    # the history in force: at T2 the correction stands; current is the latest version
    history = con.execute(
        "SELECT study_description, effective_ts, effective_to FROM vault.sat_event_study_details__history "
        "WHERE record_source <> 'SYSTEM' ORDER BY effective_ts"
    ).fetchall()
    assert [r[0] for r in history] == ["CT head", "late fix", "second", "fourth"]
    assert [r[2] for r in history] == [T2, datetime(2026, 1, 3, 8), datetime(2026, 1, 3, 12), None]
    current = con.execute("SELECT study_description FROM vault.sat_event_study_details__current").fetchall()
    assert current == [("fourth",)]


def test_satellite_without_modified_column_uses_partition_date(con):
    rules = make_rules()

    def stage(day, rows):
        con.execute("DELETE FROM staging.smr__admissions WHERE _date = ?", [day])
        for n, r in enumerate(rows, start=1):
            con.execute(
                "INSERT INTO staging.smr__admissions VALUES (?, ?, ?, ?, ?, 'site_a', ?, 'sha', 'k', 'v1', ?, now())",
                [*r, day, n],
            )

    stage(D1, [("R1", "CHI1", date(2025, 1, 1), "1", 40), ("R2", "CHI1", date(2025, 2, 1), "1", 41)])
    counts = load_partition(con, rules, "site_a", D1, LOAD_TS1)
    # two rows for CHI1 in one batch: one satellite row, the later _row_number (age 41)
    assert counts["sat_person_demographic_details"] == 1
    assert counts["hub_person"] == 1 and counts["hub_event"] == 2 and counts["link_person_event"] == 2
    age = "SELECT age_in_years FROM vault.sat_person_demographic_details WHERE record_source <> 'SYSTEM'"
    assert con.execute(age).fetchone()[0] == 41
    stage(D2, [("R3", "CHI1", date(2025, 3, 1), "1", 42)])
    assert load_partition(con, rules, "site_a", D2, LOAD_TS2)["sat_person_demographic_details"] == 1
    assert load_partition(con, rules, "site_a", D1, LOAD_TS3)["sat_person_demographic_details"] == 0
    assert _count(con, "sat_person_demographic_details") == 2


def test_failed_load_rolls_back(con):
    _stage_studies(con, "site_a", D1, [("1.2.3.1", "P1", date(2025, 12, 1), "A", "d", "CT", T1)])
    con.execute("DROP TABLE vault.sat_event_study_details")
    con.execute("CREATE TABLE vault.sat_event_study_details (x INTEGER)")
    with pytest.raises(duckdb.Error):
        load_satellite(con, make_rules(), "sat_event_study_details", "site_a", D1, LOAD_TS1)
    # the connection is usable and not left inside a transaction
    assert load_hub(con, make_rules(), "hub_person", "site_a", D1, LOAD_TS1) == 1


def test_repository_vault_rules_validate(tmp_path):
    """rules/vault/*.yaml validates against the repository's source definitions (every load names staged
    columns of its extract), and the vault tables take their payload types from them."""
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules" / "vault", root / "vault")
    shutil.copytree(REPO / "rules" / "sources", root / "sources")
    (root / "sites.yaml").write_text("sites:\n  - {code: site_a, name: A, country: FI, timezone: UTC}\n")

    rules = load_rules(root)
    assert {"hub_person", "hub_event"} <= set(rules.vault.hubs)
    assert set(rules.vault.satellites()) >= {
        "sat_event_study_details",
        "sat_person_demographic_details",
        "sat_event_admissions_date",
    }
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    create_vault_tables(con, rules)
    assert con.execute(
        "SELECT data_type FROM information_schema.columns WHERE table_schema = 'vault' "
        "AND table_name = 'sat_event_admissions_date' AND column_name = 'length_of_stay'"
    ).fetchone() == ("INTEGER",)
    # a column only v2 of the PACS extract has is still a payload column (NULL for v1 rows)
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'vault' "
            "AND table_name = 'sat_instance_file_details'"
        ).fetchall()
    )
    assert types["file_size"] == "BIGINT" and types["transfer_syntax"] == "VARCHAR"


def test_satellite_on_a_link(tmp_path):
    base = make_rules()
    load = base.vault.loads[0]
    sat = SatelliteLoad("sat_link_person_event_study_accession", "link_person_event", ("accession_number",))
    loads = (VaultLoad(load.source, load.hubs, load.links, (*load.satellites, sat)), base.vault.loads[1])
    rules = Rules(sites={}, sources=base.sources, vault=VaultModel(base.vault.hubs, base.vault.links, loads))
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    _create_staging(con)
    _stage_studies(con, "site_a", D1, [("1.2.3.1", "P1", date(2025, 12, 1), "ACC1", "d", "CT", T1)])
    assert load_partition(con, rules, "site_a", D1, LOAD_TS1)["sat_link_person_event_study_accession"] == 1
    hk = con.execute(
        "SELECT hk_link_person_event FROM vault.sat_link_person_event_study_accession "
        "WHERE record_source <> 'SYSTEM'"
    ).fetchone()[0]
    assert bytes(hk) == hashing.hash_key(["P1", "1.2.3.1"], tenant="site_a")
    assert load_partition(con, rules, "site_a", D1, LOAD_TS2)["sat_link_person_event_study_accession"] == 0


def test_balance_checks_fail_when_the_vault_does_not_hold_the_batch(con):
    from medvault.platform.vault.checks import check_object
    from medvault.platform.vault.loader import hashed_batches, load_batches
    from medvault.platform.vault.model import compile_vault

    _stage_studies(con, "site_a", D1, [("1.2.3.1", "P1", date(2025, 12, 1), "A", "d", "CT", T1)])
    model = compile_vault(make_rules())
    names = ["link_person_event", "sat_event_study_details"]  # without their hubs
    with hashed_batches(con, model, [*names, "hub_person"], "site_a", D1) as batches:
        done = load_batches(con, model, names, batches, LOAD_TS1)
        hub = check_object(con, model, "hub_person", batches, 1, 0)
        link = check_object(con, model, "link_person_event", batches, 1, 1)
        sat = check_object(con, model, "sat_event_study_details", batches, 1, 1)
    assert (hub.passed, hub.metadata) == (False, {"staged_keys": 1, "unresolved_keys": 1, "ghost_rows": 0})
    assert not link.passed and link.metadata["missing_in_hub_person"] == 1
    assert sat.passed and done["sat_event_study_details"].rows_inserted == 1
    con.execute("INSERT INTO vault.sat_event_study_details SELECT * FROM vault.sat_event_study_details")
    with hashed_batches(con, model, ["sat_event_study_details"], "site_a", D1) as batches:
        twice = check_object(con, model, "sat_event_study_details", batches, 1, 0)
    assert not twice.passed and twice.metadata["duplicate_versions"] == 1


def test_history_view_keeps_a_payload_column_named_like_part_of_a_lineage_column():
    from dataclasses import replace as swap

    from medvault.platform.vault.model import compile_vault
    from medvault.platform.vault.views import _history_sql

    obj = compile_vault(make_rules()).objects["sat_event_study_details"]
    named = swap(
        obj, columns=obj.columns[:2] + (("date", "VARCHAR"), ("source", "VARCHAR")) + obj.columns[2:]
    )
    select = _history_sql(named).rsplit("FROM spans", 1)[0]
    assert 'p."date"' in select and 'p."source"' in select

"""Ghost records change no mart, and the star read through the PIT tables gives today's rows: on the
demo's staged data, with rows whose business keys are missing planted in every extract that feeds a
link, the marts (and bridges) built with ghost records are the ones built without them, and the star's
dims and facts, which read the PITs (with ghost records only), give what their __current versions
(tests/star_current/) give."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from medvault.platform.marts.functions import register_functions
from medvault.platform.rules import load_rules
from medvault.platform.steps import bridge, marts, pit
from medvault.platform.vault import hashing
from medvault.platform.vault.bridge import bridges
from medvault.platform.vault.ddl import create_vault_tables
from medvault.platform.vault.loader import load_partition
from medvault.platform.vault.model import compile_vault, end_column, table_name
from medvault.platform.warehouse.db import Warehouse
from tests.helpers import REPO_RULES, demo_run, step_context

SITES, DAYS, SEED = 2, 2, 7
STAR_CURRENT = Path(__file__).parent / "star_current"  # the star marts as they read __current views

# staged rows copied into a new partition with their keys changed: (table, replaced columns)
PLANTED = {
    "harmony_pacs__studies": "'G-' || study_uid AS study_uid, NULL AS patient_id",
    "harmony_pacs__orders": "'G-' || order_id AS order_id, NULL AS study_uid, NULL AS patient_id",
    "harmony_pacs__series": "'G-' || series_uid AS series_uid, NULL AS station_name, NULL AS study_uid",
    "harmony_pacs__instances": "'G-' || sop_instance_uid AS sop_instance_uid, NULL AS series_uid",
    "harmony_pacs__stations": "'G-' || station_name AS station_name, NULL AS department",
    "ndc_smr01__admissions": "'G-' || record_id AS record_id, NULL AS chi, NULL AS main_condition",
    "karexpert_his__appointments": "'G-' || appointment_id AS appointment_id, NULL AS department, "
    "NULL AS facility_id, NULL AS patient_id",
    "karexpert_his__beds": "'G-' || bed_id AS bed_id, NULL AS ward, NULL AS facility_id",
    "karexpert_his__bills": "'G-' || bill_id AS bill_id, NULL AS patient_id",
    "karexpert_his__bill_items": "NULL AS code, line_no + 1000 AS line_no",
    "karexpert_his__lab_orders": "'G-' || lab_order_id AS lab_order_id, NULL AS patient_id",
    "karexpert_his__lab_order_tests": "NULL AS code, line_no + 1000 AS line_no",
}
# series with a station but no department: a path through the zero location must not fan out
SERIES_WITHOUT_DEPARTMENT = "'H-' || series_uid AS series_uid, NULL AS department"


def _plant(con) -> tuple[str, str]:
    """Copy a few staged rows of each table into the day after the newest, keys missing; returns
    (site, day) of the planted partition."""
    site, last = con.execute(
        "SELECT _site, max(_date) FROM staging.karexpert_his__appointments GROUP BY _site ORDER BY 1 LIMIT 1"
    ).fetchone()
    day = last + timedelta(days=1)
    plants = [*PLANTED.items(), ("harmony_pacs__series", SERIES_WITHOUT_DEPARTMENT)]
    for table, replaced in plants:
        n = con.execute(
            f"""INSERT INTO staging.{table}
                SELECT * REPLACE ({replaced}, DATE '{day}' AS _date, _row_number + 100000 AS _row_number)
                FROM staging.{table}
                WHERE _site = ? AND _date = (SELECT max(_date) FROM staging.{table} WHERE _site = ?)
                ORDER BY _row_number LIMIT 3""",
            [site, site],
        ).fetchone()[0]
        assert n > 0, f"{table} has no staged rows at {site} to plant from"
    return site, day.isoformat()


def _reads_pit(mart) -> bool:
    return any(i.startswith("vault.pit_") for i in mart.inputs)


def _build(root: Path, name: str, rules) -> None:
    """Reload the vault of the copied warehouse from staging in date order, then PITs, bridges and
    marts, whole (without ghost records, the marts that do not read the PITs)."""
    model = compile_vault(rules)
    with Warehouse(root / name).connect() as con:
        for schema in ("vault", "marts"):
            con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        con.execute("DELETE FROM ops.mart_builds")
        create_vault_tables(con, model)
        partitions = con.execute(
            "SELECT DISTINCT _site, _date FROM staging.harmony_pacs__studies UNION "
            "SELECT DISTINCT _site, _date FROM staging.karexpert_his__appointments ORDER BY 2, 1"
        ).fetchall()
        for n, (site, day) in enumerate(partitions):
            load_partition(con, model, site, day, datetime(2026, 6, 1) + timedelta(minutes=n))
    ctx = step_context(root, rules, None, None, warehouse=name)
    for step in (pit, bridge):
        assert step.run(ctx).failures == []
    names = None if rules.vault.ghost_records else {m.name for m in rules.marts if not _reads_pit(m)}
    result = marts.run(ctx, names)
    assert result.failures == []
    failed = [(c.table[1], c.name) for c in result.checks if not c.passed]
    assert failed == [], f"{name}: checks failed {failed}"


def _contents(root: Path, name: str, rules) -> dict[str, list]:
    """Rows of each mart built, of each star mart's __current version (`current:<name>`), of each
    bridge."""
    model = compile_vault(rules)
    secret = step_context(root, rules, None, None).settings.pseudonym_secret()
    with Warehouse(root / name).connect(read_only=True) as con:
        register_functions(con, secret)
        built = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'"
            ).fetchall()
        ]
        out = {m: con.execute(f"SELECT * FROM marts.{m}").fetchall() for m in built}
        for path in sorted(STAR_CURRENT.glob("*.sql")):
            out[f"current:{path.stem}"] = con.execute(path.read_text()).fetchall()
        for b in bridges(model):
            out[b.name] = con.execute(
                f"SELECT * EXCLUDE (built_load_ts) FROM {table_name(b.name)}"
            ).fetchall()
    return {k: sorted(v, key=str) for k, v in out.items()}


def _zero_ends(con, rules) -> dict[str, int]:
    return {
        link.name: con.execute(
            f"SELECT count(*) FROM {table_name(link.name)} WHERE "
            + " OR ".join(f"{end_column(e)} = ?" for e in link.ends()),
            [hashing.ZERO_KEY] * len(link.ends()),
        ).fetchone()[0]
        for link in rules.vault.links.values()
    }


@pytest.mark.slow
def test_ghost_records_change_no_mart_and_the_star_through_the_pits_gives_todays_rows(tmp_path: Path):
    rules = load_rules(REPO_RULES)
    assert rules.vault.ghost_records, "on by default"
    off = replace(rules, vault=replace(rules.vault, ghost_records=False))
    with demo_run(tmp_path / "demo", sites=SITES, days=DAYS, seed=SEED, dirty=True) as (settings, *_, report):
        assert report.failed == []
        source = settings.warehouse
    with Warehouse(source).connect() as con:
        con.execute("CHECKPOINT")
    for name in ("on.duckdb", "off.duckdb"):
        shutil.copy(source, tmp_path / name)
        with Warehouse(tmp_path / name).connect() as con:
            _plant(con)
    _build(tmp_path, "on.duckdb", rules)
    _build(tmp_path, "off.duckdb", off)

    # the planted rows took the zero key: links point at it, every hub holds one ghost row
    model = compile_vault(rules)
    ghost = "SELECT count(*) FROM {} WHERE record_source = 'SYSTEM'"
    with Warehouse(tmp_path / "on.duckdb").connect(read_only=True) as con:
        zero_ends = _zero_ends(con, rules)
        assert {n for n, c in zero_ends.items() if c} >= {
            "link_person_event",
            "link_order_study",
            "link_event_series",
            "link_series_station",
            "link_series_instance",
            "link_station_location",
            "link_event_location",
            "link_event_facility",
            "link_bed_location",
            "link_bill_line",
            "link_laborder_test",
            "link_event_condition",
        }, zero_ends
        hubs = [table_name(o.name) for o in model.objects.values() if o.kind == "hub"]
        assert {con.execute(ghost.format(h)).fetchone()[0] for h in hubs} == {1}
    with Warehouse(tmp_path / "off.duckdb").connect(read_only=True) as con:
        assert con.execute(ghost.format("vault.hub_person")).fetchone()[0] == 0

    on, without = _contents(tmp_path, "on.duckdb", rules), _contents(tmp_path, "off.duckdb", off)
    star = {m.name for m in rules.marts if _reads_pit(m)}
    assert star == {p.stem for p in STAR_CURRENT.glob("*.sql")}, "each star mart reading a PIT has its oracle"
    assert set(on) - set(without) == star, "without ghost records only the PIT readers are not built"
    differ = [name for name in without if on[name] != without[name]]
    assert differ == [], f"marts, bridges or star oracles that ghost records change: {differ}"
    through_pits = [name for name in sorted(star) if on[name] != on[f"current:{name}"]]
    assert through_pits == [], f"star marts whose rows through the PITs are not today's: {through_pits}"
    assert all(on[m.name] for m in rules.marts if m.name != "no_data_days"), "every mart has rows"

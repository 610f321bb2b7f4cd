"""Seed 000's five reports as marts (rules/marts/*.sql) from a vault loaded through the real pipeline,
counted by hand; their reconciliation checks; and what `rules check` refuses in a mart."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from medvault.platform.rules import RulesError, load_rules
from medvault.platform.steps import bridge, marts, pit, vault
from medvault.platform.steps.context import checked_rules
from medvault.platform.steps.stage import stage_table
from medvault.platform.warehouse.db import Warehouse
from tests.helpers import LocalZones, step_context

ROOT = Path(__file__).resolve().parents[1]
SITE = "aurora_eye"
T = "2026-03-02T08:00:00"
GB = 1024**3

ORDERS = f"""order_id,patient_id,study_instance_uid,order_type,status,created_at,modified_at
O1,0101011234,1.2.1,STUDY,COMPLETED,2026-01-05T09:00:00,{T}
O2,0101011234,1.2.2,study,COMPLETED,2026-01-20T09:00:00,{T}
O3,0202021234,1.2.3,STUDY,SCHEDULED,2026-02-01T09:00:00,{T}
O4,0202021234,,CONSULT,SCHEDULED,2026-01-07T09:00:00,{T}
O5,0303031234,,STUDY,SCHEDULED,,{T}
"""
STUDIES = f"""study_instance_uid,patient_id,study_date,accession_number,study_description,modality,referring_physician,modified_at
1.2.1,0101011234,2026-01-06,A1,CT HEAD,CT,Dr X,{T}
1.2.2,0101011234,2026-01-21,A2,CT HEAD,CT,Dr X,{T}
1.2.3,0202021234,2026-02-02,A3,,OPT,Dr Y,{T}
"""
STATIONS = f"""station_name,ae_title,manufacturer,model,device_serial,department,modality,modified_at
CT1,CT1,GE,Revolution,S1,Radiology,CT,{T}
OCT1,OCT1,Zeiss,Cirrus,S2,Eye clinic,OPT,{T}
UNUSED,UNUSED,Canon,CR-2,S3,Eye clinic,OP,{T}
"""
SERIES = f"""series_instance_uid,study_instance_uid,series_number,modality,body_part_examined,laterality,station_name,department,institution_name,modified_at
1.3.1,1.2.1,1,CT,HEAD,,CT1,Radiology,Aurora,{T}
1.3.2,1.2.2,1,CT,HEAD,,CT1,Radiology,Aurora,{T}
1.3.3,1.2.3,1,OPT,EYE,R,OCT1,Eye clinic,Aurora,{T}
1.3.4,1.2.3,2,OPT,EYE,L,,,Aurora,{T}
"""
INSTANCES = f"""sop_instance_uid,series_instance_uid,sop_class_uid,instance_number,file_size,transfer_syntax,modified_at
1.4.1,1.3.1,1.2.840.10008.5.1.4.1.1.2,1,{GB},1.2.840.10008.1.2.1,{T}
1.4.2,1.3.1,1.2.840.10008.5.1.4.1.1.2,2,{GB // 2},1.2.840.10008.1.2.1,{T}
1.4.3,1.3.3,1.2.840.10008.5.1.4.1.1.77.1.5.4,1,1000,1.2.840.10008.1.2.1,{T}
1.4.4,1.3.4,1.2.840.10008.5.1.4.1.1.77.1.5.4,1,10,1.2.840.10008.1.2.1,{T}
"""
TABLES = {
    "orders": ORDERS,
    "studies": STUDIES,
    "stations": STATIONS,
    "series": SERIES,
    "instances": INSTANCES,
}


def _load(tmp_path: Path, rules, day: str, files: dict[str, str], site: str = SITE):
    """Drop the PACS extracts, receive, stage, load the vault, build the PIT and bridge tables and every
    mart."""
    folder = tmp_path / "drops" / site / day
    folder.mkdir(parents=True, exist_ok=True)
    for table, text in files.items():
        (folder / f"{table}_1.csv").write_text(text)
    (folder / "_DONE").write_text("")
    LocalZones(tmp_path, rules).receive(site=site, date=day)
    ctx = step_context(tmp_path, rules, site, day)
    with Warehouse(tmp_path / "w.duckdb").connect() as con:
        for table in files:
            stage_table(ctx, con, "harmony_pacs", table)
    vault.run(ctx, {o.name for o in ctx.vault.fed()})
    job = step_context(tmp_path, rules, None, None, run_id="marts-1")
    pit.run(job)  # as marts_job does: the PIT and bridge tables the marts read, then the marts
    bridge.run(job)
    return marts.run(job)


def _rows(tmp_path: Path, sql: str) -> list[tuple]:
    with Warehouse(tmp_path / "w.duckdb").connect(read_only=True) as con:
        return con.execute(sql).fetchall()


def test_seed_reports_count_what_the_vault_holds(tmp_path: Path):
    result = _load(tmp_path, load_rules(ROOT / "rules"), "2026-03-02", TABLES)
    assert result.failures == []
    built = {t.table[1]: t.row_count for t in result.tables}
    assert set(built) == {m.name for m in load_rules(ROOT / "rules").marts}
    assert set(built) >= {
        "examinations_per_month",
        "station_names",
        "study_descriptions",
        "diskspace",
        "device_usage",
    }
    exams = _rows(
        tmp_path, 'SELECT site, "Month", month_start, "TotalExams" FROM marts.examinations_per_month'
    )
    assert [(m, n) for _, m, _, n in exams] == [("Jan-2026", 2), ("Feb-2026", 1), (None, 1)], (
        "CONSULT not counted"
    )
    assert _rows(tmp_path, 'SELECT "STATION_NAME", "COUNT" FROM marts.station_names') == [
        ("CT1", 2),
        ("OCT1", 1),
        (None, 1),
    ]
    assert _rows(tmp_path, 'SELECT "STUDY_DESC", "COUNT" FROM marts.study_descriptions') == [
        ("CT HEAD", 2),
        (None, 1),
    ]
    disk = _rows(tmp_path, 'SELECT store_no, "diskspace_GB", bytes, instances FROM marts.diskspace')
    assert [(d, float(g), b, n) for d, g, b, n in disk] == [
        ("Eye clinic", 0.0, 1000, 1),
        ("Radiology", 1.5, GB + GB // 2, 2),
        (None, 0.0, 10, 1),
    ]
    usage = _rows(
        tmp_path, "SELECT station_name, manufacturer, model, modality, series, images FROM marts.device_usage"
    )
    assert usage == [
        ("CT1", "GE", "Revolution", "CT", 2, 2),
        ("OCT1", "Zeiss", "Cirrus", "OPT", 1, 1),
        ("UNUSED", "Canon", "CR-2", "OP", 0, 0),
    ]
    assert result.checks and all(c.passed for c in result.checks), [c for c in result.checks if not c.passed]
    exam_check = next(c for c in result.checks if c.name == "exams_match_study_orders")
    assert exam_check.metadata == {"exams_in_mart": 4, "study_orders_in_vault": 4}
    preview = next(t.preview for t in result.tables if t.table[1] == "examinations_per_month")
    assert preview[0] == ("site", "Month", "month_start", "TotalExams")


def test_a_station_in_two_departments_fails_the_disk_space_reconciliation(tmp_path: Path):
    """A check can fail: a station later listed under another department puts its images under both."""
    rules = load_rules(ROOT / "rules")
    _load(tmp_path, rules, "2026-03-02", TABLES)
    moved = STATIONS.replace("CT1,CT1,GE,Revolution,S1,Radiology", "CT1,CT1,GE,Revolution,S1,Emergency")
    result = _load(tmp_path, rules, "2026-03-03", {"stations": moved.replace(T, "2026-03-03T08:00:00")})
    check = next(c for c in result.checks if c.name == "bytes_counted_once")
    assert not check.passed
    assert check.metadata["bytes_in_mart"] > check.metadata["bytes_in_vault"]


def test_an_empty_warehouse_builds_empty_marts(tmp_path: Path):
    rules = load_rules(ROOT / "rules")
    result = marts.run(step_context(tmp_path, rules, None, None))
    from_rules = {m.name for m in rules.marts if all(i.startswith(("vault.ref_", "ops.")) for i in m.inputs)}
    assert from_rules == {"dim_site", "dim_modality", "no_data_days"}, "the rules' code lists fill these"
    never = _rows(tmp_path, "SELECT count(*) FROM marts.no_data_days WHERE reason = 'never delivered'")[0][0]
    assert never == len(rules.sites), "with no drop at all, every site of sites.yaml never delivered"
    assert result.failures == [] and {t.row_count for t in result.tables if t.table[1] not in from_rules} == {
        0
    }
    assert len(result.checks) == sum(len(m.checks) for m in rules.marts) and all(
        c.passed for c in result.checks
    )


# -- what rules check refuses ------------------------------------------------------------------------

HEADER = """/*
description: test mart
grain: [site]
inputs: {inputs}
{extra}*/
{sql}
"""


def _mart_rules(tmp_path: Path, name: str, sql: str, inputs: str = "[vault.hub_event]", extra: str = ""):
    folder = tmp_path / "rules"
    if not folder.exists():
        shutil.copytree(ROOT / "rules", folder)
    (folder / "marts" / f"{name}.sql").write_text(HEADER.format(inputs=inputs, extra=extra, sql=sql))
    return folder


@pytest.mark.parametrize(
    "sql, inputs, extra, problem",
    [
        (
            "SELECT site FROM vault.hub_person",
            "[vault.hub_event]",
            "",
            "reads vault.hub_person, which `inputs` does not declare",
        ),
        ("SELECT 1 AS x", "[vault.hub_event]", "", "declares vault.hub_event, which the SQL does not read"),
        ("SELECT * FROM read_csv('/etc/passwd')", "[]", "", "table function read_csv()"),
        ("DELETE FROM vault.hub_event", "[vault.hub_event]", "", "only a SELECT"),
        ("SELECT site FROM hub_event", "[vault.hub_event]", "", "has no schema"),
        ("SELEC site FROM vault.hub_event", "[vault.hub_event]", "", "cannot be parsed"),
        ("SELECT site FROM staging.x", "[staging.x]", "", "zone one of vault, dicom, marts"),
        (
            "SELECT site FROM ops.file_manifest",
            "[ops.file_manifest]",
            "",
            "marts read only the ledger's views",
        ),
        ("SELECT site FROM marts.nope", "[marts.nope]", "", "marts.nope is not a mart"),
        (
            "SELECT site FROM vault.hub_event",
            "[vault.hub_event]",
            "checks:\n  - {name: c, sql: SELECT 1 AS passed FROM vault.hub_person}\n",
            "neither the mart nor one of its inputs",
        ),
    ],
)
def test_structural_problems(tmp_path: Path, sql, inputs, extra, problem):
    with pytest.raises(RulesError) as e:
        load_rules(_mart_rules(tmp_path, "bad_mart", sql, inputs, extra))
    assert problem in str(e.value) and "marts/bad_mart.sql" in str(e.value)


@pytest.mark.parametrize(
    "sql, inputs, extra, problem",
    [
        ("SELECT site FROM vault.hub_nothing", "[vault.hub_nothing]", "", "not a table of the vault model"),
        ("SELECT sitee FROM vault.hub_event", "[vault.hub_event]", "", "sql: Binder Error"),
        (
            "SELECT site FROM vault.hub_event",
            "[vault.hub_event]",
            "columns: {nope: x}\n",
            "columns.nope: the SQL returns no such column",
        ),
        (
            "SELECT site FROM vault.hub_event",
            "[vault.hub_event]",
            "checks:\n  - {name: c, sql: SELECT count(*) AS n FROM marts.bad_mart}\n",
            "returns no `passed` column",
        ),
    ],
)
def test_problems_found_by_binding(tmp_path: Path, sql, inputs, extra, problem):
    folder = _mart_rules(tmp_path, "bad_mart", sql, inputs, extra)
    load_rules(folder)  # structurally fine
    with pytest.raises(RulesError) as e:
        checked_rules(folder)
    assert problem in str(e.value) and "marts/bad_mart.sql" in str(e.value)


def test_marts_reading_each_other_in_a_cycle(tmp_path: Path):
    _mart_rules(tmp_path, "mart_a", "SELECT * FROM marts.mart_b", "[marts.mart_b]")
    folder = _mart_rules(tmp_path, "mart_b", "SELECT * FROM marts.mart_a", "[marts.mart_a]")
    with pytest.raises(RulesError, match="cycle"):
        load_rules(folder)


def test_a_mart_reading_another_is_built_after_it(tmp_path: Path):
    folder = _mart_rules(
        tmp_path,
        "busiest_station",
        'SELECT site, max("COUNT") AS series FROM marts.station_names GROUP BY site',
        "[marts.station_names]",
    )
    rules = checked_rules(folder)
    result = _load(tmp_path, rules, "2026-03-02", TABLES)
    order = [t.table[1] for t in result.tables]
    assert order.index("station_names") < order.index("busiest_station")
    assert _rows(tmp_path, "SELECT site, series FROM marts.busiest_station") == [(SITE, 2)]


def test_the_docs_show_each_shipped_report_and_its_sql():
    """docs/marts.md shows every mart's SQL as the rules hold it (it cannot drift from the files)."""
    docs = (ROOT / "docs" / "marts.md").read_text()
    rules = load_rules(ROOT / "rules")
    assert rules.marts
    for mart in rules.marts:
        assert f"### `marts.{mart.name}`" in docs
        assert f"```sql\n{mart.sql}\n```" in docs, f"docs/marts.md shows the SQL of {mart.name} as it is"


def test_a_renamed_station_keeps_one_display_name_and_one_bar(tmp_path: Path):
    """Seed 003's canonical names: the station with device serial S1 is renamed CT1 -> CT-ONE; the most
    recent name wins and its series stay one device."""
    rules = load_rules(ROOT / "rules")
    _load(tmp_path, rules, "2026-03-02", TABLES)
    renamed = """station_name,ae_title,manufacturer,model,device_serial,department,modality,modified_at
CT-ONE,CT1,GE,Revolution,S1,Radiology,CT,2026-03-03T08:00:00
"""
    series = """series_instance_uid,study_instance_uid,series_number,modality,body_part_examined,laterality,station_name,department,institution_name,modified_at
1.3.5,1.2.2,2,CT,HEAD,,CT-ONE,Radiology,Aurora,2026-03-03T08:00:00
"""
    result = _load(tmp_path, rules, "2026-03-03", {"stations": renamed, "series": series})
    names = _rows(tmp_path, "SELECT kind, id, display_name, chosen_by, names_seen FROM marts.display_names")
    assert ("station", "S1", "CT-ONE", "most recent", 2) in names
    assert ("station", "S2", "OCT1", "only name", 1) in names
    devices = dict(_rows(tmp_path, "SELECT device, series FROM marts.series_per_device"))
    assert devices == {"CT-ONE": 3, "OCT1": 1}, "CT1's two series and CT-ONE's one are one device"
    seed = dict(
        _rows(
            tmp_path,
            'SELECT "STATION_NAME", "COUNT" FROM marts.station_names WHERE "STATION_NAME" IS NOT NULL',
        )
    )
    assert seed == {"CT1": 2, "CT-ONE": 1, "OCT1": 1}, "seed 000's report stays by station name"
    assert all(c.passed for c in result.checks if c.table[1] in ("display_names", "series_per_device"))


def _contents(tmp_path: Path, rules) -> dict[str, list]:
    return {m.name: sorted(_rows(tmp_path, f"SELECT * FROM marts.{m.name}"), key=str) for m in rules.marts}


def test_a_new_partition_rebuilds_only_its_sites_rows(tmp_path: Path):
    """Incremental rebuilds: a load at one site rebuilds the `rebuild: by_site` marts for that site only
    (and the `by_month` ones for that site's months), nothing loaded rebuilds nothing, and the result
    equals a whole rebuild."""
    rules = load_rules(ROOT / "rules")
    first = _load(tmp_path, rules, "2026-03-02", TABLES)
    assert {t.metadata["rebuild"] for t in first.tables} == {"full"}
    other = "kestrel_imaging"
    second = _load(tmp_path, rules, "2026-03-02", TABLES, site=other)
    modes = {t.table[1]: (t.metadata["rebuild"], t.metadata["sites_rebuilt"]) for t in second.tables}
    assert modes["station_names"] == ("by_site", [other])
    assert modes["examinations_per_month"] == ("by_month", [other]), "its months at that site"
    assert modes["series_per_device"] == ("by_site", [other]), "through display_names, rebuilt by site too"
    assert modes["dim_date"] == ("full", "all") and modes["no_data_days"] == ("full", "all")
    assert {s for (s,) in _rows(tmp_path, "SELECT DISTINCT site FROM marts.examinations_per_month")} == {
        SITE,
        other,
    }
    third = marts.run(step_context(tmp_path, rules, None, None))
    unchanged = {t.table[1] for t in third.tables if t.metadata["rebuild"] == "unchanged"}
    assert unchanged == {m.name for m in rules.marts if m.rebuild in ("by_site", "by_month")}
    assert all(c.passed for c in third.checks)
    incremental = _contents(tmp_path, rules)
    with Warehouse(tmp_path / "w.duckdb").connect() as con:
        con.execute("DELETE FROM ops.mart_builds")  # forget every build: the next one is whole
    whole = marts.run(step_context(tmp_path, rules, None, None))
    assert {t.metadata["rebuild"] for t in whole.tables} == {"full"}
    assert _contents(tmp_path, rules) == incremental, "by-site rebuilds give what a whole rebuild gives"


def test_changed_sql_rebuilds_the_mart_whole(tmp_path: Path):
    rules = load_rules(ROOT / "rules")
    _load(tmp_path, rules, "2026-03-02", TABLES)
    folder = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", folder)
    path = folder / "marts" / "study_descriptions.sql"
    path.write_text(path.read_text().replace("ORDER BY h.site,", "ORDER BY h.site ,"))
    result = marts.run(step_context(tmp_path, load_rules(folder), None, None))
    meta = next(t.metadata for t in result.tables if t.table[1] == "study_descriptions")
    assert (meta["rebuild"], meta["why"]) == ("full", "its SQL or reference data changed")

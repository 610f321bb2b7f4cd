"""Month-level incremental rebuilds (`rebuild: by_month`): a new partition rebuilds only the (site,
month) pairs of the keys it wrote to the mart's month satellite; the result is what a whole rebuild
gives, and the rows of every other month are not rewritten; `rules check` names what is wrong with a
mart's month."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from medvault.platform.rules import RulesError, load_rules
from medvault.platform.steps import marts
from medvault.platform.steps.context import checked_rules
from medvault.platform.warehouse.db import Warehouse
from tests.helpers import step_context
from tests.test_marts import ROOT, SITE, TABLES, _contents, _load, _rows

MART = "examinations_per_month"
EXAMS = f'SELECT "Month", "TotalExams" FROM marts.{MART} ORDER BY month_start NULLS LAST'
# the day after: O3 is re-dated from February to March, O6 is a new STUDY order of March
REDATED = """order_id,patient_id,study_instance_uid,order_type,status,created_at,modified_at
O3,0202021234,1.2.3,STUDY,SCHEDULED,2026-03-15T09:00:00,2026-03-03T08:00:00
O6,0303031234,,STUDY,SCHEDULED,2026-03-20T09:00:00,2026-03-03T08:00:00
"""
# two days after: O5, created at an unknown time, gets its creation time (April)
DATED = """order_id,patient_id,study_instance_uid,order_type,status,created_at,modified_at
O5,0303031234,,STUDY,SCHEDULED,2026-04-02T09:00:00,2026-03-04T08:00:00
"""


def _mark(tmp_path: Path, month: str | None, value: int) -> None:
    """Write a value into the mart's row of one month, as only a rebuild of that month would undo."""
    where = '"Month" IS NULL' if month is None else f"\"Month\" = '{month}'"
    with Warehouse(tmp_path / "w.duckdb").connect() as con:
        assert (
            con.execute(f'UPDATE marts.{MART} SET "TotalExams" = ? WHERE {where}', [value]).fetchone()[0] == 1
        )


def _built(result) -> dict[str, dict]:
    return {t.table[1]: t.metadata for t in result.tables}


def test_a_new_partition_rebuilds_only_the_months_it_touched(tmp_path: Path):
    rules = load_rules(ROOT / "rules")
    first = _built(_load(tmp_path, rules, "2026-03-02", TABLES))
    assert first[MART]["rebuild"] == "full"
    assert _rows(tmp_path, EXAMS) == [("Jan-2026", 2), ("Feb-2026", 1), (None, 1)]
    _mark(tmp_path, "Jan-2026", 1000)
    _mark(tmp_path, None, 2000)

    second = _built(_load(tmp_path, rules, "2026-03-03", {"orders": REDATED}))
    assert (second[MART]["rebuild"], second[MART]["months_rebuilt"]) == (
        "by_month",
        [f"{SITE} 2026-02", f"{SITE} 2026-03"],
    ), "O3's old and new month, O6's month"
    assert _rows(tmp_path, EXAMS) == [("Jan-2026", 1000), ("Mar-2026", 2), (None, 2000)], (
        "January and the orders without a time were not rewritten; February is empty now"
    )
    # the other by-month marts follow other satellites, which the load did not write
    for name in ("admissions_per_month", "appointments_per_month", "billing_per_month", "lab_turnaround"):
        assert second[name]["rebuild"] == "unchanged", name

    third = _built(_load(tmp_path, rules, "2026-03-04", {"orders": DATED}))
    assert third[MART]["months_rebuilt"] == [f"{SITE} 2026-04", f"{SITE} no month"]
    assert _rows(tmp_path, EXAMS) == [("Jan-2026", 1000), ("Mar-2026", 2), ("Apr-2026", 1)]
    with Warehouse(tmp_path / "w.duckdb").connect(read_only=True) as con:
        builds = con.execute(
            "SELECT mode, sites, months FROM ops.mart_builds WHERE mart = ? ORDER BY built_at", [MART]
        ).fetchall()
    assert builds[1:] == [
        ("by_month", [SITE], [f"{SITE} 2026-02", f"{SITE} 2026-03"]),
        ("by_month", [SITE], [f"{SITE} 2026-04", f"{SITE} no month"]),
    ]

    _mark(tmp_path, "Jan-2026", 2)  # undo the marker: the month's true figure
    incremental = _contents(tmp_path, rules)
    with Warehouse(tmp_path / "w.duckdb").connect() as con:
        con.execute("DELETE FROM ops.mart_builds")  # forget every build: the next one is whole
    whole = marts.run(step_context(tmp_path, rules, None, None))
    assert {t.metadata["rebuild"] for t in whole.tables} == {"full"}
    assert _contents(tmp_path, rules) == incremental, "by-month rebuilds give what a whole rebuild gives"
    assert all(c.passed for c in whole.checks)


def test_nothing_loaded_rebuilds_no_month_and_another_site_only_its_own(tmp_path: Path):
    rules = load_rules(ROOT / "rules")
    _load(tmp_path, rules, "2026-03-02", TABLES)
    again = _built(marts.run(step_context(tmp_path, rules, None, None)))
    assert (again[MART]["rebuild"], again[MART]["why"]) == (
        "unchanged",
        "no month's data changed since its last build",
    )
    other = _built(_load(tmp_path, rules, "2026-03-02", {"orders": REDATED}, site="kestrel_imaging"))
    assert other[MART]["months_rebuilt"] == ["kestrel_imaging 2026-03"]
    assert _rows(tmp_path, f"SELECT site, count(*) FROM marts.{MART} GROUP BY site ORDER BY site") == [
        (SITE, 3),
        ("kestrel_imaging", 1),
    ]


# -- what rules check refuses in a mart's month ---------------------------------------------------

MONTH_MART = """/*
description: test mart
grain: [site, month_start]
rebuild: {rebuild}
{month}inputs: [{inputs}]
*/
SELECT h.site, {month_start} AS month_start, count(*) AS n
FROM vault.hub_event h
JOIN vault.sat_event_order_details__current s ON s.hk_event = h.hk_event
{join}GROUP BY ALL
"""
MONTH = "month: {column: month_start, source: vault.sat_event_order_details.created_at}\n"
INPUTS = "vault.hub_event, vault.sat_event_order_details__current"
BY_MONTH_START = "CAST(date_trunc('month', s.created_at) AS DATE)"


def _month_rules(tmp_path: Path, **changes) -> Path:
    fields = {
        "rebuild": "by_month",
        "month": MONTH,
        "inputs": INPUTS,
        "month_start": BY_MONTH_START,
        "join": "",
    }
    fields.update(changes)
    folder = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", folder)
    (folder / "marts" / "monthly.sql").write_text(MONTH_MART.format(**fields))
    return folder


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"month": ""}, "month: rebuild: by_month needs month: {column: <grain column>, source:"),
        (
            {"rebuild": "by_site"},
            "month: only a rebuild: by_month mart names its month (this one is by_site)",
        ),
        (
            {"month": MONTH.replace("column: month_start", "column: Month")},
            "month.column: 'Month' is not a column of the grain",
        ),
        (
            {"month": MONTH.replace(".created_at", "")},
            "month.source: 'vault.sat_event_order_details' must be vault.<satellite>.<column>",
        ),
        (
            {"month": MONTH.replace("sat_event_order_details", "sat_event_bill_details")},
            "month.source: the mart does not read vault.sat_event_bill_details",
        ),
        (
            {
                "inputs": INPUTS + ", vault.link_person_event",
                "join": "JOIN vault.link_person_event l ON l.hk_event = h.hk_event\n",
            },
            "inputs: vault.link_person_event: a rebuild: by_month mart follows the changes of "
            "vault.sat_event_order_details alone",
        ),
        ({"month": "month: [month_start]\n"}, "month: expected a mapping, got list"),
    ],
)
def test_rules_check_names_a_bad_month(tmp_path: Path, changes, problem):
    with pytest.raises(RulesError) as e:
        load_rules(_month_rules(tmp_path, **changes))
    assert any(p.startswith("rules/marts/monthly.sql: ") and problem in p for p in e.value.problems), (
        e.value.problems
    )


@pytest.mark.parametrize(
    "changes, problem",
    [
        (
            {"month": MONTH.replace(".created_at", ".status")},
            "month.source: sat_event_order_details.status is VARCHAR, not a date column",
        ),
        (
            {"month": MONTH.replace(".created_at", ".nothing")},
            "month.source: sat_event_order_details.nothing is no column, not a date column",
        ),
        (
            {"month_start": "strftime(s.created_at, '%Y-%m')"},
            "month.column: 'month_start' is VARCHAR, not a date",
        ),
    ],
)
def test_binding_names_a_month_that_is_no_date(tmp_path: Path, changes, problem):
    folder = _month_rules(tmp_path, **changes)
    load_rules(folder)  # structurally fine
    with pytest.raises(RulesError) as e:
        checked_rules(folder)
    assert any(p.startswith("rules/marts/monthly.sql: ") and problem in p for p in e.value.problems), (
        e.value.problems
    )


def test_the_shipped_month_marts_pass_rules_check():
    rules = checked_rules(ROOT / "rules")
    monthly = {m.name: m.month.source for m in rules.marts if m.rebuild == "by_month"}
    assert monthly == {
        "admissions_per_month": "vault.sat_event_admissions_date.admission_date",
        "appointments_per_month": "vault.sat_event_appointment_details.scheduled_at",
        "billing_per_month": "vault.sat_event_bill_details.created_at",
        "examinations_per_month": "vault.sat_event_order_details.created_at",
        "lab_turnaround": "vault.sat_event_laborder_details.ordered_at",
    }


@pytest.mark.slow
def test_on_the_demo_a_new_day_rebuilds_by_month_what_a_whole_rebuild_gives(tmp_path: Path):
    """Through the real pipeline: two generated days, then a third; the marts refresh after the third
    rebuilds the month marts by month, and every mart equals a whole rebuild of the same vault."""
    from medvault.platform.steps.context import Engine
    from medvault.runner import run_pending
    from medvault.synth.generator import DEFAULT_START, generate
    from tests.helpers import demo_run

    monthly = {m.name for m in load_rules(ROOT / "rules").marts if m.rebuild == "by_month"}
    with demo_run(tmp_path, sites=2, days=2, seed=7, dirty=False) as (settings, _, defs, instance, report):
        assert report.failed == []
        generate(settings.drops, sites=2, days=3, seed=7, write_from=DEFAULT_START + timedelta(days=2))
        again = run_pending(defs, instance, settings, settle_seconds=0, log=lambda *_: None)
        assert again.failed == [] and again.requested == 2 and again.marts_refreshed
    with Warehouse(settings.warehouse).connect(read_only=True) as con:
        last = con.execute(
            "SELECT mart, mode, months FROM ops.mart_builds QUALIFY row_number() OVER "
            "(PARTITION BY mart ORDER BY built_at DESC) = 1"
        ).fetchall()
    modes = {mart: (mode, months) for mart, mode, months in last}
    assert {modes[m][0] for m in monthly} <= {"by_month", "unchanged"}
    assert any(modes[m][0] == "by_month" and modes[m][1] for m in monthly), modes

    def contents() -> dict[str, list]:
        with Warehouse(settings.warehouse).connect(read_only=True) as con:
            return {m: sorted(con.execute(f"SELECT * FROM marts.{m}").fetchall(), key=str) for m in modes}

    incremental = contents()
    with Warehouse(settings.warehouse).connect() as con:
        con.execute("DELETE FROM ops.mart_builds")
    with Engine(settings).step(run_id="whole") as ctx:
        whole = marts.run(ctx)
    assert whole.failures == [] and {t.metadata["rebuild"] for t in whole.tables} == {"full"}
    assert all(c.passed for c in whole.checks)
    rebuilt = contents()
    assert [m for m in incremental if incremental[m] != rebuilt[m]] == []

"""A whole demo in a temporary MEDVAULT_HOME: the warehouse reconciles with what the generator wrote.

Generator output (dirty) -> local drop sensor -> ingest runs per (site, date) -> staging, dicom, vault
-> marts. Counts come from the generator's own summary and from reading the generated files, never
from the pipeline under test.
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from datetime import datetime

import dagster as dg
import pytest

from medvault.platform.config import Settings
from medvault.platform.status import collect
from medvault.platform.warehouse.db import Warehouse
from medvault.runner import run_pending
from medvault.synth.generator import generate
from tests.helpers import demo_run

SITES, DAYS, SEED = 2, 2, 11

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    home = tmp_path_factory.mktemp("medvault_home")
    with demo_run(home, sites=SITES, days=DAYS, seed=SEED, dirty=True) as run:
        yield run


def _query(settings: Settings, sql: str, params=None):
    with Warehouse(settings.warehouse).connect(read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_every_partition_ran(demo):
    _, summary, _, instance, report = demo
    assert report.failed == []
    assert report.requested == SITES * DAYS
    assert report.marts_refreshed
    assert sorted(instance.get_dynamic_partitions("site")) == sorted(s["code"] for s in summary["sites"])


def test_every_file_accounted_for(demo):
    settings, summary, *_ = demo
    rows = _query(settings, "SELECT key, status, reason_code FROM ops.file_manifest")
    by_key = {key: (status, code) for key, status, code in rows}
    assert set(by_key) == {f["path"] for f in summary["files"]}, "one manifest row per file written"
    expected_quarantine = {p["path"] for p in summary["problems"] if p["expect"] == "quarantined"}
    assert expected_quarantine, "the dirty run injects a duplicate file"
    assert {k for k, (s, _) in by_key.items() if s == "quarantined"} == expected_quarantine
    assert {c for k, (s, c) in by_key.items() if s == "quarantined"} == {"duplicate_content"}
    assert all(s == "loaded" for k, (s, _) in by_key.items() if k not in expected_quarantine)


def test_rows_reconcile_with_generator(demo):
    settings, summary, *_ = demo
    staged = {
        (site, str(date), table): n
        for (table_name,) in _query(
            settings,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'staging' "
            "AND table_type = 'BASE TABLE'",
        )
        for site, date, n in _query(
            settings, f'SELECT _site, _date, count(*) FROM staging."{table_name}" GROUP BY ALL'
        )
        for table in [table_name]
    }
    rejected = dict(
        ((site, str(date), table.replace(".", "__")), n)
        for site, date, table, n in _query(
            settings,
            "SELECT site, date, system || '.' || source_table, count(DISTINCT (sha256, row_number)) "
            "FROM ops.rejected_rows GROUP BY ALL",
        )
    )
    for count in summary["counts"]:
        if count["system"] == "dicom":
            continue
        key = (count["site"], count["date"], f"{count['system']}__{count['table']}")
        assert staged.get(key, 0) == count["expected_rows"], key
        if count["parent"] is None:
            assert rejected.get(key, 0) == count["rows"] - count["expected_rows"], key
    malformed = sum(p["rows"] for p in summary["problems"] if p["expect"] == "row_rejected")
    assert malformed >= 1 and sum(rejected.values()) == malformed
    counts = collect_counts(settings)
    assert counts.rows_received == counts.rows_loaded + counts.rows_rejected


def collect_counts(settings: Settings):
    with Warehouse(settings.warehouse).connect(read_only=True) as con:
        return collect(con)


def test_dicom_headers_match_generated_images(demo):
    settings, summary, *_ = demo
    written = Counter((f["site"], f["date"]) for f in summary["files"] if f["system"] == "dicom")
    loaded = {
        (s, str(d)): n
        for s, d, n in _query(settings, "SELECT _site, _date, count(*) FROM dicom.instances GROUP BY ALL")
    }
    assert loaded == dict(written)
    sizes = dict(_query(settings, "SELECT sop_instance_uid, file_size FROM dicom.instances"))
    for f in summary["files"]:
        if f["system"] == "dicom":
            assert sizes[f["file"].removesuffix(".dcm")] == f["bytes"]


def _generated_rows(settings: Settings, summary: dict, table: str) -> list[dict]:
    out = []
    for f in summary["files"]:
        if f["table"] == table and f["duplicate_of"] is None and f["path"].endswith(".csv"):
            with open(settings.drops / f["path"], newline="", encoding=f["encoding"]) as fh:
                out.extend({**row, "_site": f["site"]} for row in csv.DictReader(fh))
    return out


def _generated_ids(
    settings: Settings, summary: dict, table: str, having: str | None = None
) -> set[tuple[str, str]]:
    """(site, _id) of every document of a generated HIS (ndjson) table (with a value for `having`)."""
    out = set()
    for f in summary["files"]:
        if f["table"] == table and f["duplicate_of"] is None and f["path"].endswith(".ndjson"):
            with open(settings.drops / f["path"], encoding=f["encoding"]) as fh:
                docs = [json.loads(line) for line in fh if line.strip()]
            out.update((f["site"], d["_id"]["$oid"]) for d in docs if having is None or d.get(having))
    return out


def test_vault_and_mart_from_generated_files(demo):
    settings, summary, *_ = demo
    studies = _generated_rows(settings, summary, "studies")
    uid = next(c for c in ("study_instance_uid", "study_iuid") if c in studies[0])
    study_keys = {(r["_site"], (r.get("study_instance_uid") or r.get("study_iuid")).strip()) for r in studies}
    assert uid
    admissions = _generated_rows(settings, summary, "admissions")
    good_admissions = {(r["_site"], r["record_id"]) for r in admissions} - {
        (p["site"], p["key"]["record_id"]) for p in summary["problems"] if p["expect"] == "row_rejected"
    }
    orders = _generated_rows(settings, summary, "orders")
    order_keys = {(r["_site"], (r.get("order_id") or r.get("order_no")).strip()) for r in orders}
    his_keys = set().union(
        *(_generated_ids(settings, summary, t) for t in ("appointments", "bills", "lab_orders"))
    )
    assert order_keys and his_keys
    events = _query(settings, "SELECT count(*) FROM vault.hub_event WHERE record_source <> 'SYSTEM'")[0][0]
    # studies and orders (PACS), admissions (SMR01), appointments, bills and lab orders (HIS)
    assert events == len(study_keys) + len(good_admissions) + len(order_keys) + len(his_keys)
    dated = set().union(
        *(
            _generated_ids(settings, summary, t, having=field)
            for t, field in (
                ("appointments", "scheduledAt"),
                ("bills", "createdAt"),
                ("lab_orders", "orderedAt"),
            )
        )
    )
    days = _query(settings, "SELECT count(*) FROM vault.link_event_time")[0][0]
    assert days == len(study_keys) + len(good_admissions) + len(dated), "every dated event has its day"
    links = _query(settings, "SELECT count(*) FROM vault.link_person_event")[0][0]
    assert links == events, "every event belongs to exactly one person"
    # seed 000's report: orders of type STUDY by creation month (Mon-YYYY), counted from the files
    expected: Counter = Counter()
    for site, order in {
        (r["_site"], (r.get("order_id") or r.get("order_no")).strip()): r
        for r in sorted(orders, key=lambda r: r.get("modified_at") or r.get("updated_time") or "")
    }.items():
        created = (order.get("created_at") or order.get("created_time") or "").strip()
        if order["order_type"].strip().upper() == "STUDY":
            month = datetime.fromisoformat(created.replace("Z", "")).strftime("%b-%Y") if created else None
            expected[(site[0], month)] += 1
    exams = _query(settings, 'SELECT site, "Month", "TotalExams" FROM marts.examinations_per_month')
    assert {(site, month): n for site, month, n in exams} == dict(expected)
    assert sum(expected.values()) > 0


def test_every_point_in_time_table_covers_its_hub(demo):
    """After the runs the marts job built one PIT per hub with satellites: every key with a satellite
    row has a PIT row at each of its changes, and nothing else."""
    from medvault.platform.rules import load_rules
    from medvault.platform.vault.model import compile_vault
    from medvault.platform.vault.pit import pits

    settings, *_ = demo
    model = compile_vault(load_rules(settings.rules))
    assert pits(model)
    for pit in pits(model):
        key = pit.key
        changes = " UNION ".join(  # not the satellites' ghost rows: the zero key has no PIT rows
            f"SELECT {key}, effective_ts FROM vault.{s}__history WHERE record_source <> 'SYSTEM'"
            for s in pit.satellites
        )
        expected = _query(settings, f"SELECT count(*) FROM ({changes})")[0][0]
        assert expected > 0
        assert _query(settings, f"SELECT count(*) FROM vault.{pit.name}")[0][0] == expected, pit.name


def test_late_update_wins_without_duplicating(demo):
    settings, summary, *_ = demo
    update = next(p for p in summary["problems"] if p["kind"] == "late_update" and p["table"] == "patients")
    rows = _query(
        settings,
        "SELECT patient_name FROM staging.harmony_pacs__patients__latest WHERE _site = ? AND patient_id = ?",
        [update["site"], update["key"]["patient_id"]],
    )
    assert rows == [(update["new"],)]


def test_rerun_is_idempotent(demo):
    settings, summary, defs, instance, _ = demo
    before = collect_counts(settings)
    manifest_before = _query(
        settings, "SELECT key, sha256, status, rows_loaded FROM ops.file_manifest ORDER BY 1, 2"
    )
    job = defs.resolve_job_def("ingest_job")
    site, day = summary["sites"][0]["code"], summary["start"]
    result = job.execute_in_process(
        partition_key=dg.MultiPartitionKey({"site": site, "date": day}),
        instance=instance,
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    assert result.success
    after = collect_counts(settings)
    assert after.tables == before.tables and after.files == before.files
    assert (
        _query(settings, "SELECT key, sha256, status, rows_loaded FROM ops.file_manifest ORDER BY 1, 2")
        == manifest_before
    )


def test_identical_redrop_changes_nothing(demo):
    settings, summary, defs, instance, _ = demo
    before = collect_counts(settings)
    generate(
        settings.drops, sites=SITES, days=DAYS, seed=SEED, dirty=True
    )  # identical files are left as they are
    quiet = run_pending(defs, instance, settings, settle_seconds=0, log=lambda *_: None)
    assert quiet.requested == 0, "generating the same drops again is not a new drop"
    for f in summary["files"]:  # an uploader sending the same bytes again: same content, new mtime
        os.utime(settings.drops / f["path"])
    report = run_pending(defs, instance, settings, settle_seconds=0, log=lambda *_: None)
    assert report.failed == [] and report.requested == SITES * DAYS
    after = collect_counts(settings)
    assert after.tables == before.tables and after.files == before.files


def test_no_patient_identifier_in_logs_or_metadata(demo):
    settings, summary, _, instance, _ = demo
    identifiers: set[str] = set()
    for table, columns in (
        ("patients", ("pat_id", "patient_id", "pat_name", "patient_name")),
        ("admissions", ("chi", "postcode")),
    ):
        for row in _generated_rows(settings, summary, table):
            identifiers.update(row[c].strip() for c in columns if row.get(c, "").strip())
    assert len(identifiers) > 20
    texts = []
    for run in instance.get_runs():
        for entry in instance.all_logs(run.run_id):
            texts.append(entry.user_message or "")
            event = entry.dagster_event
            if event is not None:
                texts.append(repr(event.event_specific_data))
    blob = "\n".join(texts)
    assert "rows_loaded" in blob or "dagster/row_count" in blob, "metadata was captured"
    leaked = sorted(i for i in identifiers if i in blob)
    assert leaked == [], f"{len(leaked)} patient identifiers in logs/metadata"


def test_no_patient_value_reaches_a_mart_or_a_published_output(demo):
    """Every value of a pii column the drops carried (ids, CHI numbers, names, birth dates, postcodes, as
    staged) is searched for in every mart, the marts' Parquet files, the CSV reports and the dashboard."""
    import pyarrow.parquet as pq

    from medvault.platform.rules import load_rules

    settings, *_ = demo
    rules = load_rules(settings.rules)
    planted: set[str] = set()
    for (system, table), defs in rules.staged_tables().items():
        pii = sorted({c.name for _, t in defs for c in t.columns if c.pii})
        for column in pii:
            sql = f'SELECT DISTINCT CAST("{column}" AS VARCHAR) FROM staging.{system}__{table} WHERE "{column}" IS NOT NULL'
            planted |= {v for (v,) in _query(settings, sql) if len(v.strip()) >= 6}
    assert len(planted) > 20, "the demo's drops carry patient values to look for"
    cells: list[str] = []
    for mart in rules.marts:
        cells += [str(v) for row in _query(settings, f"SELECT * FROM marts.{mart.name}") for v in row]
    parquet = sorted((settings.home / "lake" / "marts").rglob("*.parquet"))
    reports = sorted((settings.home / "reports").rglob("*.csv"))
    assert parquet and reports, "the marts job published Parquet and CSV"
    for path in parquet:
        cells += [str(v) for row in pq.read_table(path).to_pylist() for v in row.values()]
    text = "\n".join(p.read_text() for p in reports)
    text += (settings.home / "dashboard" / "index.html").read_text()
    leaked = sorted(v for v in planted if v in set(cells) or v in text)
    assert leaked == [], f"{len(leaked)} patient values found in outputs"


def _chromium(url: str, *flags: str) -> tuple[str, str]:
    """Headless Chromium (Debian's package) on a file:// URL: (the DOM after the page's scripts, stderr)."""
    import shutil
    import subprocess

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "Debian's chromium (installed by .ci/run)"
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-logging=stderr",
        "--v=0",
        *flags,
        url,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, proc.stderr


def _charts(dom: str) -> dict[str, tuple[int, float]]:
    import re

    return {
        m.group(1): (int(m.group(2)), float(m.group(3)))
        for m in re.finditer(r'id="chart-(\w+)"[^>]*data-points="(\d+)" data-total="([\d.]+)"', dom)
    }


def test_the_dashboard_renders_every_chart_and_filters_by_site(demo, tmp_path):
    """The demo wrote the dashboard; rebuilt here without suppression (the demo's counts are small), it
    is opened in headless Chromium: every chart has data, a site filter shows that site's share, the
    page logs nothing to the console, and each subject area is kept as a screenshot."""
    from medvault.platform.dashboard.build import dashboard_path, write_dashboard
    from medvault.platform.rules import load_rules

    settings, summary, *_ = demo
    assert dashboard_path(settings.home).exists(), "the marts job wrote the dashboard"
    with Warehouse(settings.warehouse).connect(read_only=True) as con:
        path, data = write_dashboard(con, load_rules(settings.rules), tmp_path, threshold=1)
    assert "<script src" not in path.read_text() and "http" not in path.read_text().split("<script")[1][:200]
    dom, log = _chromium(path.as_uri(), "--dump-dom")
    assert 'data-rendered="yes"' in dom
    everything = _charts(dom)
    assert set(everything) == {c["id"] for p in data["pages"] for c in p["charts"]}
    empty = [c for c, (points, _) in everything.items() if points == 0]
    assert empty == [], f"charts without data: {empty}"
    assert ":CONSOLE" not in log, [line for line in log.splitlines() if ":CONSOLE" in line]
    sites = sorted(data["sites"])
    assert len(sites) == SITES
    one = _charts(_chromium(f"{path.as_uri()}?site={sites[0]}", "--dump-dom")[0])
    other = _charts(_chromium(f"{path.as_uri()}?site={sites[1]}", "--dump-dom")[0])
    for chart in ("exams", "files"):
        assert 0 < one[chart][1] < everything[chart][1], chart
        assert one[chart][1] + other[chart][1] == everything[chart][1], f"{chart}: the sites add up"
    for page in data["pages"]:
        shot = tmp_path / f"dashboard-{page['id']}.png"
        _chromium(f"{path.as_uri()}#{page['id']}", f"--screenshot={shot}", "--window-size=1400,1400")
        assert shot.stat().st_size > 10_000, shot


def test_local_time_and_canonical_names_from_the_generated_files(demo):
    """appointments_by_hour counts each appointment at its site's local hour (sites.yaml timezone), and the
    facility spelt two ways by the HIS extract shows under its override (rules/vault/references.yaml)."""
    from zoneinfo import ZoneInfo

    from medvault.platform.rules import load_rules

    settings, summary, *_ = demo
    rules = load_rules(settings.rules)
    latest: dict[tuple[str, str], dict] = {}
    for f in sorted(summary["files"], key=lambda f: (f["date"], f["path"])):
        if f["table"] == "appointments" and f["duplicate_of"] is None and f["path"].endswith(".ndjson"):
            with open(settings.drops / f["path"], encoding=f["encoding"]) as fh:
                for doc in (json.loads(line) for line in fh if line.strip()):
                    latest[(f["site"], doc["_id"]["$oid"])] = doc
    expected: Counter = Counter()
    for (site, _), doc in latest.items():
        when = datetime.fromisoformat(doc["scheduledAt"]["$date"].replace("Z", "+00:00"))
        local = when.astimezone(ZoneInfo(rules.sites[site].timezone))
        expected[(site, local.isoweekday(), local.hour)] += 1
    got = _query(settings, "SELECT site, weekday, hour, booked FROM marts.appointments_by_hour")
    assert {(s, w, h): n for s, w, h, n in got} == dict(expected) and expected
    names = _query(
        settings, "SELECT site, id, display_name, chosen_by FROM marts.display_names WHERE kind = 'facility'"
    )
    assert ("aurora_eye", "AUR-F01", "Aurora Eye Centre", "override") in names
    assert all(chosen in ("override", "most recent", "only name") for *_, chosen in names)


def test_every_mart_check_passes_and_the_star_is_pseudonymous(demo):
    """Rebuilding the marts over the demo's vault: every reconciliation check holds, the star's facts
    have one row per event of the vault, and a patient appears only as a keyed pseudonym."""
    import re

    from medvault.platform.steps import marts
    from medvault.platform.steps.context import Engine

    settings, *_ = demo
    with Engine(settings).step(run_id="check-marts") as ctx:
        result = marts.run(ctx)
    assert result.failures == []
    failed = [(c.table[1], c.name, c.metadata) for c in result.checks if not c.passed]
    assert failed == []
    assert len(result.checks) == sum(len(m.checks) for m in ctx.rules.marts)
    studies = _query(settings, "SELECT count(*) FROM vault.sat_event_study_details__current")[0][0]
    assert _query(settings, "SELECT count(*) FROM marts.fact_study")[0][0] == studies > 0
    keys = [k for (k,) in _query(settings, "SELECT patient_key FROM marts.dim_patient")]
    people = {
        p
        for (p,) in _query(settings, "SELECT person_id FROM vault.hub_person WHERE record_source <> 'SYSTEM'")
    }
    assert len(keys) == len(set(keys)) == len(people)
    assert all(re.fullmatch(r"[0-9a-f]{32}", k) for k in keys) and not set(keys) & people
    joined = _query(
        settings, "SELECT count(*) FROM marts.fact_study f JOIN marts.dim_patient p USING (patient_key)"
    )[0][0]
    assert joined == studies, "every study's patient is in the patient dimension"
    bed_days = _query(settings, "SELECT count(*) FROM marts.fact_bed_day")[0][0]
    assert bed_days > 0

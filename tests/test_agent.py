"""The site agent against the real local MariaDB and PostgreSQL, pushing to a local folder: what it
extracts equals what the generator writes as CSV, incremental pushes, updates, resumed batches, the
lock, `check`, secrets and patient values kept out of its output, and no Dagster needed to run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from medvault.platform.agent.database import Database, DatabaseError, DatabaseUrl
from medvault.platform.agent.extract import changed_rows_sql
from medvault.platform.agent.outbox import Outbox
from medvault.platform.agent.run import AgentError, check, once, schedule
from medvault.platform.agent.spec import SpecError, available, load_spec
from medvault.platform.agent.state import AgentState, StateLock, decode_value, encode_value
from medvault.platform.config import SettingsError
from medvault.platform.config.agent import interval_seconds
from medvault.platform.rules import load_rules
from medvault.synth.generator import generate
from medvault.synth.pacs import TABLES
from tests.agent_support import ROOT, agent_settings, generated_rows, read_csv_gz, sent_rows

V1_SITE, V2_SITE = "aurora_eye", "kestrel_imaging"


# -- pure logic ----------------------------------------------------------------------------------------
def test_database_url_refuses_a_password_and_unknown_schemes():
    url = DatabaseUrl.parse("mysql://reader@db.site.local/pacs")
    assert (url.dialect, url.user, url.host, url.port, url.database) == (
        "mysql",
        "reader",
        "db.site.local",
        3306,
        "pacs",
    )
    assert DatabaseUrl.parse("postgresql://u@h/db").port == 5432
    with pytest.raises(DatabaseError, match="MEDVAULT_AGENT_DB_PASSWORD") as caught:
        DatabaseUrl.parse("mysql://reader:s3cret-pw@db/pacs")
    assert "s3cret-pw" not in str(caught.value)
    with pytest.raises(DatabaseError, match="not supported"):
        DatabaseUrl.parse("oracle://u@h/db")
    with pytest.raises(DatabaseError, match="database name"):
        DatabaseUrl.parse("mysql://u@h")


def test_changed_rows_sql_resumes_after_the_last_watermark_and_key():
    spec = load_spec(ROOT / "rules/agent/harmony_pacs/v2.yaml")
    table = next(t for t in spec.tables if t.name == "instances")
    first, params = changed_rows_sql(table, (None, None))
    assert params == () and first.endswith("AS q WHERE q.modified_at IS NOT NULL")
    assert "ORDER BY" not in first, "no sort: the database streams rows as it finds them"
    since = datetime(2026, 3, 2, 9, 0)
    later, params = changed_rows_sql(table, (since, 41))
    assert params == (since, since, 41)
    assert "q.modified_at > %s OR (q.modified_at = %s AND q._row > %s)" in later


def test_state_values_keep_their_type_and_intervals_parse():
    for value in (datetime(2026, 3, 2, 8, 15, 1), 17, "ORD00001"):
        assert decode_value(encode_value(value)) == value
    assert [interval_seconds(t) for t in ("90s", "30m", "1h", "1d")] == [90, 1800, 3600, 86400]
    with pytest.raises(SettingsError, match="MEDVAULT_AGENT_EVERY"):
        interval_seconds("hourly")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["tables"]["patients"].pop("watermark"), r"tables\.patients\.watermark: is required"),
        (lambda d: d["tables"]["patients"].update(query="DELETE FROM patient"), "must be a SELECT"),
        (lambda d: d["tables"]["patients"].update(query="SELECT 1; DROP TABLE patient"), "one SELECT"),
        (lambda d: d["tables"]["patients"].update(chunk_rows=0), "chunk_rows"),
        (lambda d: d["tables"]["patients"].update(wartermark="x"), "unknown key"),
        (lambda d: d.update(version="v9"), "must match the file's place"),
    ],
)
def test_extraction_rules_problems_name_the_file_and_key(tmp_path, change, message):
    data = yaml.safe_load((ROOT / "rules/agent/harmony_pacs/v2.yaml").read_text())
    change(data)
    path = tmp_path / "harmony_pacs" / "v2.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError, match=message) as caught:
        load_spec(path)
    assert str(path) in str(caught.value)


def test_every_agent_query_gives_the_central_contract(mariadb):
    """Each query's columns are the central source rules' file columns, in file order, and its file name
    matches the central rules' file pattern: what the agent sends is identified as its version."""
    from fnmatch import fnmatch

    from medvault.synth.pacs_db import open_site_database

    central = load_rules(ROOT / "rules")
    for spec in available(ROOT / "rules/agent", "harmony_pacs"):
        site = f"contract_{spec.version}"
        open_site_database(mariadb.url(site), site, spec.version).close()
        source = next(s for s in central.sources if (s.system, s.version) == (spec.system, spec.version))
        with Database.connect(DatabaseUrl.parse(mariadb.url(site))) as db:
            for table in spec.tables:
                columns = [c for c in db.columns_of(table.query, table.name) if not c.startswith("_")]
                expected = [c.source for c in source.table(table.name).columns]
                assert columns == expected, f"{spec.label} {table.name}"
                name = f"{table.file}_20261203T101500123456Z_001.csv.gz"
                assert any(fnmatch(name, p) for p in source.table(table.name).files), name
    assert {t.name for t in spec.tables} == set(TABLES)


# -- against the real MariaDB ------------------------------------------------------------------------
@pytest.fixture
def pacs(mariadb, tmp_path):
    """Two sites' PACS databases (v1 and v2 schema) written by the generator, and its CSV files."""
    out = tmp_path / "generated"
    generate(out, sites=2, days=3, seed=11, pacs_db=mariadb.template())
    return mariadb, out


def _once(mariadb, tmp_path, site, **kw):
    settings = agent_settings(
        site=site, db=mariadb.url(site), to=str(tmp_path / "central"), state=tmp_path / "state", **kw
    )
    return once(settings), settings


def test_the_agent_sends_exactly_what_the_generator_writes(pacs, tmp_path):
    mariadb, out = pacs
    for site, version in ((V1_SITE, "v1"), (V2_SITE, "v2")):
        report, _ = _once(mariadb, tmp_path, site)
        assert report.spec == f"harmony_pacs/{version}", "the schema version is detected from the database"
        for table in TABLES:
            g_header, g_rows = generated_rows(out, site, table)
            s_header, s_rows = sent_rows(tmp_path / "central", site, table)
            assert s_header == g_header, f"{site} {table}"
            assert s_rows == g_rows, f"{site} {table}: the agent's rows differ from the generated CSV"
            assert report.tables[table] == sum(g_rows.values())
        folder = next((tmp_path / "central" / site).iterdir())
        done = json.loads((folder / "_DONE").read_text())
        assert {f["name"] for f in done["files"]} == {p.name for p in folder.glob("*.csv.gz")}
        assert not list(folder.glob("*.part")), "no temporary file is left at the destination"


def test_incremental_pushes_send_only_changed_rows_and_updates(pacs, tmp_path):
    mariadb, _ = pacs
    site = V2_SITE
    first, settings = _once(mariadb, tmp_path, site)
    assert first.rows > 0
    again = once(settings)
    assert again.rows == 0 and again.pushed == [], "nothing changed, nothing sent"
    pid, old_name = mariadb.execute(site, "SELECT patient_id, patient_name FROM patient ORDER BY pk LIMIT 1")[
        0
    ]
    mariadb.execute(
        site,
        "UPDATE patient SET patient_name = %s, modified_at = %s WHERE patient_id = %s",
        ("Updated^Name", datetime(2027, 1, 5, 9, 30), pid),
    )
    third = once(settings)
    assert third.tables == {"patients": 1}, "only the changed row is sent"
    header, rows = sent_rows(tmp_path / "central", site, "patients")
    latest = [r for r in rows if r[header.index("patient_id")] == pid]
    assert sorted(r[header.index("patient_name")] for r in latest) == sorted([old_name, "Updated^Name"])
    assert tuple(
        r[header.index("modified_at")] for r in latest if r[header.index("patient_name")] == "Updated^Name"
    ) == ("2027-01-05T09:30:00",)
    state = json.loads((tmp_path / "state" / site / "state.json").read_text())
    total = mariadb.execute(site, "SELECT count(*) FROM patient")[0][0]
    assert state["tables"]["harmony_pacs/v2/patients"]["rows_sent"] == total + 1


def test_rows_sharing_a_watermark_across_pushes_are_neither_lost_nor_repeated(pacs, tmp_path):
    """Files are split at `file_rows`; a row added later with the same watermark as the last one sent
    still arrives (the key orders rows within a watermark)."""
    mariadb, _ = pacs
    site = V2_SITE
    report, settings = _once(mariadb, tmp_path, site, file_rows=7)
    files = sorted((tmp_path / "central" / site).glob("*/instances_*.csv.gz"))
    assert len(files) == -(-report.tables["instances"] // 7), "instances are split into files of 7 rows"
    (wm, pk), series_fk = (
        mariadb.execute(
            site, "SELECT modified_at, pk FROM instance ORDER BY modified_at DESC, pk DESC LIMIT 1"
        )[0],
        mariadb.execute(site, "SELECT max(pk) FROM series")[0][0],
    )
    mariadb.execute(
        site,
        "INSERT INTO instance (pk, series_fk, sop_instance_uid, sop_class_uid, instance_number, transfer_syntax,"
        " modified_at) VALUES (%s, %s, '2.25.999', '1.2.840.10008.5.1.4.1.1.2', 9, '1.2.840.10008.1.2.1', %s)",
        (pk + 1000, series_fk, wm),
    )
    later = once(settings)
    assert later.tables == {"instances": 1}
    _, rows = sent_rows(tmp_path / "central", site, "instances")
    assert sum(rows.values()) == mariadb.execute(site, "SELECT count(*) FROM instance")[0][0]
    assert max(rows.values()) == 1, "no row is sent twice"


def test_a_push_that_failed_is_resumed_from_the_outbox_without_querying_again(pacs, tmp_path):
    mariadb, _ = pacs
    site = V1_SITE
    blocked = tmp_path / "central-is-a-file"
    blocked.write_text("not a folder")
    settings = agent_settings(site=site, db=mariadb.url(site), to=str(blocked), state=tmp_path / "state")
    with pytest.raises(AgentError):
        once(settings)
    pending = Outbox(tmp_path / "state" / site / "outbox").pending()
    assert len(pending) == 1, "the extracted batch waits in the outbox"
    assert not (tmp_path / "state" / site / "state.json").exists(), "watermarks move only after a push"
    # rows arriving meanwhile go to the next batch, not into the one waiting
    mariadb.execute(site, "UPDATE patient SET updated_time = %s WHERE pk = 1", (datetime(2027, 2, 1),))
    report = once(settings.override(to=str(tmp_path / "central")))
    assert [p.batch for p in report.pushed][0] == pending[0].id
    assert len(report.pushed) == 2 and report.pushed[1].rows == 1
    _, rows = sent_rows(tmp_path / "central", site, "instances")
    assert sum(rows.values()) == mariadb.execute(site, "SELECT count(*) FROM instance")[0][0]
    assert max(rows.values()) == 1
    assert Outbox(tmp_path / "state" / site / "outbox").pending() == []


def test_a_second_agent_on_the_same_site_stops_at_the_lock(pacs, tmp_path):
    mariadb, _ = pacs
    settings = agent_settings(
        site=V1_SITE, db=mariadb.url(V1_SITE), to=str(tmp_path / "c"), state=tmp_path / "s"
    )
    with StateLock(tmp_path / "s" / V1_SITE), pytest.raises(AgentError, match="another agent run holds"):
        once(settings)
    assert once(settings).rows > 0


def test_the_same_rows_from_postgresql_give_the_same_bytes(mariadb, postgres, tmp_path):
    """One deterministic PACS on both servers: the files sent are byte-identical (same sha256)."""
    generate(tmp_path / "g1", sites=2, days=2, seed=3, pacs_db=mariadb.template())
    generate(tmp_path / "g2", sites=2, days=2, seed=3, pacs_db=postgres.template())
    digests = []
    for dbs, name in ((mariadb, "my"), (postgres, "pg")):
        settings = agent_settings(
            site=V2_SITE, db=dbs.url(V2_SITE), to=str(tmp_path / name), state=tmp_path / f"state-{name}"
        )
        assert once(settings).spec == "harmony_pacs/v2"
        done = json.loads(next((tmp_path / name / V2_SITE).glob("*/_DONE")).read_text())
        digests.append(sorted((f["name"].split("_")[0], f["sha256"]) for f in done["files"]))
    assert digests[0] == digests[1]


def test_check_reports_each_part_and_the_rows_it_would_send(pacs, tmp_path, capsys):
    mariadb, _ = pacs
    settings = agent_settings(
        site=V2_SITE, db=mariadb.url(V2_SITE), to=str(tmp_path / "c"), state=tmp_path / "s"
    )
    results = {r.name: r for r in check(settings)}
    assert all(r.ok for r in results.values()), results
    count = mariadb.execute(V2_SITE, "SELECT count(*) FROM instance")[0][0]
    assert results["rows instances"].detail == f"{count} row(s) would be sent"
    assert results["schema"].detail == "harmony_pacs/v2 fits the database"
    assert not (tmp_path / "c" / V2_SITE / "_agent_check.part").exists(), "the write probe is removed"
    bad = {r.name: r for r in check(settings.override(db=mariadb.url("no_such_site")))}
    assert not bad["database"].ok and "Unknown database" in bad["database"].detail
    assert bad["destination"].ok, "every check runs, a failed one does not hide the others"


def test_schedule_runs_until_stopped_and_survives_a_failed_run(pacs, tmp_path):
    mariadb, _ = pacs
    settings = agent_settings(
        site=V1_SITE, db=mariadb.url(V1_SITE), to=str(tmp_path / "c"), state=tmp_path / "s", every="1s"
    )
    stop = threading.Event()
    assert schedule(settings, stop, runs=2) == 0
    assert len(list((tmp_path / "c" / V1_SITE).glob("*/_DONE"))) == 1, "the second run had nothing new"
    broken = settings.override(db=mariadb.url("no_such_site"))
    assert schedule(broken, stop, max_failures=2, runs=5) == 1, "gives up after 2 failures in a row"


# -- the command, as cron or a CronJob runs it -------------------------------------------------------------
BLOCKER = """
import sys
class Refuse:
    BLOCKED = ("dagster", "dagster_aws", "dagster_webserver", "duckdb", "pandas", "numpy", "pyarrow",
               "pydicom", "faker")
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.BLOCKED:
            raise ImportError(f"{name} is not installed (blocked: the agent must not need it)")
        return None
sys.meta_path.insert(0, Refuse())
from medvault.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _agent_cli(args: list[str], env: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    script = tmp_path / "agent_without_dagster.py"
    script.write_text(BLOCKER)
    return subprocess.run(
        [sys.executable, str(script), "agent", *args],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


def test_the_command_runs_without_dagster_keeps_secrets_and_patient_values_out(pacs, tmp_path):
    """A read-only database user with a password from the environment; the log names tables, rows and
    bytes, never the password or a patient value; the exit code tells cron what happened."""
    mariadb, out = pacs
    site = V1_SITE
    user, password = f"mvreader_{os.getpid()}", "Pw-never-logged-7f3a"
    database = mariadb.url(site).rsplit("/", 1)[1]
    for sql in (
        f"CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY '{password}'",
        f"GRANT SELECT ON `{database}`.* TO '{user}'@'%'",
    ):
        mariadb.execute(site, sql)
    try:
        env = {
            "MEDVAULT_AGENT_SITE": site,
            "MEDVAULT_AGENT_DB": f"mysql://{user}@127.0.0.1:3306/{database}",
            "MEDVAULT_AGENT_DB_PASSWORD": password,
            "MEDVAULT_AGENT_TO": str(tmp_path / "central"),
            "MEDVAULT_AGENT_STATE": str(tmp_path / "state"),
            "MEDVAULT_AGENT_RULES": str(ROOT / "rules" / "agent"),
        }
        done = _agent_cli(["once", "--json"], env, tmp_path)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["rows"] > 0 and report["rules"] == "harmony_pacs/v1"
        assert "agent: extracted harmony_pacs/v1 instances:" in done.stderr
        _, patients = generated_rows(out, site, "patients")
        planted = {value for row in patients for value in row[:3] if len(value) > 3} | {password}
        leaked = [v for v in planted if v in done.stderr or v in done.stdout]
        assert leaked == [], "the log shows a secret or a patient value"
        checked = _agent_cli(["check"], env, tmp_path)
        assert checked.returncode == 0 and "ok   rows patients: 0 row(s) would be sent" in checked.stdout
        wrong = _agent_cli(["once"], {**env, "MEDVAULT_AGENT_DB_PASSWORD": "wrong"}, tmp_path)
        assert wrong.returncode == 1 and "Access denied" in wrong.stderr and "Pw-never" not in wrong.stderr
        in_url = _agent_cli(
            ["once", "--db", f"mysql://{user}:{password}@127.0.0.1/{database}"], env, tmp_path
        )
        assert in_url.returncode == 1 and "MEDVAULT_AGENT_DB_PASSWORD" in in_url.stderr
        assert password not in in_url.stderr
        missing = _agent_cli(["once"], {k: v for k, v in env.items() if k != "MEDVAULT_AGENT_DB"}, tmp_path)
        assert missing.returncode == 1 and "--db (or MEDVAULT_AGENT_DB)" in missing.stderr
        # the read-only user cannot write, and the agent never needed to
        with pytest.raises(Exception, match="command denied"):
            Database.connect(DatabaseUrl.parse(env["MEDVAULT_AGENT_DB"]), password).scalar(
                "DELETE FROM patient", (), "a write"
            )
    finally:
        mariadb.execute(site, f"DROP USER IF EXISTS '{user}'@'%'")


def test_parquet_files_carry_the_same_rows(pacs, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    mariadb, _ = pacs
    _once(mariadb, tmp_path, V2_SITE, format="parquet")
    settings_csv = agent_settings(
        site=V2_SITE, db=mariadb.url(V2_SITE), to=str(tmp_path / "csv"), state=tmp_path / "state-csv"
    )
    once(settings_csv)
    path = next((tmp_path / "central" / V2_SITE).glob("*/instances_*.parquet"))
    from medvault.platform.ingest.identify import identify

    verdict = identify(path, path.name, load_rules(ROOT / "rules"))
    assert (verdict.system, verdict.version, verdict.table) == ("harmony_pacs", "v2", "instances")
    table = pq.read_table(path)
    header, rows = sent_rows(tmp_path / "csv", V2_SITE, "instances")
    assert table.column_names == header
    as_text = {tuple("" if v is None else v for v in row.values()) for row in table.to_pylist()}
    assert as_text == set(rows)


def test_gzip_files_are_reproducible(pacs, tmp_path):
    """The same rows give the same bytes (no time stamp in the gzip header): a re-send is a no-op."""
    mariadb, _ = pacs
    a, _ = _once(mariadb, tmp_path / "a", V1_SITE)
    b, _ = _once(mariadb, tmp_path / "b", V1_SITE)
    files_a = sorted((tmp_path / "a" / "central" / V1_SITE).glob("*/patients_*.csv.gz"))
    files_b = sorted((tmp_path / "b" / "central" / V1_SITE).glob("*/patients_*.csv.gz"))
    assert [f.read_bytes() for f in files_a] == [f.read_bytes() for f in files_b]
    assert read_csv_gz(files_a[0].read_bytes())[0][0] == "pat_id"
    assert AgentState.load(tmp_path / "a" / "state" / V1_SITE / "state.json", V1_SITE).tables


def test_rules_check_also_checks_the_agent_rules(tmp_path, capsys):
    import shutil

    from medvault.cli import main

    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    assert main(["rules", "check", "--rules", str(rules)]) == 0
    assert "2 agent extraction rule file(s)" in capsys.readouterr().out
    broken = rules / "agent" / "harmony_pacs" / "v1.yaml"
    broken.write_text(broken.read_text().replace("watermark: updated_time", "watermark: 'updated time'", 1))
    assert main(["rules", "check", "--rules", str(rules)]) == 1
    err = capsys.readouterr().err
    assert f"{broken}: tables.stations.watermark:" in err and "output column name" in err


def test_generate_continue_adds_the_new_days_to_the_database(mariadb, tmp_path):
    from datetime import date

    from medvault.synth.generator import DEFAULT_START

    generate(tmp_path / "g", sites=1, days=2, seed=5, pacs_db=mariadb.template())
    before = mariadb.execute(V1_SITE, "SELECT count(*) FROM instance")[0][0]
    generate(
        tmp_path / "g",
        sites=1,
        days=3,
        seed=5,
        pacs_db=mariadb.template(),
        write_from=date.fromordinal(DEFAULT_START.toordinal() + 2),
    )
    _, rows = generated_rows(tmp_path / "g", V1_SITE, "instances")
    after = mariadb.execute(V1_SITE, "SELECT count(*) FROM instance")[0][0]
    assert before < after == sum(rows.values()), "the third day is added, no earlier row twice"
    from medvault.synth.pacs_db import open_site_database

    url = mariadb.url("someone_elses")
    open_site_database(url, "s", "v1").close()
    mariadb.execute("someone_elses", "DROP TABLE medvault_synthetic")  # now it looks like a real PACS
    with pytest.raises(DatabaseError, match="refusing to touch it"):
        open_site_database(url, "s", "v1")
    assert mariadb.execute("someone_elses", "SELECT count(*) FROM patient") == [(0,)], "nothing dropped"


def test_schedule_command_stops_cleanly_on_sigterm(pacs, tmp_path):
    """A container stop (SIGTERM) ends `agent schedule` with exit 0 between pushes."""
    import signal
    import time

    mariadb, _ = pacs
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MEDVAULT_AGENT_SITE": V1_SITE,
        "MEDVAULT_AGENT_DB": mariadb.url(V1_SITE),
        "MEDVAULT_AGENT_TO": str(tmp_path / "central"),
        "MEDVAULT_AGENT_STATE": str(tmp_path / "state"),
        "MEDVAULT_AGENT_RULES": str(ROOT / "rules" / "agent"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "medvault.cli", "agent", "schedule", "--every", "1h"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not list((tmp_path / "central" / V1_SITE).glob("*/_DONE")) and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "pushed batch" in err and "stopping (signal 15)" in err

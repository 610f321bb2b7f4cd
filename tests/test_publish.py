"""The marts out of the warehouse: Hive-partitioned Parquet read back with pyarrow, seed 000's CSV reports,
PostgreSQL publishing against the local server (idempotent, one transaction per table, grants), small
counts suppressed in each; and the staged tables' Parquet per (site, date)."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from medvault.platform.ledger import Ledger, LoadRecord
from medvault.platform.publish.csv_reports import report_name, write_csv_reports
from medvault.platform.publish.parquet import write_mart_parquet
from medvault.platform.publish.suppress import published_select
from medvault.platform.rules import load_rules
from medvault.platform.steps import publish
from medvault.platform.warehouse.db import Warehouse
from tests.helpers import step_context
from tests.test_marts import ORDERS, SITE, TABLES, _load

ROOT = Path(__file__).resolve().parents[1]
PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def _ctx(tmp_path: Path, rules, **settings):
    ctx = step_context(tmp_path, rules, None, None, run_id="publish-1")
    return replace(ctx, settings=replace(ctx.settings, **settings))


def _rows(tmp_path: Path, sql: str) -> list[tuple]:
    with Warehouse(tmp_path / "w.duckdb").connect(read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture
def loaded(tmp_path: Path):
    rules = load_rules(ROOT / "rules")
    # a second site, so that partitions and the combined report have something to combine
    _load(tmp_path, rules, "2026-03-02", TABLES)
    return rules


@pytest.fixture
def pg_database():
    """A fresh database on the local PostgreSQL server, dropped afterwards."""
    name = f"medvault_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_parquet_lake_reads_back_with_pyarrow_one_file_per_site(tmp_path: Path, loaded):
    with _ctx(tmp_path, loaded, small_count=1) as ctx:
        result = publish.run(ctx, {publish.PARQUET})
    assert result.failures == []
    folder = tmp_path / "lake" / "marts" / "examinations_per_month"
    assert [p.relative_to(folder).as_posix() for p in folder.rglob("*.parquet")] == [
        f"site={SITE}/data_0.parquet"
    ]
    table = pads.dataset(folder, partitioning="hive").to_table().to_pylist()
    got = sorted(((r["site"], r["Month"], r["TotalExams"]) for r in table), key=str)
    want = sorted(
        _rows(tmp_path, 'SELECT site, "Month", "TotalExams" FROM marts.examinations_per_month'), key=str
    )
    assert got == want and len(got) == 3
    for mart in loaded.marts:  # one file per site with rows; an empty mart (no HIS data here) has none
        files = list((tmp_path / "lake" / "marts" / mart.name).rglob("*.parquet"))
        (rows,) = _rows(tmp_path, f"SELECT count(*) FROM marts.{mart.name}")[0]
        assert bool(files) == bool(rows), mart.name


def test_small_counts_are_suppressed_in_every_output(tmp_path: Path, loaded, pg_database):
    with _ctx(tmp_path, loaded, small_count=2, publish_postgres=pg_database) as ctx:
        result = publish.run(ctx)
    assert result.failures == []
    # exact in the warehouse: Jan-2026 2, Feb-2026 1, no month 1; published: 1 -> NULL, 2 stays
    assert sorted(
        _rows(tmp_path, 'SELECT "Month", "TotalExams" FROM marts.examinations_per_month'), key=str
    ) == [
        ("Feb-2026", 1),
        ("Jan-2026", 2),
        (None, 1),
    ]
    parquet = pq.read_table(
        tmp_path / "lake" / "marts" / "examinations_per_month" / f"site={SITE}" / "data_0.parquet"
    ).to_pylist()
    assert sorted((r["Month"], r["TotalExams"]) for r in parquet if r["Month"]) == [
        ("Feb-2026", None),
        ("Jan-2026", 2),
    ]
    day = datetime.now(UTC).date()
    combined = (
        tmp_path
        / "reports"
        / "combined"
        / "examinations_per_month"
        / report_name("examinations_per_month", day)
    )
    rows = list(csv.DictReader(io.StringIO(combined.read_text())))
    assert {r["Month"]: r["TotalExams"] for r in rows if r["Month"]} == {"Jan-2026": "2", "Feb-2026": ""}
    with psycopg.connect(pg_database) as pg:
        published = pg.execute('SELECT "Month", "TotalExams" FROM marts.examinations_per_month').fetchall()
    assert sorted(published, key=str) == [("Feb-2026", None), ("Jan-2026", 2), (None, None)]
    meta = next(t.metadata for t in result.tables if t.table == ("publish", "csv_reports"))
    assert meta["cells_suppressed"] > 0 and meta["small_count_threshold"] == 2


def test_csv_reports_follow_seed_000s_naming_per_site_and_combined(tmp_path: Path, loaded):
    with _ctx(tmp_path, loaded, small_count=1) as ctx:
        publish.run(ctx, {publish.CSV})
    day = datetime.now(UTC).date()
    name = f"station_names_{day.strftime('%b-%d-%Y')}.csv"
    per_site = tmp_path / "reports" / SITE / "station_names" / name
    combined = tmp_path / "reports" / "combined" / "station_names" / name
    assert per_site.exists() and combined.exists()
    rows = list(csv.reader(io.StringIO(per_site.read_text())))
    assert rows[0] == ["site", "STATION_NAME", "COUNT"]
    assert sorted(rows[1:]) == sorted([[SITE, "CT1", "2"], [SITE, "OCT1", "1"], [SITE, "", "1"]])
    assert combined.read_text() == per_site.read_text(), "one site: the combined file is the site's"


def test_postgres_publish_is_idempotent_bulk_and_granted(tmp_path: Path, loaded, pg_database):
    reader = "medvault_test_reader"
    with psycopg.connect(PG, autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [reader]).fetchone():
            admin.execute(f"CREATE ROLE {reader}")
    settings = {"small_count": 1, "publish_postgres": pg_database, "publish_reader": reader}
    with _ctx(tmp_path, loaded, **settings) as ctx:
        first = publish.run(ctx, {publish.POSTGRES})
    meta = first.tables[0].metadata
    assert (
        first.failures == []
        and len(meta["tables_written"]) == len(loaded.marts)
        and meta["tables_unchanged"] == []
    )
    with psycopg.connect(pg_database) as pg:
        got = pg.execute('SELECT site, "STATION_NAME", "COUNT" FROM marts.station_names').fetchall()
        types = dict(
            pg.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'marts' AND table_name = 'examinations_per_month'"
            ).fetchall()
        )
        granted = pg.execute(
            "SELECT has_table_privilege(%s, 'marts.diskspace', 'SELECT')", [reader]
        ).fetchone()[0]
        published_at = pg.execute("SELECT max(published_at) FROM medvault_publish.published").fetchone()[0]
    assert sorted(got, key=str) == sorted(
        _rows(tmp_path, 'SELECT site, "STATION_NAME", "COUNT" FROM marts.station_names'), key=str
    )
    assert types == {"site": "text", "Month": "text", "month_start": "date", "TotalExams": "bigint"}
    assert granted
    with _ctx(tmp_path, loaded, **settings) as ctx:
        second = publish.run(ctx, {publish.POSTGRES})
    assert second.tables[0].metadata["tables_written"] == [], "unchanged marts are not written again"
    with psycopg.connect(pg_database) as pg:
        assert (
            pg.execute("SELECT max(published_at) FROM medvault_publish.published").fetchone()[0]
            == published_at
        )
    # a new order changes one mart: only it is published again
    _load(
        tmp_path,
        loaded,
        "2026-03-03",
        {"orders": ORDERS + "O6,0101011234,,STUDY,SCHEDULED,2026-01-09T09:00:00,2026-03-03T08:00:00\n"},
    )
    with _ctx(tmp_path, loaded, **settings) as ctx:
        third = publish.run(ctx, {publish.POSTGRES})
    assert third.tables[0].metadata["tables_written"] == ["marts.examinations_per_month"]
    with psycopg.connect(pg_database) as pg:
        assert pg.execute(
            'SELECT "TotalExams" FROM marts.examinations_per_month WHERE "Month" = %s', ["Jan-2026"]
        ).fetchone() == (3,)


def test_an_unreachable_postgres_fails_only_that_output(tmp_path: Path, loaded):
    settings = {"small_count": 1, "publish_postgres": "postgresql://nobody:secret@127.0.0.1:1/none"}
    with _ctx(tmp_path, loaded, **settings) as ctx:
        result = publish.run(ctx)
    assert result.failed == [("publish", "postgres")]
    assert "secret" not in " ".join(result.failures), "no credentials in the error"
    assert {t.table[1] for t in result.tables} == {
        publish.PARQUET,
        publish.CSV,
        publish.DASHBOARD,
        publish.STAGED,
    }


def test_outputs_on_every_store_kind(tmp_path: Path, loaded, any_store):
    mart = next(m for m in loaded.marts if m.name == "station_names")
    day = datetime(2026, 3, 4).date()
    with Warehouse(tmp_path / "w.duckdb").connect() as con:
        keys = write_mart_parquet(con, any_store, mart, 1)
        reports = write_csv_reports(con, any_store, mart, 1, day)
        want = con.execute(published_select(mart, 1)).fetchall()
    assert keys == [f"marts/station_names/site={SITE}/data_0.parquet"]
    local = tmp_path / "back.parquet"
    any_store.download(keys[0], local)
    got = pq.read_table(local).to_pylist()
    assert sorted(((SITE, r["STATION_NAME"], r["COUNT"]) for r in got), key=str) == sorted(want, key=str)
    assert reports == [
        "combined/station_names/station_names_Mar-04-2026.csv",
        f"{SITE}/station_names/station_names_Mar-04-2026.csv",
    ]


def test_staged_tables_have_a_parquet_file_per_partition(tmp_path: Path, loaded):
    path = (
        tmp_path
        / "lake"
        / "staged"
        / "harmony_pacs__orders"
        / f"site={SITE}"
        / "date=2026-03-02"
        / "data_0.parquet"
    )
    assert not path.exists(), "staging leaves the Parquet copy to the publish step"
    with _ctx(tmp_path, loaded) as ctx:
        first = publish.run(ctx, {publish.STAGED})
        again = publish.run(ctx, {publish.STAGED})
    assert first.tables[0].metadata["files_written"] >= len(TABLES)
    assert again.tables[0].metadata == {**again.tables[0].metadata, "slices": 0, "files_written": 0}
    rows = pq.read_table(path).to_pylist()
    staged = _rows(
        tmp_path, "SELECT order_id, order_type FROM staging.harmony_pacs__orders ORDER BY order_id"
    )
    assert sorted((r["order_id"], r["order_type"]) for r in rows) == staged
    assert len(staged) == 5
    assert {r["_site"] for r in rows} == {SITE} and "site" not in rows[0], "site and date are in the path"
    # the slice staged again without its file: the next publish removes the Parquet copy
    with Warehouse(tmp_path / "w.duckdb").connect() as con:
        con.execute("DELETE FROM staging.harmony_pacs__orders")
        Ledger(con).audit.record(
            LoadRecord("stage", "staging.harmony_pacs__orders", 0, SITE, "2026-03-02"), "restage"
        )
    with _ctx(tmp_path, loaded) as ctx:
        emptied = publish.run(ctx, {publish.STAGED})
    assert emptied.tables[0].metadata["files_removed"] == 1 and not path.exists()

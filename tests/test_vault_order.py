"""Order-proof satellites, property-based: any arrival order of a set of batches, with re-deliveries and
several versions of one key per batch, gives the same history as an independent Python model of it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from medvault.platform.vault import hashing
from medvault.platform.vault.ddl import create_vault_tables
from medvault.platform.vault.loader import load_partition
from tests.test_vault import _create_staging, _stage_studies, make_rules

SAT = "sat_event_study_details"
REAL = "record_source <> 'SYSTEM'"  # not the satellite's ghost row (ghost records)
KEYS = ["1.2.1", "1.2.2", "1.2.3"]
DAYS = [date(2026, 1, d) for d in range(1, 7)]
TIMES = [datetime(2026, 1, 1, 8) + timedelta(hours=6 * n) for n in range(8)]
DESCRIPTIONS = ["CT head", "CT chest", "MR knee"]


@st.composite
def batches(draw) -> dict:
    """Partition date -> rows (key, effective_ts, description). One version (key, effective_ts) has one
    payload wherever it arrives; a batch may carry earlier rows of a version with another payload, which
    its last row overrides (as a file's later line does)."""
    payload = draw(
        st.fixed_dictionaries({(k, t): st.sampled_from(DESCRIPTIONS) for k in KEYS for t in TIMES})
    )
    versions = st.tuples(st.sampled_from(KEYS), st.sampled_from(TIMES))
    out = {}
    for day in draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=5, unique=True)):
        rows = []
        for key, ts in draw(st.lists(versions, min_size=1, max_size=5)):
            if draw(st.booleans()):
                rows.append((key, ts, draw(st.sampled_from(DESCRIPTIONS))))  # overridden below
            rows.append((key, ts, payload[(key, ts)]))
        out[day] = rows
    return out


def _expected_history(by_day: dict) -> set:
    """Per key: of the rows for one effective_ts the latest partition's (its last row) stands; repeats of
    the previous payload are not changes; each change lasts until the next."""
    standing: dict = {}
    for day in sorted(by_day):
        for uid, ts, description in by_day[day]:  # later rows of a batch, later days: override
            standing[(uid, ts)] = description
    out = set()
    for uid in KEYS:
        changes, previous = [], None
        for ts in sorted(t for k, t in standing if k == uid):
            if standing[(uid, ts)] != previous:
                changes.append((ts, standing[(uid, ts)]))
                previous = standing[(uid, ts)]
        for n, (ts, description) in enumerate(changes):
            until = changes[n + 1][0] if n + 1 < len(changes) else None
            out.add((bytes(hashing.hash_key([uid], tenant="site_a")), ts, until, description))
    return out


def _load(order: list, by_day: dict):
    con = duckdb.connect()
    _create_staging(con)
    rules = make_rules()
    create_vault_tables(con, rules)
    for n, day in enumerate(order):
        rows = [(uid, "P1", date(2025, 12, 1), "ACC", d, "CT", ts) for uid, ts, d in by_day[day]]
        _stage_studies(con, "site_a", day.isoformat(), rows)
        load_partition(con, rules, "site_a", day.isoformat(), datetime(2026, 2, 1) + timedelta(minutes=n))
    return con


def _versions(con) -> list:
    """Every stored version (key, effective_ts, hashdiff): changes in the satellite, repeats beside it."""
    return con.execute(
        f"SELECT hk_event, effective_ts, hashdiff FROM vault.{SAT} WHERE {REAL} "
        f"UNION ALL SELECT hk_event, effective_ts, hashdiff FROM vault.{SAT}__seen"
    ).fetchall()


def _latest(con) -> dict:
    rows = con.execute(f"SELECT hk, effective_ts, hashdiff, n FROM vault.{SAT}__latest").fetchall()
    return {bytes(k): (ts, n, h if n == 1 else None) for k, ts, h, n in rows}


def _newest(stored: list) -> dict:
    """Per key: its newest effective_ts, how many versions are stored at it, their hashdiff if one."""
    out = {}
    for key in {bytes(k) for k, _, _ in stored}:
        mine = [(ts, h) for k, ts, h in stored if bytes(k) == key]
        ts = max(t for t, _ in mine)
        at = [h for t, h in mine if t == ts]
        out[key] = (ts, len(at), at[0] if len(at) == 1 else None)
    return out


@settings(max_examples=40, deadline=None)
@given(by_day=batches(), data=st.data())
def test_any_arrival_order_with_redeliveries_gives_the_same_history(by_day, data):
    days = list(by_day)
    order = data.draw(st.permutations(days))
    order += data.draw(st.lists(st.sampled_from(days), max_size=4))  # re-deliveries, anywhere after
    con = _load(order, by_day)
    history = {
        (bytes(k), ts, until, description)
        for k, ts, until, description in con.execute(
            f"SELECT hk_event, effective_ts, effective_to, study_description FROM vault.{SAT}__history WHERE {REAL}"
        ).fetchall()
    }
    assert history == _expected_history(by_day)

    stored = _versions(con)
    assert len(stored) == len(set(stored)), "a version is stored once"
    assert _latest(con) == _newest(stored), "__latest holds each key's newest stored version"
    in_date_order = _versions(_load(sorted(days), by_day))
    assert sorted(stored) == sorted(in_date_order), "the stored versions do not depend on the arrival order"
    changes = con.execute(f"SELECT count(*) FROM vault.{SAT} WHERE {REAL}").fetchone()[0]
    assert changes <= len(stored) and changes >= len({k for k, _, _ in stored})

    # idempotent: every batch again inserts nothing anywhere
    for day in days:
        rows = [(u, "P1", date(2025, 12, 1), "ACC", d, "CT", ts) for u, ts, d in by_day[day]]
        _stage_studies(con, "site_a", day.isoformat(), rows)
        assert set(load_partition(con, make_rules(), "site_a", day.isoformat()).values()) == {0}


def test_a_warehouse_loaded_before_latest_existed_gets_it_filled_from_what_is_stored():
    days = {
        DAYS[0]: [("1.2.1", TIMES[0], "CT head")],
        DAYS[1]: [
            ("1.2.1", TIMES[2], "CT head"),
            ("1.2.2", TIMES[1], "MR knee"),
            ("1.2.2", TIMES[3], "CT chest"),
        ],
    }
    con = _load(list(days), days)
    expected = _newest(_versions(con))
    assert _latest(con) == expected and len(expected) == 2
    con.execute(f"DROP TABLE vault.{SAT}__latest")  # as a warehouse made by an earlier medvault
    create_vault_tables(con, make_rules())
    assert _latest(con) == expected, "filled from the satellite and __seen, without the ghost row"


def test_a_late_batch_lands_between_and_hides_a_repeat():
    by_day = {
        DAYS[0]: [("1.2.1", TIMES[0], "CT head")],
        DAYS[2]: [("1.2.1", TIMES[4], "CT head")],  # a repeat: no change while nothing lies between
        DAYS[1]: [("1.2.1", TIMES[2], "MR knee")],  # arrives last, between the two
    }
    con = _load([DAYS[0], DAYS[2]], by_day)
    assert con.execute(f"SELECT count(*) FROM vault.{SAT}__history WHERE {REAL}").fetchone()[0] == 1
    counts = [
        con.execute(f"SELECT count(*) FROM vault.{t} WHERE {REAL}").fetchone()[0]
        for t in (SAT, SAT + "__seen")
    ]
    assert counts == [1, 1], "the repeat costs no payload row: only its key, time and hashdiff"
    con2 = _load([DAYS[0], DAYS[2], DAYS[1]], by_day)
    history = con2.execute(
        f"SELECT study_description, effective_ts FROM vault.{SAT}__history WHERE {REAL} ORDER BY effective_ts"
    ).fetchall()
    assert history == [("CT head", TIMES[0]), ("MR knee", TIMES[2]), ("CT head", TIMES[4])]


def test_a_version_changed_in_a_later_partition_stands_whatever_the_order():
    """The same key and effective_ts with another payload in a later partition: the later one stands."""
    by_day = {DAYS[0]: [("1.2.1", TIMES[0], "CT head")], DAYS[3]: [("1.2.1", TIMES[0], "CT chest")]}
    for order in ([DAYS[0], DAYS[3]], [DAYS[3], DAYS[0]]):
        con = _load(order, by_day)
        assert con.execute(f"SELECT study_description FROM vault.{SAT}__current").fetchall() == [
            ("CT chest",)
        ]

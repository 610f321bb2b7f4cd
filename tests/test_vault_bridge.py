"""Bridge tables: the shipped rules' study -> series -> image and station -> department -> facility
paths, built from real vault loads, equal to the links joined by hand, and rebuilt only for the anchors
that new link rows reach."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from medvault.platform.rules import RulesError, load_rules
from medvault.platform.staging.tables import ensure_staging_tables
from medvault.platform.vault.bridge import bridges, build_bridge
from medvault.platform.vault.ddl import create_vault_tables
from medvault.platform.vault.loader import load_partition
from medvault.platform.vault.model import compile_vault

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model():
    return compile_vault(load_rules(REPO / "rules"))


def _stage(con, table: str, site: str, day: str, rows: list[dict]) -> None:
    for n, row in enumerate(rows, start=1):
        cols = {**row, "_site": site, "_date": day, "_version": "v2", "_row_number": n, "_sha256": "s"}
        names = ", ".join(cols)
        marks = ", ".join("?" for _ in cols)
        con.execute(
            f"INSERT INTO staging.harmony_pacs__{table} ({names}) VALUES ({marks})", list(cols.values())
        )


def _series(study, series, station="CT1", department="Radiology", institution="Aurora Eye"):
    return {
        "study_uid": study,
        "series_uid": series,
        "station_name": station,
        "department": department,
        "institution": institution,
        "modality": "CT",
    }


def _instance(series, sop):
    return {"series_uid": series, "sop_instance_uid": sop}


def _paths(con) -> set[tuple]:
    return set(
        con.execute(
            """SELECT e.event_id, s.series_uid, i.sop_instance_uid
               FROM vault.bridge_study_images b JOIN vault.hub_event e USING (hk_event)
               JOIN vault.hub_series s USING (hk_series) LEFT JOIN vault.hub_instance i USING (hk_instance)"""
        ).fetchall()
    )


def _joined_by_hand(con) -> set[tuple]:
    return set(
        con.execute(
            """SELECT e.event_id, s.series_uid, i.sop_instance_uid
               FROM vault.link_event_series es JOIN vault.hub_event e USING (hk_event)
               JOIN vault.hub_series s USING (hk_series)
               LEFT JOIN vault.link_series_instance si ON si.hk_series = es.hk_series
               LEFT JOIN vault.hub_instance i ON i.hk_instance = si.hk_instance"""
        ).fetchall()
    )


def test_bridges_follow_the_links_and_rebuild_only_the_anchors_reached(model):
    con = duckdb.connect()
    for table in ("series", "instances"):
        ensure_staging_tables(con, model.rules, "harmony_pacs", table)
    create_vault_tables(con, model)
    study_images = next(b for b in bridges(model) if b.name == "bridge_study_images")
    stations = next(b for b in bridges(model) if b.name == "bridge_station_facility")
    assert study_images.hubs == ("hub_event", "hub_series", "hub_instance")

    def load(site, day, series, instances, hour):
        _stage(con, "series", site, day, series)
        _stage(con, "instances", site, day, instances)
        load_partition(con, model, site, day, datetime(2026, 3, 10, hour))

    load(
        "aurora_eye",
        "2026-03-02",
        [_series("1.1", "1.1.1"), _series("1.1", "1.1.2")],
        [_instance("1.1.1", "1.1.1.1"), _instance("1.1.1", "1.1.1.2")],
        1,
    )
    load(
        "kestrel_imaging",
        "2026-03-02",
        [_series("2.1", "2.1.1", station="MR1")],
        [_instance("2.1.1", "2.1.1.1")],
        2,
    )
    assert build_bridge(con, study_images) == (2, 4)
    assert _paths(con) == {
        ("1.1", "1.1.1", "1.1.1.1"),
        ("1.1", "1.1.1", "1.1.1.2"),
        ("1.1", "1.1.2", None),  # a series whose images have not arrived yet
        ("2.1", "2.1.1", "2.1.1.1"),
    }
    assert _paths(con) == _joined_by_hand(con)
    assert build_bridge(con, study_images) == (0, 0), "nothing loaded since: nothing rebuilt"

    # the images of series 1.1.2 arrive alone a day later: only study 1.1 (reached backwards) is rebuilt
    load("aurora_eye", "2026-03-03", [], [_instance("1.1.2", "1.1.2.1")], 3)
    kestrel_before = con.execute(
        "SELECT built_load_ts FROM vault.bridge_study_images WHERE site = 'kestrel_imaging'"
    ).fetchall()
    assert build_bridge(con, study_images) == (1, 3)
    assert ("1.1", "1.1.2", "1.1.2.1") in _paths(con) and ("1.1", "1.1.2", None) not in _paths(con)
    assert _paths(con) == _joined_by_hand(con)
    assert (
        con.execute(
            "SELECT built_load_ts FROM vault.bridge_study_images WHERE site = 'kestrel_imaging'"
        ).fetchall()
        == kestrel_before
    ), "another site's anchor is left alone"
    # a rerun of a loaded partition inserts no link row, so nothing is rebuilt
    load("aurora_eye", "2026-03-03", [], [_instance("1.1.2", "1.1.2.1")], 4)
    assert build_bridge(con, study_images) == (0, 0)

    assert build_bridge(con, stations) == (2, 2)
    facility = con.execute(
        """SELECT st.station_name, l.location_id, f.facility_id, b.site
           FROM vault.bridge_station_facility b JOIN vault.hub_station st USING (hk_station)
           JOIN vault.hub_location l USING (hk_location) JOIN vault.hub_facility f USING (hk_facility)
           ORDER BY 1"""
    ).fetchall()
    assert facility == [
        ("CT1", "Radiology", "Aurora Eye", "aurora_eye"),
        ("MR1", "Radiology", "Aurora Eye", "kestrel_imaging"),
    ]


def _rules_with(tmp_path: Path, bridge_yaml: str) -> Path:
    import shutil

    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    (root / "vault" / "bridges_test.yaml").write_text(bridge_yaml)
    return root


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        (
            "bridges:\n  bridge_x:\n    anchor: hub_nope\n    path: [link_event_series]\n",
            "unknown hub 'hub_nope'",
        ),
        (
            "bridges:\n  bridge_x:\n    anchor: hub_event\n    path: [link_series_instance]\n",
            "link_series_instance does not join hub_event, the hub reached so far",
        ),
        (
            "bridges:\n  bridge_x:\n    anchor: hub_event\n    path: [link_event_series, link_missing]\n",
            "path[1]: unknown link 'link_missing'",
        ),
        ("bridges:\n  bridge_x:\n    anchor: hub_event\n    path: link_event_series\n", "expected a list"),
        (
            "bridges:\n  x_bridge:\n    anchor: hub_event\n    path: [link_event_series]\n",
            "start with bridge_",
        ),
        (
            "bridges:\n  bridge_x:\n    anchor: hub_event\n    paths: [link_event_series]\n",
            "bridges.bridge_x.paths: unknown key",
        ),
    ],
)
def test_rules_check_names_the_bridge_fault(tmp_path: Path, yaml_text: str, expected: str):
    with pytest.raises(RulesError) as err:
        load_rules(_rules_with(tmp_path, yaml_text))
    assert any(expected in p and "bridges_test.yaml" in p for p in err.value.problems), err.value.problems

"""A link with the same hub twice: the shipped `link_order_study` joins a PACS order (an event) to the
study it asks for (another event), each end in its role, from real vault loads."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from medvault.platform.rules import RulesError, load_rules
from medvault.platform.staging.tables import ensure_staging_tables
from medvault.platform.vault.batch import build_batches, drop_batches
from medvault.platform.vault.checks import check_object
from medvault.platform.vault.ddl import create_vault_tables
from medvault.platform.vault.loader import load_partition
from medvault.platform.vault.model import compile_vault

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model():
    return compile_vault(load_rules(REPO / "rules"))


def _orders(con, day: str, rows: list[tuple[str, str, str | None]]) -> None:
    for n, (order, patient, study) in enumerate(rows, start=1):
        con.execute(
            "INSERT INTO staging.harmony_pacs__orders (order_id, patient_id, order_type, study_uid, "
            "_site, _date, _version, _row_number, _sha256) VALUES (?, ?, 'STUDY', ?, 'aurora_eye', ?, 'v2', ?, 's')",
            [order, patient, study, day, n],
        )


def test_an_order_links_to_its_study_in_one_hub(model):
    link = model.objects["link_order_study"]
    assert [c for c, _ in link.columns[:3]] == ["hk_link_order_study", "hk_event_order", "hk_event_study"]
    con = duckdb.connect()
    ensure_staging_tables(con, model.rules, "harmony_pacs", "orders")
    create_vault_tables(con, model)
    _orders(con, "2026-03-02", [("ORD1", "P1", "1.2.3"), ("ORD2", "P2", "1.2.4"), ("ORD3", "P3", None)])
    load_partition(con, model, "aurora_eye", "2026-03-02", datetime(2026, 3, 10, 1))
    pairs = con.execute(
        """SELECT o.event_id, s.event_id FROM vault.link_order_study l
           JOIN vault.hub_event o ON o.hk_event = l.hk_event_order
           JOIN vault.hub_event s ON s.hk_event = l.hk_event_study ORDER BY 1"""
    ).fetchall()
    assert pairs == [("ORD1", "1.2.3"), ("ORD2", "1.2.4"), ("ORD3", None)], (
        "an order without a study links to the zero key: inner joins keep it (ghost records)"
    )
    # both roles fed the one hub: the orders and the studies they name are events
    events = {
        r[0]
        for r in con.execute(
            "SELECT event_id FROM vault.hub_event WHERE record_source <> 'SYSTEM'"
        ).fetchall()
    }
    assert events == {"ORD1", "ORD2", "ORD3", "1.2.3", "1.2.4"}

    batches = build_batches(
        con, model, link.feeds, {"site": "aurora_eye", "date": "2026-03-02"}, lambda _: True
    )
    check = check_object(con, model, "link_order_study", batches, staged_rows=3, inserted=3)
    hub_check = check_object(con, model, "hub_event", batches, staged_rows=3, inserted=5)
    drop_batches(con, batches)
    assert check.passed and check.metadata == {
        "staged_links": 3,
        "missing_in_hub_event.order": 0,
        "missing_in_hub_event.study": 0,  # ORD3's missing study resolves to the ghost row
        "ghost_rows": 1,
    }
    assert hub_check.passed and hub_check.metadata["staged_keys"] == 5
    assert hub_check.metadata["ghost_rows"] == 1

    load_partition(con, model, "aurora_eye", "2026-03-02", datetime(2026, 3, 10, 2))
    assert con.execute("SELECT count(*) FROM vault.link_order_study").fetchone()[0] == 3, (
        "a rerun adds nothing"
    )


def _rules_with(tmp_path: Path, edit) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    for name in ("model.yaml", "loads_harmony_pacs.yaml"):
        path = root / "vault" / name
        path.write_text(edit(name, path.read_text()))
    return root


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        ("model.yaml", "    roles: [order, study]", "", "a hub appears twice: give each end a role"),
        ("model.yaml", "roles: [order, study]", "roles: [order]", "gives 1 roles for 2 hubs"),
        (
            "model.yaml",
            "roles: [order, study]",
            "roles: [order, order]",
            "each role names one end of the link once",
        ),
        (
            "loads_harmony_pacs.yaml",
            "      hub_event.study: [study_uid]\n",
            "",
            "link_order_study needs hub 'hub_event.study', which this load does not map",
        ),
        (
            "loads_harmony_pacs.yaml",
            "hub_event.study: [study_uid]",
            "hub_evnt.study: [study_uid]",
            "hub_evnt.study: unknown hub",
        ),
        (
            "loads_harmony_pacs.yaml",
            "hub_event.order: [order_id]",
            "hub_event.order: [order_id]\n      hub_event.parent: [study_uid]",
            "hubs.hub_event.parent: a hub in a role must be an end of one of this load's links",
        ),
    ],
)
def test_rules_check_names_what_is_wrong_with_roles(tmp_path: Path, file, old, new, expected):
    def edit(name: str, text: str) -> str:
        if name != file:
            return text
        assert old in text
        return text.replace(old, new)

    with pytest.raises(RulesError) as err:
        load_rules(_rules_with(tmp_path, edit))
    assert any(expected in p for p in err.value.problems), err.value.problems

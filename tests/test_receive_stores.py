"""The same partition through two stores: identity is (store, key, content)."""

from __future__ import annotations

from pathlib import Path

from medvault.platform.rules import load_rules
from medvault.platform.steps.receive import receive
from medvault.platform.stores.local import LocalStore
from medvault.platform.warehouse.db import Warehouse
from medvault.platform.zones import QuarantineZone, RawZone
from tests.helpers import SMR01_HEADER as HEADER
from tests.helpers import SMR01_ROW as ROW
from tests.helpers import step_context

ROOT = Path(__file__).resolve().parents[1]
V1, V2 = HEADER + ROW.format(n=1), HEADER + ROW.format(n=2)


class TwoStores:
    def __init__(self, tmp_path: Path):
        self.tmp = tmp_path
        self.rules = load_rules(ROOT / "rules")
        self.raw = RawZone(LocalStore(tmp_path / "lake"))
        self.quarantine = QuarantineZone(LocalStore(tmp_path / "q"))
        self.warehouse = Warehouse(tmp_path / "w.duckdb")

    def drop(self, store: str, text: str) -> None:
        folder = self.tmp / store / "aurora_eye" / "2026-03-02"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "smr01.csv").write_text(text)
        (folder / "_DONE").write_text("")

    def receive(self, *stores: str) -> list[tuple]:
        with self.warehouse.connect() as con:
            for store in stores:
                receive(step_context(self.tmp, self.rules), LocalStore(self.tmp / store), store)
            return con.execute(
                "SELECT store, substr(sha256, 1, 6), status, coalesce(reason_code, '') FROM ops.file_manifest "
                "ORDER BY store, received_at"
            ).fetchall()


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:6]


def test_same_name_different_content_on_two_stores_is_two_files_and_stable(tmp_path: Path):
    t = TwoStores(tmp_path)
    t.drop("a", V1)
    t.drop("b", V2)
    first = t.receive("a", "b")
    assert first == [("a", _sha(V1), "received", ""), ("b", _sha(V2), "received", "")]
    assert t.receive("a", "b") == first, "no flip-flop between the two stores on later runs"


def test_identical_content_through_a_second_store_is_loaded_once(tmp_path: Path):
    t = TwoStores(tmp_path)
    t.drop("a", V1)
    t.drop("b", V1)
    assert t.receive("a", "b") == [
        ("a", _sha(V1), "received", ""),
        ("b", _sha(V1), "quarantined", "duplicate_content"),
    ]


def test_store_catching_up_with_the_other_supersedes_its_old_version(tmp_path: Path):
    t = TwoStores(tmp_path)
    t.drop("a", V1)
    t.drop("b", V2)
    t.receive("a", "b")
    t.drop("a", V2)  # store a now sends what store b already delivered
    assert t.receive("a") == [
        ("a", _sha(V1), "superseded", "superseded"),
        ("a", _sha(V2), "quarantined", "duplicate_content"),
        ("b", _sha(V2), "received", ""),
    ]


def test_old_version_through_another_store_is_a_file_of_its_own(tmp_path: Path):
    t = TwoStores(tmp_path)
    t.drop("a", V1)
    t.receive("a")
    t.drop("a", V2)
    t.receive("a")
    t.drop("b", V1)  # store b sends the content store a replaced
    assert t.receive("b") == [
        ("a", _sha(V1), "superseded", "superseded"),
        ("a", _sha(V2), "received", ""),
        ("b", _sha(V1), "received", ""),
    ]

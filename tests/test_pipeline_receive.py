"""Focused receive tests on a real drop folder, lake, quarantine and DuckDB warehouse.

Unchanged files are a no-op, byte-identical copies are duplicate_content, a changed file supersedes its
earlier version (and the old bytes dropped again re-activate it), and the raw zone is written once per
content at `raw/<site>/<date>/<system>/<version>/<sha256>_<name>` and never rewritten.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from medvault.platform.steps.receive import ReceiveSummary, receive
from medvault.platform.steps.stage import stage_table
from medvault.platform.stores.local import LocalStore
from medvault.platform.warehouse.db import Warehouse
from medvault.platform.zones import QuarantineZone, RawZone
from tests.corpus.build import PACS_V1_HEADER, PACS_V2_HEADER, corpus_rules
from tests.helpers import step_context

SITE, DATE, OTHER_DATE = "site_a", "2024-05-01", "2024-05-02"
RULES = corpus_rules()


def studies(start: int, n: int, v2: bool = False) -> bytes:
    rows = [
        f"1.2.826.0.1.{i},PAT{i:05d},2024-03-{(i % 28) + 1:02d},MR,Station {i % 3},2024-04-01T10:00:00Z"
        + (",OPH" if v2 else "")
        for i in range(start, start + n)
    ]
    return ("\n".join([PACS_V2_HEADER if v2 else PACS_V1_HEADER, *rows]) + "\n").encode()


def orders(start: int, n: int) -> bytes:
    docs = [
        {"_id": {"$oid": f"65a1b2c3d4e5f6a7b8c9{i:04d}"}, "patientId": f"PAT{i:05d}", "total": 10 + i}
        for i in range(start, start + n)
    ]
    return ("\n".join(json.dumps(d) for d in docs) + "\n").encode()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Env:
    """A drop store, lake, quarantine and warehouse under one temp folder."""

    def __init__(self, root: Path):
        self.root = root
        self.drops = LocalStore(root / "drops")
        self.raw = RawZone(LocalStore(root / "lake"))
        self.quarantine = QuarantineZone(LocalStore(root / "quarantine"))
        self.warehouse = Warehouse(root / "warehouse.duckdb")

    def drop(self, name: str, data: bytes, date: str = DATE) -> Path:
        path = self.root / "drops" / SITE / date / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def receive(self, date: str = DATE, run_id: str = "run-1") -> ReceiveSummary:
        ctx = step_context(
            self.root, RULES, SITE, date, run_id, quarantine="quarantine", warehouse="warehouse.duckdb"
        )
        # every file here is complete; tests/test_receive_stability.py covers uploads
        return receive(ctx, self.drops, "local_drops", settle_seconds=0)

    def stage_studies(self, date: str = DATE):
        ctx = step_context(
            self.root, RULES, SITE, date, quarantine="quarantine", warehouse="warehouse.duckdb"
        )
        with self.warehouse.connect() as con:
            return stage_table(ctx, con, "harmony_pacs", "studies")

    def query(self, sql: str, params=None) -> list[tuple]:
        with self.warehouse.connect(read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    def manifest(self, date: str = DATE) -> list[tuple]:
        return self.query(
            "SELECT key, sha256, status, reason_code, system, version, source_table, raw_path, quarantine_path, "
            "store, run_id, received_at, updated_at FROM ops.file_manifest WHERE date = ? ORDER BY key, received_at",
            [date],
        )

    def status(self, name: str, date: str = DATE) -> dict[str, tuple]:
        """sha256 -> (status, reason_code) of every version of one file."""
        rows = self.query(
            "SELECT sha256, status, reason_code FROM ops.file_manifest WHERE key = ?",
            [f"{SITE}/{date}/{name}"],
        )
        return {s: (st, code) for s, st, code in rows}

    def staged_uids(self, name: str, date: str = DATE) -> list[str]:
        rows = self.query(
            "SELECT study_uid FROM staging.harmony_pacs__studies WHERE _source_key = ? AND _date = ? ORDER BY 1",
            [f"{SITE}/{date}/{name}", date],
        )
        return [r[0] for r in rows]

    def raw_files(self) -> dict[str, tuple[int, int, bytes]]:
        """Every file of the raw zone: relative path -> (inode, mtime_ns, bytes). (Not the lake's staged/
        Parquet copies, which staging rewrites with each slice.)"""
        base = self.root / "lake"
        return {
            p.relative_to(base).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(base.rglob("*"))
            if p.is_file() and not p.relative_to(base).as_posix().startswith("staged/")
        }


def uids(start: int, n: int) -> list[str]:
    return sorted(f"1.2.826.0.1.{i}" for i in range(start, start + n))


@pytest.fixture
def env(tmp_path) -> Env:
    return Env(tmp_path)


# -- raw zone -----------------------------------------------------------------------------------------------
def test_raw_key_layout(env):
    files = {
        "studies_a.csv": studies(1, 3),
        "studies_v2.csv": studies(11, 2, v2=True),
        "orders_a.ndjson": orders(1, 2),
        "export (3).csv": studies(21, 2),  # renamed: identified by header, name made store-safe
    }
    for name, data in files.items():
        env.drop(name, data)
    summary = env.receive()
    assert (summary.files_seen, summary.received, summary.quarantined) == (4, 4, 0)
    assert summary.by_table == {"harmony_pacs.studies": 3, "karexpert_his.orders": 1}
    expected = {
        "studies_a.csv": ("harmony_pacs", "v1", "studies_a.csv"),
        "studies_v2.csv": ("harmony_pacs", "v2", "studies_v2.csv"),
        "orders_a.ndjson": ("karexpert_his", "v1", "orders_a.ndjson"),
        "export (3).csv": ("harmony_pacs", "v1", "export_3_.csv"),
    }
    rows = {r[0]: r for r in env.manifest()}
    for name, (system, version, safe) in expected.items():
        key, digest, status, _, sys_, ver, _, raw_path, qpath, store, run_id, *_ = rows[
            f"{SITE}/{DATE}/{name}"
        ]
        assert (status, sys_, ver, qpath, store, run_id) == (
            "received",
            system,
            version,
            None,
            "local_drops",
            "run-1",
        )
        assert digest == sha(files[name])
        assert raw_path == f"raw/{SITE}/{DATE}/{system}/{version}/{digest}_{safe}"
        assert (env.root / "lake" / raw_path).read_bytes() == files[name]
    assert len(env.raw_files()) == 4


def test_second_receive_never_rewrites_the_raw_zone(env):
    env.drop("studies_a.csv", studies(1, 3))
    env.drop("orders_a.ndjson", orders(1, 2))
    env.drop("studies_header.csv", (PACS_V1_HEADER + "\n").encode())
    env.receive()
    raw_before, manifest_before = env.raw_files(), env.manifest()
    reason_file = env.root / "quarantine" / manifest_before[2][8]
    reason_before = (reason_file.with_name(reason_file.name + ".reason.json")).stat().st_mtime_ns

    again = env.receive(run_id="run-2")
    assert (again.files_seen, again.unchanged, again.received, again.quarantined) == (3, 3, 0, 0)
    assert env.raw_files() == raw_before, "same inode, same mtime, same bytes"
    assert env.manifest() == manifest_before, "no new row, run_id and timestamps untouched"
    assert reason_file.with_name(reason_file.name + ".reason.json").stat().st_mtime_ns == reason_before

    # Staging reads the raw copy and leaves it alone; receiving afterwards is still a no-op.
    assert env.stage_studies().rows_loaded == 3
    assert env.receive(run_id="run-3").unchanged == 3
    assert env.raw_files() == raw_before


def test_raw_zone_put_never_overwrites(env, tmp_path):
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_bytes(b"first")
    second.write_bytes(b"second")
    digest = sha(b"first")
    key = env.raw.put(first, SITE, DATE, "harmony_pacs", "v1", digest, "studies_a.csv")
    assert key == f"raw/{SITE}/{DATE}/harmony_pacs/v1/{digest}_studies_a.csv"
    before = env.raw_files()
    assert env.raw.put(second, SITE, DATE, "harmony_pacs", "v1", digest, "studies_a.csv") == key
    assert env.raw_files() == before
    assert env.raw.store.read_bytes(key) == b"first"


# -- duplicates ---------------------------------------------------------------------------------------------------
def test_same_bytes_under_another_name_is_duplicate_content(env):
    data = studies(1, 3)
    env.drop("studies_a.csv", data)
    env.drop("studies_b.csv", data)
    summary = env.receive()
    assert (summary.received, summary.quarantined) == (1, 1)
    assert summary.reasons == {"duplicate_content": 1}
    assert env.status("studies_a.csv") == {sha(data): ("received", None)}
    assert env.status("studies_b.csv") == {sha(data): ("quarantined", "duplicate_content")}
    row = next(r for r in env.manifest() if r[0].endswith("studies_b.csv"))
    assert row[7] is None, "a duplicate gets no raw copy"
    reason = env.quarantine.reason(row[8])
    assert reason["file"] == f"{SITE}/{DATE}/studies_b.csv"
    assert f"'{SITE}/{DATE}/studies_a.csv'" in reason["message"]
    assert env.quarantine.store.read_bytes(row[8]) == data
    assert env.stage_studies().rows_loaded == 3, "the rows load once"
    assert env.receive().unchanged == 2


def test_duplicate_content_is_per_partition_and_per_active_file(env):
    data = studies(1, 3)
    header_only = (PACS_V1_HEADER + "\n").encode()
    env.drop("studies_a.csv", data)
    env.drop("studies_a.csv", data, date=OTHER_DATE)  # another day: its own partition
    env.drop("studies_h1.csv", header_only)
    env.drop("studies_h2.csv", header_only)  # same bytes as a *quarantined* file: not a duplicate
    env.receive()
    env.receive(OTHER_DATE)
    assert env.status("studies_a.csv", OTHER_DATE) == {sha(data): ("received", None)}
    raw_paths = {r[7] for d in (DATE, OTHER_DATE) for r in env.manifest(d) if r[0].endswith("studies_a.csv")}
    assert raw_paths == {
        f"raw/{SITE}/{d}/harmony_pacs/v1/{sha(data)}_studies_a.csv" for d in (DATE, OTHER_DATE)
    }
    assert env.status("studies_h1.csv") == {sha(header_only): ("quarantined", "header_only")}
    assert env.status("studies_h2.csv") == {sha(header_only): ("quarantined", "header_only")}


# -- versions of one file -------------------------------------------------------------------------------------
def test_supersede_and_reactivate_with_restaging(env):
    v1, v2 = studies(1, 3), studies(101, 4)
    env.drop("studies_a.csv", v1)
    env.drop("studies_b.csv", studies(201, 2))  # a neighbour that must never be disturbed
    env.receive()
    assert env.stage_studies().rows_loaded == 5
    assert env.staged_uids("studies_a.csv") == uids(1, 3)

    env.drop("studies_a.csv", v2)
    summary = env.receive(run_id="run-2")
    assert (summary.received, summary.superseded, summary.unchanged, summary.quarantined) == (1, 1, 1, 0)
    assert env.status("studies_a.csv") == {sha(v1): ("superseded", "superseded"), sha(v2): ("received", None)}
    superseded = env.query("SELECT reason FROM ops.file_manifest WHERE sha256 = ?", [sha(v1)])[0][0]
    assert sha(v2)[:16] in superseded and "studies_a.csv" in superseded
    stage = env.stage_studies()
    assert (stage.files_loaded, stage.rows_loaded) == (2, 6)
    assert env.staged_uids("studies_a.csv") == uids(101, 4), "only the new version's rows"
    assert env.staged_uids("studies_b.csv") == uids(201, 2)
    assert {p for p in env.raw_files() if "studies_a" in p} == {
        f"raw/{SITE}/{DATE}/harmony_pacs/v1/{sha(v)}_studies_a.csv" for v in (v1, v2)
    }, "both versions stay in the raw zone"

    env.drop("studies_a.csv", v1)  # the old bytes again
    summary = env.receive(run_id="run-3")
    assert (summary.received, summary.superseded, summary.unchanged, summary.quarantined) == (1, 1, 1, 0)
    assert env.status("studies_a.csv") == {sha(v1): ("received", None), sha(v2): ("superseded", "superseded")}
    assert len(env.manifest()) == 3, "re-activation reuses the old row"
    assert env.stage_studies().rows_loaded == 5
    assert env.staged_uids("studies_a.csv") == uids(1, 3)
    assert env.status("studies_a.csv")[sha(v1)] == ("loaded", None)
    assert env.receive(run_id="run-4").unchanged == 2, "and then it is unchanged again"


def test_bad_new_version_keeps_the_loaded_one(env):
    good = studies(1, 3)
    env.drop("studies_a.csv", good)
    env.receive()
    env.stage_studies()
    bad = (PACS_V1_HEADER + "\n").encode()
    env.drop("studies_a.csv", bad)
    summary = env.receive()
    assert (summary.quarantined, summary.superseded) == (1, 0)
    assert env.status("studies_a.csv") == {
        sha(good): ("loaded", None),
        sha(bad): ("quarantined", "header_only"),
    }
    assert env.stage_studies().rows_loaded == 3
    assert env.staged_uids("studies_a.csv") == uids(1, 3)


def test_markers_and_partial_uploads_are_not_files(env):
    env.drop("studies_a.csv", studies(1, 2))
    for name in ("_DONE", "studies_a.csv.done", "studies_b.csv.part", "x.partial", "y.tmp", "z.filepart"):
        env.drop(name, studies(50, 1))
    summary = env.receive()
    assert (summary.files_seen, summary.received) == (1, 1)
    assert [r[0] for r in env.manifest()] == [f"{SITE}/{DATE}/studies_a.csv"]


def test_copy_of_a_reactivated_version_is_duplicate_content(env):
    v1, v2 = studies(1, 3), studies(101, 3)
    env.drop("studies_a.csv", v1)
    env.receive()
    env.drop("studies_a.csv", v2)
    env.receive()
    env.drop("studies_a.csv", v1)
    env.drop("studies_a_copy.csv", v1)
    env.receive()
    assert env.status("studies_a.csv")[sha(v1)] == ("received", None)
    assert env.status("studies_a_copy.csv") == {sha(v1): ("quarantined", "duplicate_content")}

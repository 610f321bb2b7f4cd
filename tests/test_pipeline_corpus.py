"""The whole bad-input corpus in ONE drop, through the real pipeline: receive -> stage -> dicom.

Every corpus file (tests/corpus/build.py) plus store-level cases (hidden file, nested folder, non-UTF-8
file name, zero-byte files, a symlink, an in-progress `.part`, completion markers, a byte-identical copy,
good and broken DICOM images) sits in `<drops>/<site>/<date>/`. Receive and stage run on a real DuckDB
file with real lake and quarantine folders. Each case must end quarantined (manifest + quarantine zone +
reason JSON) or row-rejected (`ops.rejected_rows`, the file's good rows staged) with its own code, while
every other file loads, and the counts reconcile: received = loaded + rejected for every file, and the
staged slice holds exactly the loaded rows.

Phases are snapshotted (plain Python data), so a test never depends on which phase ran last:
A) first receive + stage; B) the same folder again (a no-op); C) a changed file under the same name
(supersedes); D) the old bytes dropped again (re-activated). The same code path is then shown over SFTP
(symlinks are never data) and S3.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
import pytest

from medvault.platform.drops.layout import DropLayoutError, parse_drop_key
from medvault.platform.rules.models import Rules
from medvault.platform.steps.dicom import DicomSummary
from medvault.platform.steps.dicom import process as process_dicom
from medvault.platform.steps.receive import ReceiveSummary, receive
from medvault.platform.steps.stage import StageSummary, stage_table
from medvault.platform.stores.base import ObjectStore, StoreError
from medvault.platform.stores.local import LocalStore
from medvault.platform.stores.s3 import S3Store
from medvault.platform.warehouse import Warehouse, table_exists
from medvault.platform.zones import QuarantineZone, RawZone
from medvault.synth.generator import generate
from tests.corpus.build import PACS_V1_HEADER, Case, build_corpus, corpus_rules
from tests.helpers import step_context

SITE, DATE = "corpus_site", "2024-05-01"
PREFIX = f"{SITE}/{DATE}/"
STUDIES, ORDERS = ("harmony_pacs", "studies"), ("karexpert_his", "orders")


def _corpus() -> tuple[dict[str, Case], dict[str, bytes]]:
    with tempfile.TemporaryDirectory() as tmp:
        cases = build_corpus(Path(tmp))
        return {c.name: c for c in cases}, {
            c.file_name: (Path(tmp) / c.file_name).read_bytes() for c in cases
        }


CORPUS, CORPUS_BYTES = _corpus()  # case name -> Case; file name -> the bytes build_corpus writes


def studies_csv(start: int, n: int, patient: str = "PAT") -> bytes:
    """A valid PACS v1 studies file with study UIDs 1.2.826.0.1.<start..start+n-1>."""
    rows = [
        f"1.2.826.0.1.{i},{patient}{i:05d},2024-03-{(i % 28) + 1:02d},CT,Station {i % 3},2024-04-01T10:00:00Z"
        for i in range(start, start + n)
    ]
    return ("\n".join([PACS_V1_HEADER, *rows]) + "\n").encode()


# The corpus case `renamed_file` ("export (3).csv") is byte-identical to `good_v1`: in one drop that is a
# duplicate_content (tested on purpose below with `duplicate_copy`). Give it rows of its own so it still
# shows what it is for: a renamed file identified by its header alone.
RENAMED_BYTES = studies_csv(101, 5)

# Store-level cases: `file_name` is the path relative to the drop folder.
BAD_NAME = b"bad\xff.csv"  # not UTF-8: listed with a surrogate escape, recorded with U+FFFD
EXTRA = {
    c.name: c
    for c in [
        Case("hidden_file", ".secret.csv", "quarantined", "hidden_file"),
        Case("nested_folder", "sub/x.csv", "quarantined", "outside_convention"),
        Case("non_utf8_name", "bad\ufffd.csv", "quarantined", "bad_file_name"),
        Case("zero_byte_ndjson", "orders_zero.ndjson", "quarantined", "empty_file"),
        Case("zero_byte_dicom", "empty.dcm", "quarantined", "empty_file", "same sha256 as studies_zero.csv"),
        Case("duplicate_copy", "studies_good_copy.csv", "quarantined", "duplicate_content"),
        Case("dicom_good_1", "image_1.dcm", "loaded"),
        Case("dicom_good_2", "image_2.dcm", "loaded"),
        Case("dicom_missing_tag", "image_broken.dcm", "quarantined", "missing_tag"),
        Case("part_upload", "studies_upload.csv.part", "ignored"),
        Case("done_marker", "_DONE", "ignored"),
        Case("file_done_marker", "studies_good.csv.done", "ignored"),
        Case("symlink", "studies_link.csv", "ignored", note="LocalStore does not list symlinks"),
    ]
}
CASES = {**CORPUS, **EXTRA}
assert not set(CORPUS) & set(EXTRA)

# Row counts (received, loaded, rejected) from how tests/corpus/build.py writes each file.
ROWS = {
    "studies_good.csv": (5, 5, 0),
    "studies_v2.csv": (5, 5, 0),
    "studies_semicolon.csv": (4, 4, 0),
    "studies_tab.tsv": (4, 4, 0),
    "studies_pipe.csv": (4, 4, 0),
    "studies_bom.csv": (5, 5, 0),
    "studies_latin1.csv": (3, 3, 0),
    "studies_utf16.csv": (3, 3, 0),
    "studies_extra.csv": (3, 3, 0),
    "export (3).csv": (5, 5, 0),
    "studies_ragged.csv": (4, 2, 2),
    "studies_quoted.csv": (3, 3, 0),  # a quoted field spanning lines is one record
    "studies_huge.csv": (2, 2, 0),
    "studies_dates.csv": (4, 2, 2),  # 04/03/2024 is accepted
    "studies_dups.csv": (4, 3, 1),
    "studies_gz.csv.gz": (5, 5, 0),
    "studies_latecp.csv": (16001, 16001, 0),
    "orders_ok.ndjson": (4, 4, 0),
    "orders_malformed.ndjson": (5, 4, 1),
    "orders_drift.ndjson": (4, 4, 0),
    "orders_numtext.ndjson": (3, 3, 0),
    "orders_badnum.ndjson": (3, 1, 2),
    "orders_array.json": (3, 3, 0),
    "orders_gz.ndjson.gz": (4, 4, 0),
}
# Rejected rows: file -> {(row_number, column, reason_code)}.
REJECTED = {
    "studies_ragged.csv": {(2, None, "ragged_row"), (3, None, "ragged_row")},
    "studies_dates.csv": {(2, "study_date", "bad_date"), (4, "study_date", "bad_date")},
    "studies_dups.csv": {(1, "study_uid", "duplicate_key")},  # row 4 has the later LastUpdate
    "orders_malformed.ndjson": {(3, None, "malformed_json")},
    "orders_badnum.ndjson": {(2, "total", "bad_type"), (3, "total", "out_of_range")},
}
# Quarantine reasons that know where the fault is.
REASON_WHERE = {
    "studies_missing.csv": {"column": "PatientID"},
    "image_broken.dcm": {"column": "StudyInstanceUID"},
}
# Faults only loading can find: identified (raw copy kept), then quarantined while staging.
STAGE_TIME = {"studies_allragged.csv", "studies_mixedenc.csv", "image_broken.dcm"}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def dicom_files(folder: Path) -> tuple[bytes, bytes, bytes]:
    """Two generated DICOM images and a copy of the first without its StudyInstanceUID."""
    generate(folder, sites=1, days=1, seed=5)
    first, second = sorted(folder.rglob("*.dcm"))[:2]
    ds = pydicom.dcmread(first)
    del ds.StudyInstanceUID
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return first.read_bytes(), second.read_bytes(), buf.getvalue()


def build_drop(drop: Path, scratch: Path) -> dict[str, bytes]:
    """Write the corpus and the store-level cases into one drop folder; file name -> bytes written."""
    build_corpus(drop)
    (drop / "export (3).csv").write_bytes(RENAMED_BYTES)
    good = (drop / "studies_good.csv").read_bytes()
    dcm1, dcm2, broken = dicom_files(scratch / "synth")
    extra = {
        ".secret.csv": studies_csv(301, 2),
        "sub/x.csv": studies_csv(311, 2),
        "orders_zero.ndjson": b"",
        "empty.dcm": b"",
        "studies_good_copy.csv": good,
        "image_1.dcm": dcm1,
        "image_2.dcm": dcm2,
        "image_broken.dcm": broken,
        "studies_upload.csv.part": studies_csv(321, 2)[:50],
        "_DONE": b"",
        "studies_good.csv.done": b"",
    }
    for name, data in extra.items():
        (drop / name).parent.mkdir(parents=True, exist_ok=True)
        (drop / name).write_bytes(data)
    with open(os.path.join(os.fsencode(drop), BAD_NAME), "wb") as fh:
        fh.write(studies_csv(331, 2))
    outside = scratch / "outside.csv"
    outside.write_bytes(studies_csv(341, 2, patient="OUTSIDE"))
    os.symlink(outside, drop / "studies_link.csv")
    written = {c.file_name: (drop / c.file_name).read_bytes() for c in CORPUS.values()}
    written |= extra
    written["bad\ufffd.csv"] = studies_csv(331, 2)
    return written


# -- running the pipeline -------------------------------------------------------------------------------
@dataclass
class Platform:
    root: Path
    rules: Rules
    drops: ObjectStore
    raw: RawZone = field(init=False)
    quarantine: QuarantineZone = field(init=False)
    warehouse: Warehouse = field(init=False)

    def __post_init__(self):
        self.raw = RawZone(LocalStore(self.root / "lake"))
        self.quarantine = QuarantineZone(LocalStore(self.root / "quarantine"))
        self.warehouse = Warehouse(self.root / "warehouse.duckdb")

    def context(self, site: str = SITE, date: str = DATE, run_id: str | None = None):
        return step_context(
            self.root, self.rules, site, date, run_id, quarantine="quarantine", warehouse="warehouse.duckdb"
        )

    def receive(self, store_name: str = "local", site: str = SITE, date: str = DATE) -> ReceiveSummary:
        # every file here is complete; tests/test_receive_stability.py covers uploads
        return receive(self.context(site, date, "t"), self.drops, store_name, settle_seconds=0)

    def stage(
        self, tables=None, site: str = SITE, date: str = DATE
    ) -> tuple[dict[tuple[str, str], StageSummary], DicomSummary | None]:
        with self.warehouse.connect() as con:
            ctx = self.context(site, date)
            out = {
                (system, table): stage_table(ctx, con, system, table)
                for system, table in (tables or self.rules.staged_tables())
            }
            dicom = None if tables else process_dicom(ctx)
        return out, dicom

    def snapshot(self) -> Snapshot:
        with self.warehouse.connect(read_only=True) as con:
            cols = [
                "key", "sha256", "size", "status", "reason_code", "reason", "system", "version",
                "source_table", "rows_received", "rows_loaded", "rows_rejected", "raw_path",
                "quarantine_path", "received_at",
            ]  # fmt: skip
            manifest = [
                dict(zip(cols, row, strict=True))
                for row in con.execute(
                    f"SELECT {', '.join(cols)} FROM ops.file_manifest ORDER BY key, received_at"
                ).fetchall()
            ]
            rejected = con.execute(
                "SELECT key, sha256, system || '.' || source_table, row_number, \"column\", reason_code, reason "
                "FROM ops.rejected_rows ORDER BY ALL"
            ).fetchall()
            staged = {}
            for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'staging' AND table_type = 'BASE TABLE'"
            ).fetchall():
                staged[name] = con.execute(
                    f'SELECT _site, CAST(_date AS VARCHAR), _source_key, _sha256, _row_number FROM staging."{name}" '
                    "ORDER BY ALL"
                ).fetchall()
            ids = {}  # (staging table, source key) -> sorted business keys
            for table, column in (
                ("harmony_pacs__studies", "study_uid"),
                ("karexpert_his__orders", "order_id"),
            ):
                if table in staged:
                    for key, values in con.execute(
                        f'SELECT _source_key, list_sort(list("{column}")) FROM staging."{table}" GROUP BY 1'
                    ).fetchall():
                        ids[(table, key)] = list(values)
            dicom = []
            if table_exists(con, "dicom", "instances"):
                dicom = con.execute(
                    "SELECT _source_key, _sha256, sop_instance_uid, study_uid FROM dicom.instances ORDER BY ALL"
                ).fetchall()
        return Snapshot(manifest, rejected, staged, ids, dicom)


@dataclass
class Snapshot:
    manifest: list[dict]
    rejected: list[tuple]
    staged: dict[str, list[tuple]]
    ids: dict[tuple[str, str], list[str]]
    dicom: list[tuple]

    def current(self) -> dict[str, dict]:
        """The last-received manifest row per key (one row per key unless a file was replaced)."""
        return {m["key"]: m for m in self.manifest}

    def rows(self, key: str) -> list[dict]:
        return [m for m in self.manifest if m["key"] == key]


@dataclass
class CorpusRun:
    platform: Platform
    files: dict[str, bytes]
    received: ReceiveSummary
    staged: dict[tuple[str, str], StageSummary]
    dicom: DicomSummary
    snap: Snapshot


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory) -> CorpusRun:
    root = tmp_path_factory.mktemp("corpus_pipeline")
    drop = root / "drops" / SITE / DATE
    files = build_drop(drop, root / "scratch")
    platform = Platform(root, corpus_rules(), LocalStore(root / "drops"))
    received = platform.receive()
    staged, dicom = platform.stage()
    return CorpusRun(platform, files, received, staged, dicom, platform.snapshot())


@pytest.fixture(scope="module")
def rerun(corpus_run):
    """Phase B: the same folder again, receive and stage."""
    received = corpus_run.platform.receive()
    staged, dicom = corpus_run.platform.stage()
    return received, staged, dicom, corpus_run.platform.snapshot()


def orders_ndjson(start: int, n: int) -> bytes:
    """Valid HIS orders, one line each, with one item per order."""
    docs = [
        {
            "_id": {"$oid": f"{i:024x}"},
            "patientId": f"PAT{i:05d}",
            "total": 5.5,
            "items": [{"code": "VF", "qty": 1}],
        }
        for i in range(start, start + n)
    ]
    return "".join(json.dumps(d) + "\n" for d in docs).encode()


NEW_ORDERS = orders_ndjson(900, 6)


@pytest.fixture(scope="module")
def replaced(rerun, corpus_run):
    """Phase C: orders_ok.ndjson changed under the same name; phase D: its old bytes dropped again."""
    platform = corpus_run.platform
    path = platform.root / "drops" / SITE / DATE / "orders_ok.ndjson"
    old = path.read_bytes()
    path.write_bytes(NEW_ORDERS)
    received_c = platform.receive()
    staged_c, _ = platform.stage([ORDERS])
    snap_c = platform.snapshot()
    path.write_bytes(old)
    received_d = platform.receive()
    staged_d, _ = platform.stage([ORDERS])
    snap_d = platform.snapshot()
    return received_c, staged_c[ORDERS], snap_c, received_d, staged_d[ORDERS], snap_d


def listed(case: Case) -> bool:
    return case.expect != "ignored"


# -- phase A: every case ---------------------------------------------------------------------------------
def test_corpus_covers_the_issue():
    issue = {
        "zero_byte", "empty_whitespace", "header_only", "wrong_delimiter_colon", "utf8_bom", "latin1", "utf16",
        "missing_required", "extra_column", "unknown_system", "ragged_rows", "quoted_newlines", "huge_field",
        "bad_dates", "duplicate_keys", "truncated_gz", "hidden_file", "symlink", "non_utf8_name",
        "nested_folder", "duplicate_copy", "part_upload",
    }  # fmt: skip
    assert issue <= set(CASES)
    bad = [c for c in CASES.values() if c.expect in ("quarantined", "row_rejected")]
    assert len(bad) >= 20, len(bad)


def test_every_listed_file_is_accounted_for_once(corpus_run):
    manifest = corpus_run.snap.current()
    expected_keys = {PREFIX + c.file_name for c in CASES.values() if listed(c)}
    assert set(manifest) == expected_keys
    assert len(corpus_run.snap.manifest) == len(expected_keys), "one manifest row per file"
    r = corpus_run.received
    assert r.files_seen == len(expected_keys)
    assert r.received + r.quarantined == r.files_seen and r.unchanged == 0 and r.superseded == 0
    receive_time = Counter(
        c.code for c in CASES.values() if c.expect == "quarantined" and c.file_name not in STAGE_TIME
    )
    assert r.reasons == receive_time
    assert r.quarantined == sum(receive_time.values())
    assert r.by_table == Counter(
        f"{m['system']}.{m['source_table']}" for m in manifest.values() if m["raw_path"] is not None
    )


@pytest.mark.parametrize("case_name", sorted(CASES))
def test_case_outcome(corpus_run, case_name):
    case = CASES[case_name]
    snap, platform = corpus_run.snap, corpus_run.platform
    key = PREFIX + case.file_name
    entry = snap.current().get(key)
    if case.expect == "ignored":
        assert entry is None
        assert not any(m["key"].startswith(PREFIX + case.file_name) for m in snap.manifest)
        return
    data = corpus_run.files[case.file_name]
    assert entry["sha256"] == sha256(data) and entry["size"] == len(data)
    file_rejects = {(r[3], r[4], r[5]) for r in snap.rejected if r[0] == key}
    if case.expect == "quarantined":
        assert (entry["status"], entry["reason_code"]) == ("quarantined", case.code), entry
        assert entry["rows_loaded"] is None
        assert not file_rejects
        assert all(r[2] != key for rows in snap.staged.values() for r in rows)
        # The quarantine zone holds the very bytes and a reason naming the file.
        qkey = entry["quarantine_path"]
        assert qkey.startswith(PREFIX) and qkey.split("/")[-1].startswith(entry["sha256"][:16] + "_")
        assert platform.quarantine.store.read_bytes(qkey) == data
        reason = platform.quarantine.reason(qkey)
        assert reason["code"] == case.code and reason["file"] == key
        assert reason["message"] == entry["reason"] and reason["message"]
        assert {k: reason.get(k) for k in REASON_WHERE.get(case.file_name, {})} == REASON_WHERE.get(
            case.file_name, {}
        )
        if case.file_name in STAGE_TIME:  # identified and kept in the raw zone before loading failed
            assert entry["system"] is not None and entry["raw_path"] is not None
            assert platform.raw.store.read_bytes(entry["raw_path"]) == data
        else:
            assert entry["raw_path"] is None
        return

    assert entry["status"] == "loaded", entry
    assert entry["reason_code"] is None and entry["quarantine_path"] is None
    assert platform.raw.store.read_bytes(entry["raw_path"]) == data
    if entry["system"] == "dicom":
        assert (entry["rows_received"], entry["rows_loaded"], entry["rows_rejected"]) == (1, 1, 0)
        assert [d for d in snap.dicom if d[0] == key][0][1] == entry["sha256"]
        return
    counts = (entry["rows_received"], entry["rows_loaded"], entry["rows_rejected"])
    assert counts == ROWS[case.file_name]
    staged = [r for r in snap.staged[f"{entry['system']}__{entry['source_table']}"] if r[2] == key]
    assert len(staged) == entry["rows_loaded"] > 0
    assert {r[3] for r in staged} == {entry["sha256"]}
    if case.expect == "row_rejected":
        assert case.code in {code for _, _, code in file_rejects}
        assert file_rejects == REJECTED[case.file_name]
        assert not {n for n, _, _ in file_rejects} & {r[4] for r in staged}, "a rejected row is not staged"
    else:
        assert file_rejects == set()
        assert entry["rows_rejected"] == 0


def test_counts_reconcile(corpus_run):
    snap = corpus_run.snap
    tabular = [m for m in snap.manifest if m["status"] == "loaded" and m["system"] != "dicom"]
    assert len(tabular) == len(ROWS)
    for m in tabular:
        assert m["rows_received"] == m["rows_loaded"] + m["rows_rejected"], m["key"]
        distinct_rejected = {r[3] for r in snap.rejected if r[0] == m["key"] and r[1] == m["sha256"]}
        assert len(distinct_rejected) == m["rows_rejected"], m["key"]
    for system, table in corpus_run.platform.rules.staged_tables():
        files = [m for m in tabular if (m["system"], m["source_table"]) == (system, table)]
        slice_rows = [r for r in snap.staged[f"{system}__{table}"] if r[:2] == (SITE, DATE)]
        assert len(slice_rows) == sum(m["rows_loaded"] for m in files)
        summary = corpus_run.staged[(system, table)]
        assert summary.files_loaded == len(files)
        assert summary.rows_received == summary.rows_loaded + summary.rows_rejected
        assert summary.rows_loaded == len(slice_rows)
        assert summary.rows_rejected == sum(m["rows_rejected"] for m in files)
    assert corpus_run.staged[STUDIES].files_quarantined == 2  # all ragged, mixed encoding
    assert corpus_run.staged[ORDERS].files_quarantined == 0
    # Child rows of the loaded orders, each pointing at a staged parent of the same file.
    children = snap.staged["karexpert_his__order_items"]
    assert len(children) == corpus_run.staged[ORDERS].children["order_items"] > 0
    parents = {(r[2], r[4]) for r in snap.staged["karexpert_his__orders"]}
    assert {(r[2], r[4]) for r in children} <= parents


def test_dicom_images(corpus_run):
    snap = corpus_run.snap
    ds = pydicom.dcmread(io.BytesIO(corpus_run.files["image_1.dcm"]))
    assert len(snap.dicom) == 2 == corpus_run.dicom.loaded
    assert corpus_run.dicom.quarantined == 1
    row = next(d for d in snap.dicom if d[0] == PREFIX + "image_1.dcm")
    assert row[2:] == (ds.SOPInstanceUID, ds.StudyInstanceUID)


def test_good_files_load_whatever_else_is_in_the_drop(corpus_run):
    """Every good corpus file loads next to the bad ones; nothing escaped as an exception (fixture ran)."""
    manifest = corpus_run.snap.current()
    good = [c for c in CASES.values() if c.expect == "loaded"]
    assert len(good) >= 15
    assert all(manifest[PREFIX + c.file_name]["status"] == "loaded" for c in good)
    staged = {r[2] for rows in corpus_run.snap.staged.values() for r in rows}
    assert {PREFIX + c.file_name for c in good if not c.file_name.endswith(".dcm")} <= staged
    # The renamed file was identified by its header alone and loaded its own rows.
    assert corpus_run.snap.ids[("harmony_pacs__studies", PREFIX + "export (3).csv")] == [
        f"1.2.826.0.1.{i}" for i in range(101, 106)
    ]


def test_symlink_and_partial_are_never_read(corpus_run):
    snap = corpus_run.snap
    outside = sha256(studies_csv(341, 2, patient="OUTSIDE"))
    assert outside not in {m["sha256"] for m in snap.manifest}
    lake = corpus_run.platform.root / "lake"
    assert not [p for p in lake.rglob("*") if p.name.startswith(outside)]
    assert all(r[2] != PREFIX + "studies_upload.csv.part" for rows in snap.staged.values() for r in rows)


def test_duplicate_names_its_twin(corpus_run):
    entry = corpus_run.snap.current()[PREFIX + "studies_good_copy.csv"]
    assert f"'{PREFIX}studies_good.csv'" in entry["reason"]
    assert corpus_run.snap.current()[PREFIX + "studies_good.csv"]["status"] == "loaded"


def test_zero_byte_files_are_each_empty_not_duplicates(corpus_run):
    manifest = corpus_run.snap.current()
    zero = [m for m in manifest.values() if m["size"] == 0]
    assert {m["key"].removeprefix(PREFIX) for m in zero} == {
        "studies_zero.csv",
        "orders_zero.ndjson",
        "empty.dcm",
    }
    assert {m["reason_code"] for m in zero} == {"empty_file"}


# -- unsafe keys ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "key, code",
    [
        (f"{PREFIX}../escape.csv", "unsafe_path"),
        (f"{SITE}/../{DATE}/x.csv", "unsafe_path"),
        (f"/{PREFIX}x.csv", "unsafe_path"),
        (f"{PREFIX}./x.csv", "unsafe_path"),
        (f"{PREFIX}sub/x.csv", "outside_convention"),
        (f"{PREFIX}.x.csv", "hidden_file"),
        (f"Corpus/{DATE}/x.csv", "bad_site"),
        (f"{SITE}/2024-02-30/x.csv", "bad_date_folder"),
    ],
)
def test_parse_drop_key_refuses(key, code):
    with pytest.raises(DropLayoutError) as err:
        parse_drop_key(key)
    assert err.value.code == code and repr(key) in str(err.value)


def test_local_store_refuses_keys_outside_its_root(tmp_path):
    (tmp_path / "secret.csv").write_bytes(b"secret")
    store = LocalStore(tmp_path / "drops")
    (tmp_path / "drops").mkdir()
    for key in ("../secret.csv", f"{PREFIX}../../../secret.csv", "a/../../secret.csv"):
        for op in (
            store.read_bytes,
            store.local_path,
            store.stat,
            lambda k: store.read_range(k, 0, 10),
            lambda k: store.download(k, tmp_path / "out.csv"),
        ):
            with pytest.raises(StoreError, match="escapes the store root"):
                op(key)
        with pytest.raises(StoreError, match="escapes the store root"):
            store.upload(tmp_path / "secret.csv", key)
    assert not (tmp_path / "out.csv").exists()
    # `..` that stays inside the root is normalised, never a way out.
    assert store.stat("a/../missing.csv") is None


def test_local_store_never_reads_through_a_symlink(tmp_path):
    (tmp_path / "outside.csv").write_bytes(b"outside the root")
    (tmp_path / "drops" / SITE / DATE).mkdir(parents=True)
    os.symlink(tmp_path / "outside.csv", tmp_path / "drops" / SITE / DATE / "link.csv")
    store = LocalStore(tmp_path / "drops")
    key = PREFIX + "link.csv"
    assert store.stat(key) is None and list(store.list_objects(SITE)) == []

    def refused(op) -> bool:
        try:
            op()
        except StoreError:
            return True
        return False

    assert refused(lambda: store.read_range(key, 0, 100)), "read_range read the link's target"
    assert refused(lambda: store.download(key, tmp_path / "copy.csv")), "download copied the link's target"


# -- phase B: the same folder again ------------------------------------------------------------------------
def _stable(snap: Snapshot):
    return snap.manifest, snap.rejected, snap.staged, snap.dicom


def test_rerun_is_a_noop(corpus_run, rerun):
    received, staged, dicom, snap = rerun
    first = corpus_run.received
    assert received.files_seen == first.files_seen
    assert received.unchanged == first.files_seen
    assert (received.received, received.quarantined, received.superseded) == (0, 0, 0)
    assert _stable(snap) == _stable(corpus_run.snap), "restaging reproduces the same slice and manifest"
    assert {k: s.rows_loaded for k, s in staged.items()} == {
        k: s.rows_loaded for k, s in corpus_run.staged.items()
    }
    assert dicom.loaded == corpus_run.dicom.loaded and dicom.quarantined == 0  # already quarantined


# -- phases C and D: a changed file, then the old bytes again ------------------------------------------------
def test_changed_file_supersedes_then_old_bytes_reactivate(corpus_run, replaced):
    received_c, stage_c, snap_c, received_d, stage_d, snap_d = replaced
    snap_a = corpus_run.snap
    key = PREFIX + "orders_ok.ndjson"
    old_sha, new_sha = sha256(corpus_run.files["orders_ok.ndjson"]), sha256(NEW_ORDERS)
    parents, children = "karexpert_his__orders", "karexpert_his__order_items"

    # C: the new version is received and loaded, the old one superseded; the slice holds only the new
    # version's rows and child rows, the other files' rows are untouched.
    assert (received_c.received, received_c.superseded, received_c.quarantined) == (1, 1, 0)
    assert received_c.unchanged == received_c.files_seen - 1
    versions = {m["sha256"]: m for m in snap_c.rows(key)}
    assert set(versions) == {old_sha, new_sha}
    assert (versions[old_sha]["status"], versions[old_sha]["reason_code"]) == ("superseded", "superseded")
    assert (versions[new_sha]["status"], versions[new_sha]["rows_loaded"]) == ("loaded", 6)
    assert snap_c.ids[(parents, key)] == [f"{i:024x}" for i in range(900, 906)]
    for table, n in ((parents, 6), (children, 6)):
        assert {r[3] for r in snap_c.staged[table] if r[2] == key} == {new_sha}
        assert len([r for r in snap_c.staged[table] if r[2] == key]) == n
        others_a = [r for r in snap_a.staged[table] if r[2] != key]
        assert [r for r in snap_c.staged[table] if r[2] != key] == others_a
    assert stage_c.rows_loaded == corpus_run.staged[ORDERS].rows_loaded - 4 + 6
    assert len(snap_c.manifest) == len(snap_a.manifest) + 1

    # D: the old bytes again re-activate the old version; the slice is back to phase A.
    assert (received_d.received, received_d.superseded, received_d.quarantined) == (1, 1, 0)
    versions = {m["sha256"]: m for m in snap_d.rows(key)}
    assert (versions[old_sha]["status"], versions[old_sha]["rows_loaded"]) == ("loaded", 4)
    assert versions[new_sha]["status"] == "superseded"
    assert len(snap_d.manifest) == len(snap_c.manifest), "re-activation adds no manifest row"
    assert snap_d.staged == snap_a.staged
    assert snap_d.ids == snap_a.ids
    assert snap_d.rejected == snap_a.rejected
    assert stage_d.rows_loaded == corpus_run.staged[ORDERS].rows_loaded


# -- messages name the dropped file ----------------------------------------------------------------------------
def test_stage_time_fault_message_names_the_dropped_file(corpus_run):
    entry = corpus_run.snap.current()[PREFIX + "studies_allragged.csv"]
    assert entry["reason"].startswith("studies_allragged.csv:"), entry["reason"]
    assert entry["sha256"] not in entry["reason"]


def test_dicom_fault_message_names_the_dropped_file(corpus_run):
    entry = corpus_run.snap.current()[PREFIX + "image_broken.dcm"]
    assert str(corpus_run.platform.root) not in entry["reason"], entry["reason"]
    assert entry["reason"].startswith("image_broken.dcm:"), entry["reason"]


# -- the same code path over SFTP and S3 -----------------------------------------------------------------------
@pytest.mark.network
def test_sftp_drop_symlinks_are_not_data(sftp_server, sftp_root, tmp_path):
    drop = sftp_root / SITE / DATE
    drop.mkdir(parents=True)
    good = {
        "studies_good.csv": CORPUS_BYTES["studies_good.csv"],
        "orders_ok.ndjson": CORPUS_BYTES["orders_ok.ndjson"],
    }
    for name, data in good.items():
        (drop / name).write_bytes(data)
    (drop / ".hidden.csv").write_bytes(studies_csv(401, 2))
    outside = tmp_path / "outside.csv"  # outside the served root: would load if it were ever read
    outside.write_bytes(studies_csv(411, 3, patient="OUTSIDE"))
    os.symlink(outside, drop / "studies_outside.csv")
    os.symlink(drop / "studies_good.csv", drop / "studies_inside.csv")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "studies_deep.csv").write_bytes(studies_csv(421, 2, patient="OUTSIDE"))
    os.symlink(tmp_path / "elsewhere", drop / "linked_folder")

    with sftp_server.store(sftp_root) as store:
        listed_keys = sorted(o.key for o in store.list_objects(f"{SITE}/{DATE}"))
        assert listed_keys == [
            PREFIX + ".hidden.csv",
            PREFIX + "orders_ok.ndjson",
            PREFIX + "studies_good.csv",
        ]
        for link in ("studies_outside.csv", "studies_inside.csv"):
            assert store.stat(PREFIX + link) is None
            with pytest.raises(StoreError):
                store.read_bytes(PREFIX + link)
            with pytest.raises(StoreError, match="symlink"):
                store.download(PREFIX + link, tmp_path / "copy.csv")
        platform = Platform(tmp_path / "platform", corpus_rules(), store)
        received = platform.receive("sftp")
    staged, _ = platform.stage()
    snap = platform.snapshot()
    manifest = snap.current()
    assert set(manifest) == set(listed_keys)
    assert (received.files_seen, received.received, received.quarantined) == (3, 2, 1)
    assert manifest[PREFIX + ".hidden.csv"]["reason_code"] == "hidden_file"
    assert platform.quarantine.store.read_bytes(manifest[PREFIX + ".hidden.csv"]["quarantine_path"]) == (
        studies_csv(401, 2)
    )
    for name, data in good.items():
        entry = manifest[PREFIX + name]
        assert entry["status"] == "loaded" and entry["sha256"] == sha256(data)
        assert platform.raw.store.read_bytes(entry["raw_path"]) == data
    assert staged[STUDIES].rows_loaded == 5 and staged[ORDERS].rows_loaded == 4
    assert sha256(outside.read_bytes()) not in {m["sha256"] for m in snap.manifest}
    assert len(snap.staged["harmony_pacs__studies"]) == 5, "no row of a link target was staged"


@pytest.mark.network
def test_s3_drop_same_outcomes(s3_bucket, tmp_path):
    client, bucket = s3_bucket
    files = {
        "studies_good.csv": CORPUS_BYTES["studies_good.csv"],
        "studies_ragged.csv": CORPUS_BYTES["studies_ragged.csv"],
        "studies_trunc.csv.gz": CORPUS_BYTES["studies_trunc.csv.gz"],
        "studies_header.csv": CORPUS_BYTES["studies_header.csv"],
        "orders_malformed.ndjson": CORPUS_BYTES["orders_malformed.ndjson"],
        ".secret.csv": studies_csv(501, 2),
        "studies_upload.csv.part": b"partial",
    }
    for name, data in files.items():
        client.put_object(Bucket=bucket, Key=PREFIX + name, Body=data)
    platform = Platform(tmp_path, corpus_rules(), S3Store(client, bucket))
    received = platform.receive("s3")
    staged, _ = platform.stage()
    manifest = platform.snapshot().current()
    assert received.files_seen == 6
    outcome = {k.removeprefix(PREFIX): (m["status"], m["reason_code"]) for k, m in manifest.items()}
    assert outcome == {
        "studies_good.csv": ("loaded", None),
        "studies_ragged.csv": ("loaded", None),
        "orders_malformed.ndjson": ("loaded", None),
        "studies_trunc.csv.gz": ("quarantined", "truncated_archive"),
        "studies_header.csv": ("quarantined", "header_only"),
        ".secret.csv": ("quarantined", "hidden_file"),
    }
    for name in ("studies_trunc.csv.gz", "studies_header.csv", ".secret.csv"):
        qkey = manifest[PREFIX + name]["quarantine_path"]
        assert platform.quarantine.store.read_bytes(qkey) == files[name]
        assert platform.quarantine.reason(qkey)["file"] == PREFIX + name
    assert (staged[STUDIES].rows_received, staged[STUDIES].rows_loaded, staged[STUDIES].rows_rejected) == (
        9,
        7,
        2,
    )
    assert (staged[ORDERS].rows_received, staged[ORDERS].rows_loaded, staged[ORDERS].rows_rejected) == (
        5,
        4,
        1,
    )
    assert staged[STUDIES].reject_reasons == {"ragged_row": 2}
    assert staged[ORDERS].reject_reasons == {"malformed_json": 1}


@pytest.mark.network
def test_s3_key_with_dotdot_is_quarantined_and_the_rest_loads(s3_bucket, tmp_path):
    client, bucket = s3_bucket
    client.put_object(Bucket=bucket, Key=PREFIX + "studies_good.csv", Body=CORPUS_BYTES["studies_good.csv"])
    client.put_object(Bucket=bucket, Key=PREFIX + "../escape.csv", Body=studies_csv(601, 2))
    listed_keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert PREFIX + "../escape.csv" in listed_keys  # S3 keeps the key as written
    platform = Platform(tmp_path, corpus_rules(), S3Store(client, bucket))
    platform.receive("s3")
    manifest = platform.snapshot().current()
    assert manifest[PREFIX + "studies_good.csv"]["status"] == "received"
    assert manifest[PREFIX + "../escape.csv"]["reason_code"] == "unsafe_path"


@pytest.mark.network
def test_sftp_backslash_name_does_not_stop_the_drop(sftp_server, sftp_root, tmp_path):
    drop = sftp_root / SITE / DATE
    drop.mkdir(parents=True)
    (drop / "a\\b.csv").write_bytes(studies_csv(701, 2))
    (drop / "studies_good.csv").write_bytes(CORPUS_BYTES["studies_good.csv"])
    with sftp_server.store(sftp_root) as store:
        platform = Platform(tmp_path, corpus_rules(), store)
        platform.receive("sftp")
    manifest = platform.snapshot().current()
    assert manifest[PREFIX + "studies_good.csv"]["status"] == "received"
    assert PREFIX + "a\\b.csv" in manifest


@pytest.mark.network
def test_sftp_non_utf8_name_is_quarantined_and_the_rest_loads(sftp_server, sftp_root, tmp_path):
    drop = sftp_root / SITE / DATE
    drop.mkdir(parents=True)
    (drop / "studies_good.csv").write_bytes(CORPUS_BYTES["studies_good.csv"])
    with open(os.path.join(os.fsencode(drop), BAD_NAME), "wb") as fh:
        fh.write(studies_csv(801, 2))
    with sftp_server.store(sftp_root) as store:
        platform = Platform(tmp_path, corpus_rules(), store)
        platform.receive("sftp")
    manifest = platform.snapshot().current()
    assert manifest[PREFIX + "studies_good.csv"]["status"] == "received"
    assert manifest[PREFIX + "bad\ufffd.csv"]["reason_code"] == "bad_file_name"

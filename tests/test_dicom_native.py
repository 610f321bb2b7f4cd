"""The native walker (the C extension `_walk`, native.py) against the pure-Python one (walk.py, fast.py):
it is built here, it is the one read_header uses, it gives identical rows, and no bytes crash it.

test_dicom_fast.py runs every comparison with pydicom on both walkers; this file compares the two
walkers with each other, down to their elements and exceptions. The fuzz tests feed random, truncated and
damaged bytes to both; they run in a child pytest (test_garbage_never_crashes_the_native_walker), so that
a crash of the C code fails one test with its signal instead of killing the whole run.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import tempfile
from datetime import date
from io import BytesIO
from pathlib import Path

import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.data import get_testdata_file, get_testdata_files
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ImplicitVRLittleEndian

from medvault.platform.dicom import extract, fast, header, native, walk
from medvault.platform.dicom.header import DicomFault, read_header, read_header_ranged
from medvault.synth.dicom_files import dicom_bytes
from medvault.synth.pacs import PacsSite
from medvault.synth.people import PatientPool
from medvault.synth.sites import site_spec

pytestmark = pytest.mark.filterwarnings("ignore")  # pydicom warns on the odd files it is fed here

FUZZ_CHILD = "_MEDVAULT_DICOM_FUZZ_CHILD"  # set by the parent test for the child pytest
fuzz = pytest.mark.skipif(not os.environ.get(FUZZ_CHILD), reason="runs in a child pytest (see below)")
# without the extension only test_native_walker_is_built_and_used fails: it says why
needs_native = pytest.mark.skipif(not native.LOADED, reason="the native walker was not built")
BUNDLED = sorted(Path(f) for f in get_testdata_files() if os.path.isfile(f))


def outcome(call):
    """('ok', value) | ('fault', code, message, tag) | (exception class name, args)."""
    try:
        return ("ok", call())
    except DicomFault as fault:
        return ("fault", fault.code, fault.message, fault.tag)
    except Exception as exc:
        return (type(exc).__name__, exc.args)


def category(result):
    """Fallback and walk.Unsupported both send a file to pydicom."""
    return ("fallback",) if result[0] in ("Fallback", "Unsupported") else result


class Reader:
    def __init__(self, data: bytes):
        self.data = data

    def __call__(self, offset: int, length: int) -> bytes:
        return self.data[offset : offset + length]


def both_reads(data: bytes, check_pixels: bool, first_read: int = fast.FIRST_READ):
    """(native, python) outcomes of read_fast on the same bytes."""
    return tuple(
        category(
            outcome(
                lambda f=f: f(
                    Reader(data), len(data), "f.dcm", check_pixels=check_pixels, first_read=first_read
                )[0]
            )
        )
        for f in (native.read_native, fast.read_fast)
    )


def _generated(tmp: Path) -> list[Path]:
    """Synthetic instances as the demo writes them, each as explicit VR, implicit VR and latin-1."""
    out = []
    for index in range(3):
        site = site_spec(index)
        pacs = PacsSite(5, site, PatientPool(5, site, date(2026, 1, 1)))
        for i, spec in enumerate(pacs.day(0, date(2026, 1, 1)).dicoms[:6]):
            data = dicom_bytes(spec)
            (tmp / f"e{index}_{i}.dcm").write_bytes(data)
            ds = pydicom.dcmread(BytesIO(data))
            ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
            ds.save_as(tmp / f"i{index}_{i}.dcm", enforce_file_format=True)
            ds = pydicom.dcmread(BytesIO(data))
            ds.SpecificCharacterSet = "ISO_IR 100"
            ds.save_as(tmp / f"l{index}_{i}.dcm", enforce_file_format=True)
            out += [tmp / f"e{index}_{i}.dcm", tmp / f"i{index}_{i}.dcm", tmp / f"l{index}_{i}.dcm"]
    return out


def _nested(implicit: bool) -> bytes:
    """A file with undefined-length sequences, nested, before the extracted tags."""

    def item(level: int) -> Dataset:
        inner = Dataset()
        inner.CodeValue, inner.CodingSchemeDesignator, inner.CodeMeaning = f"C{level}", "DCM", "Modality OP"
        if level < 3:
            inner.ConceptCodeSequence = Sequence([item(level + 1), item(level + 1)])
            inner["ConceptCodeSequence"].is_undefined_length = True
        inner.is_undefined_length_sequence_item = level % 2 == 1
        return inner

    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm", download=False))
    if implicit:
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    ds.ProcedureCodeSequence = Sequence([item(1), item(2)])
    ds["ProcedureCodeSequence"].is_undefined_length = True
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


# (a) built, and used


def test_native_walker_is_built_and_used(tmp_path, monkeypatch):
    """`make install` builds the extension (pip install -e): CI fails here if it stopped doing so."""
    assert native.LOADED and native.ENABLED, "medvault/platform/dicom/_walk.c was not built"
    assert Path(native._walk.__file__).parent == Path(native.__file__).parent
    path = tmp_path / "ct.dcm"
    path.write_bytes(_nested(False))

    def no_python(*args, **kwargs):
        raise AssertionError("the pure-Python walker was used")

    monkeypatch.setattr(fast, "read_fast", no_python)
    assert read_header(path, check_pixels=True).modality == "CT"
    assert read_header_ranged(Reader(path.read_bytes()), path.stat().st_size, "ct.dcm").modality == "CT"


def test_without_the_extension_the_pure_walker_reads(tmp_path, monkeypatch):
    """What an install without a compiler does: native.ENABLED is False and nothing else changes."""
    monkeypatch.setattr(native, "ENABLED", False)
    path = tmp_path / "ct.dcm"
    path.write_bytes(_nested(True))
    assert read_header(path, check_pixels=True).modality == "CT"


# (b) identical rows


@needs_native
def test_both_walkers_give_identical_rows(tmp_path, monkeypatch):
    files = [*BUNDLED, *_generated(tmp_path)]
    for name, data in (("nested_e.dcm", _nested(False)), ("nested_i.dcm", _nested(True))):
        (tmp_path / name).write_bytes(data)
        files.append(tmp_path / name)
    fast_files = 0
    for path in files:
        data = path.read_bytes()
        for check_pixels in (False, True):
            rows = []
            for enabled in (True, False):
                monkeypatch.setattr(native, "ENABLED", enabled)
                rows.append(
                    (
                        outcome(lambda p=path, c=check_pixels: read_header(p, check_pixels=c, name="f.dcm")),
                        outcome(
                            lambda d=data, c=check_pixels: read_header_ranged(
                                Reader(d), len(d), "f.dcm", check_pixels=c
                            )
                        ),
                    )
                )
            assert rows[0] == rows[1], (path.name, check_pixels)
            mine, theirs = both_reads(data, check_pixels, header.LOCAL_FIRST_READ)
            assert mine == theirs, (path.name, check_pixels)
            fast_files += mine[0] != "fallback"
    assert fast_files >= 2 * (161 + 54), fast_files  # pydicom 3.0.2's 161 bundled files the fast path reads
    # and a whole batch, as the platform extracts it (a forked pool on every core, and a loop)
    items = [(f"sha{i}", f"site/2026-01-01/{p.name}", p) for i, p in enumerate(files)]
    monkeypatch.setattr(native, "ENABLED", True)
    native_df, native_faults = extract.extract_rows(items, threshold=0, workers=2)
    monkeypatch.setattr(native, "ENABLED", False)
    python_df, python_faults = extract.extract_rows(items, threshold=10**9)
    assert native_df.equals(python_df) and len(native_df) > 200
    assert [(s, f.code, f.message) for s, _, f in native_faults] == [
        (s, f.code, f.message) for s, _, f in python_faults
    ]


@needs_native
def test_reads_are_the_same_too():
    """The C walker reads what the Python one reads: one 64 KB read over a store for a common file."""
    data = _nested(False)
    for check_pixels in (False, True):
        counts = [
            f(Reader(data), len(data), "f", check_pixels=check_pixels)[1]
            for f in (native.read_native, fast.read_fast)
        ]
        assert counts[0] == counts[1] and counts[0].reads == 1


@needs_native
def test_local_files_are_read_through_a_descriptor_and_a_path(tmp_path):
    path = tmp_path / "ct.dcm"
    path.write_bytes(_nested(False))
    fd = os.open(path, os.O_RDONLY)
    try:
        by_fd = native.read_native(fd, path.stat().st_size, "ct.dcm", check_pixels=True)[0]
    finally:
        os.close(fd)
    by_path = native.read_native(path, -1, "ct.dcm", check_pixels=True)[0]
    assert by_fd == by_path == header._read_with_pydicom(path, check_pixels=True, name="ct.dcm")
    with pytest.raises(OSError):
        native.read_native(tmp_path / "absent.dcm", -1, "absent.dcm", check_pixels=False)
    with pytest.raises(fast.Fallback):  # a folder is not a regular file: header.read_header asks pydicom
        native.read_native(tmp_path, -1, "folder", check_pixels=False)
    assert outcome(lambda: read_header(tmp_path / "absent.dcm"))[1] == "unreadable"


# (c) the walker itself: elements and the File Meta group, as walk.py gives them


def _walks(data: bytes, offset: int, explicit: bool, stop_tag: int, wanted) -> tuple:
    return tuple(
        outcome(lambda f=f: f(data, offset, explicit=explicit, stop_tag=stop_tag, wanted=wanted))
        for f in (native.scan, walk.scan)
    )


def _metas(data: bytes) -> tuple:
    return outcome(lambda: native.meta(data)), outcome(lambda: walk.parse_preamble_and_meta(data))


@needs_native
@pytest.mark.parametrize("path", BUNDLED[::3] + [BUNDLED[-1]], ids=lambda p: p.name)
def test_elements_and_meta_agree_on_bundled_files(path):
    data = path.read_bytes()
    mine, theirs = _metas(data)
    assert mine == theirs
    offset = theirs[1].dataset_offset if theirs[0] == "ok" else 0
    for explicit in (True, False):
        for stop_tag in (walk.PIXEL_DATA, 0x7FE00008, 0x000A0000, 0xFFFFFFFF):
            for wanted in (None, fast._WANTED):
                mine, theirs = _walks(data, offset, explicit, stop_tag, wanted)
                assert mine == theirs, (explicit, hex(stop_tag), wanted is None)


@needs_native
def test_walker_refuses_what_walk_py_refuses():
    data = _nested(False)
    meta = walk.parse_preamble_and_meta(data)
    assert _metas(data[:140])[0] == _metas(data[:140])[1] and _metas(data[:140])[0][0] == "NeedMore"
    assert _metas(b"\x00" * 200)[0] == ("NotDicom", ())
    bad = bytearray(data)
    bad[meta.dataset_offset + 4 : meta.dataset_offset + 6] = b"ZZ"  # an unknown VR
    mine, theirs = _walks(bytes(bad), meta.dataset_offset, True, walk.PIXEL_DATA, None)
    assert mine == theirs and mine[0] == "Unsupported"
    with pytest.raises(TypeError):
        native.scan(data, meta.dataset_offset, explicit=True, wanted={0x00080018: 0x00080018})
    deep = bytearray(128) + b"DICM" + data[132 : meta.dataset_offset]
    deep += struct.pack("<HH2s2xL", 0x0008, 0x1032, b"SQ", 0xFFFFFFFF)
    deep += (
        struct.pack("<HHL", 0xFFFE, 0xE000, 0xFFFFFFFF)
        + struct.pack("<HH2s2xL", 0x0008, 0x1032, b"SQ", 0xFFFFFFFF)
    ) * 40
    mine, theirs = _walks(bytes(deep), meta.dataset_offset, True, walk.PIXEL_DATA, None)
    assert mine == theirs == ("Unsupported", ("sequences nested too deep",))


# (d) garbage: random, truncated and damaged bytes, in a child pytest


@needs_native
def test_garbage_never_crashes_the_native_walker():
    """Runs the fuzz tests below in a child pytest: a crash there is a signal here, not a dead run."""
    env = {**os.environ, FUZZ_CHILD: "1"}
    child = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "fuzz_", __file__],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert child.returncode >= 0, (
        f"the child pytest died of signal {-child.returncode}:\n{child.stdout[-3000:]}"
    )
    assert child.returncode == 0, child.stdout[-5000:] + child.stderr[-2000:]
    assert " passed" in child.stdout and " failed" not in child.stdout


SEEDS = [_nested(False), _nested(True)] + [
    Path(get_testdata_file(n, download=False)).read_bytes()
    for n in (
        "MR_small.dcm",
        "rtdose_rle.dcm",
        "JPEG2000.dcm",
        "JPEG2000-embedded-sequence-delimiter.dcm",
        "SC_rgb_rle_2frame.dcm",
    )
]
_ANY_LENGTH = st.sampled_from([0, 1, 2, 3, 4, 7, 8, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFE, 0xFFFFFFFF])


@fuzz
@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    data=st.binary(max_size=600)
    | st.binary(max_size=400).map(lambda b: bytes(128) + b"DICM" + b)
    | st.binary(max_size=400).map(lambda b: b"\x02\x00\x10\x00UI" + b),
    offset=st.integers(0, 300),
    explicit=st.booleans(),
    stop_tag=st.sampled_from([walk.PIXEL_DATA, 0x7FE00008, 0x000A0000, 0xFFFFFFFF, 0]),
)
def test_fuzz_random_bytes(data, offset, explicit, stop_tag):
    assert _metas(data)[0] == _metas(data)[1]
    mine, theirs = _walks(data, offset, explicit, stop_tag, None)
    assert mine == theirs
    for check_pixels in (False, True):
        mine, theirs = both_reads(data, check_pixels, 64)
        assert mine == theirs


@fuzz
@settings(max_examples=2500, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    seed=st.sampled_from(range(len(SEEDS))),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=6),
    lengths=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), _ANY_LENGTH), max_size=3),
    cut=st.none() | st.floats(0, 1),
    first_read=st.sampled_from([132, 200, 1024, 65536]),
)
def test_fuzz_damaged_and_truncated_files(seed, edits, lengths, cut, first_read):
    """Real files with bytes changed, a length field set to a garbage value, and cut short."""
    data = bytearray(SEEDS[seed])
    for where, byte in edits:
        data[128 + int(where * (len(data) - 128))] = byte
    for where, value in lengths:
        at = 132 + int(where * (len(data) - 140))
        data[at : at + 4] = struct.pack("<L", value)
    if cut is not None:
        data = data[: int(cut * len(data))]
    data = bytes(data)
    for check_pixels in (False, True):
        mine, theirs = both_reads(data, check_pixels, first_read)
        assert mine == theirs
    meta = _metas(data)
    assert meta[0] == meta[1]
    if meta[1][0] == "ok":
        for explicit in (True, False):
            mine, theirs = _walks(data, meta[1][1].dataset_offset, explicit, walk.PIXEL_DATA, fast._WANTED)
            assert mine == theirs


@fuzz
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.sampled_from(range(len(SEEDS))), cut=st.floats(0, 1), check_pixels=st.booleans())
def test_fuzz_truncated_files_on_disk(seed, cut, check_pixels):
    """The path the platform takes: read_header on a local file, C opening and reading it."""
    data = SEEDS[seed][: int(cut * len(SEEDS[seed]))]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cut.dcm"
        path.write_bytes(data)
        results = []
        for enabled in (True, False):
            native.ENABLED = enabled
            try:
                results.append(outcome(lambda: read_header(path, check_pixels=check_pixels, name="cut.dcm")))
            finally:
                native.ENABLED = native.LOADED
        assert results[0] == results[1]

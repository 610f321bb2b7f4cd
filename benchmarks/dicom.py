"""DICOM header reads: medvault's reader (fast path, pydicom fallback) against
`pydicom.dcmread(f, stop_before_pixels=True)`, in the same run, on the same files.

Readers: medvault's `read_header` with the native walker (the C extension, native.py) on one core; the
same on every core (dicom/pool.py's forked workers over a batch of `--batch` reads: the set's files read
again as often as needed, the batch's results collected in the parent); `read_header` with the
pure-Python walker (what an install without a compiler runs); and pydicom on one core, the baseline of
every ratio. Sets: generated CT and MR (512 x 512, 16-bit) and OP fundus photographs (2000 x 1500 RGB,
8-bit), built with pydicom like medvault/synth/dicom_files.py builds its files (real header, pixel data
of the full declared length written as a sparse zero run, so 600 fundus files do not need 5 GB of disk),
and every regular file pydicom bundles (DICOM or not, faults included; also reported for the files the
fast path reads itself). Each reader runs over all files of a set, interleaved, `--repeat` times after a
warm-up pass, each pass reading the set again until it has lasted 0.2 s; the best pass counts. Bytes per file are counted in a separate untimed pass (a counting
file object for pydicom, the fast path's ranged reads for medvault).

    .venv/bin/python benchmarks/dicom.py [--files 600] [--repeat 5] [--batch 20000]

Prints figures only; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import sys
import tempfile
import time
import warnings
from dataclasses import replace
from datetime import date
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import pydicom  # noqa: E402
from pydicom.data import get_testdata_files  # noqa: E402

from medvault.platform.dicom import fast, native, pool  # noqa: E402
from medvault.platform.dicom.header import LOCAL_FIRST_READ, DicomFault, read_header  # noqa: E402
from medvault.platform.dicom.walk import Unsupported  # noqa: E402
from medvault.synth.dicom_files import header_dataset  # noqa: E402
from medvault.synth.pacs import DicomSpec, PacsSite  # noqa: E402
from medvault.synth.people import PatientPool  # noqa: E402
from medvault.synth.sites import site_spec  # noqa: E402

CT, MR, OP = "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.5.1.4.1.1.77.1.5.1"
# set -> (modality, SOP class, rows, columns, samples per pixel, bits allocated)
SETS = {
    "ct": ("CT", CT, 512, 512, 1, 16),
    "mr": ("MR", MR, 512, 512, 1, 16),
    "op": ("OP", OP, 1500, 2000, 3, 8),
}


def specs(count: int) -> list[DicomSpec]:
    """`count` synthetic instances (patients, stations, UIDs) from the generator's PACS, cycling days."""
    out: list[DicomSpec] = []
    day = 0
    while len(out) < count:
        for index in range(4):
            site = site_spec(index)
            pacs = PacsSite(11, site, PatientPool(11, site, date(2026, 1, 1)))
            out += pacs.day(0, date(2026, 1, 1 + day % 28)).dicoms
        day += 1
    return out[:count]


def header_bytes(spec: DicomSpec, kind: str) -> tuple[bytes, int]:
    """The file up to the pixel data value (dicom_files.dicom_bytes' header, this set's image), and the
    pixel data length."""
    modality, sop_class, rows, cols, samples, bits = SETS[kind]
    laterality = (spec.laterality or "R") if modality == "OP" else ""
    ds = header_dataset(spec, sop_class_uid=sop_class, modality=modality, laterality=laterality)
    if modality == "OP":
        ds.PhotometricInterpretation, ds.PlanarConfiguration = "RGB", 0
    else:
        ds.PhotometricInterpretation = "MONOCHROME2"
    ds.SamplesPerPixel, ds.Rows, ds.Columns = samples, rows, cols
    ds.BitsAllocated = ds.BitsStored = bits
    ds.HighBit, ds.PixelRepresentation = bits - 1, 0
    if modality == "CT":
        ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    length = rows * cols * samples * bits // 8
    pixel_header = struct.pack("<HH2s2xL", 0x7FE0, 0x0010, b"OW" if bits > 8 else b"OB", length)
    return buffer.getvalue() + pixel_header, length


def write_set(root: Path, kind: str, count: int) -> list[Path]:
    folder = root / kind
    folder.mkdir()
    paths = []
    for i, spec in enumerate(specs(count)):
        spec = replace(spec, sop_instance_uid=f"{spec.sop_instance_uid[:50]}.{i}")
        head, length = header_bytes(spec, kind)
        path = folder / f"{i:05d}.dcm"
        with open(path, "wb") as fh:
            fh.write(head)
            fh.truncate(len(head) + length)  # pixel data of the declared length, as a hole
        paths.append(path)
    return paths


# try/except rather than contextlib.suppress: a context manager per file would weigh in the figures
def medvault_read(path: Path, check_pixels: bool = False) -> None:
    try:  # noqa: SIM105
        read_header(path, check_pixels=check_pixels, name=path.name)
    except Exception:  # faults, as extract_rows would record them
        pass


def python_read(path: Path) -> None:
    """read_header with the pure-Python walker, as an install without the C extension reads."""
    native.ENABLED = False
    try:  # noqa: SIM105
        read_header(path, name=path.name)
    except Exception:
        pass
    finally:
        native.ENABLED = native.LOADED


def header_values(path: Path) -> tuple | None:
    """What a pool worker sends back for one file (extract.py's rows): the header's values."""
    try:
        return read_header(path, name=path.name).as_tuple()
    except Exception:
        return None


def all_cores(paths: list[Path], repeat: int, batch: int) -> tuple[float, int]:
    """files/s of `batch` reads of `paths` (repeated) on every core, best of `repeat` after a warm-up
    (a pass of the default 20,000 reads lasts about as long as a MIN_PASS pass), and the number of
    processes."""
    reads = (paths * (batch // len(paths) + 1))[: max(batch, len(paths))]
    best = float("inf")
    for attempt in range(repeat + 1):
        started = time.perf_counter()
        pool.map_forked(header_values, reads, threshold=0)
        if attempt:
            best = min(best, time.perf_counter() - started)
    return len(reads) / best, min(pool.cores(), len(reads))


def pydicom_read(path: Path) -> None:
    try:  # noqa: SIM105
        pydicom.dcmread(path, stop_before_pixels=True)
    except Exception:
        pass


MIN_PASS = 0.2  # seconds: every timed pass reads the set as often as it takes to last this long


def timed(paths: list[Path], repeat: int, readers: dict) -> dict[str, float]:
    """files/s of each reader: the best of `repeat` interleaved passes, after one warm-up pass. A pass
    reads the set whole, again and again, for at least MIN_PASS seconds, so that a fast reader's pass is
    as exposed to other work on the machine as pydicom's (a pass of a few ms would fit between two
    preemptions and flatter the fast reader's ratio)."""
    best = dict.fromkeys(readers, 0.0)
    for attempt in range(repeat + 1):
        for label, reader in readers.items():
            reads, started = 0, time.perf_counter()
            while True:
                for path in paths:
                    reader(path)
                reads += len(paths)
                elapsed = time.perf_counter() - started
                if elapsed >= MIN_PASS:
                    break
            if attempt:
                best[label] = max(best[label], reads / elapsed)
    return best


class CountingFile:
    """A binary file that counts the bytes read from it: pydicom's file object, or (called) a ranged
    reader for the fast path."""

    def __init__(self, path: Path):
        self.fh = open(path, "rb")  # noqa: SIM115 (closed by the caller)
        self.name = str(path)
        self.bytes = self.calls = 0

    def __call__(self, offset: int, length: int) -> bytes:
        self.fh.seek(offset)
        return self.read(length)

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.bytes += len(data)
        self.calls += 1
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.fh.seek(offset, whence)

    def tell(self) -> int:
        return self.fh.tell()

    def close(self) -> None:
        self.fh.close()


def bytes_per_file(paths: list[Path]) -> dict[str, float]:
    """Bytes read per file: pydicom's, medvault's on a local file (first read LOCAL_FIRST_READ) and
    through a remote store's ranged reads (first read fast.FIRST_READ), with reads per file and the
    files the fast path reads by itself. A file handed to pydicom counts the fast attempt, the 132-byte
    sniff and what pydicom then reads."""
    out = dict.fromkeys(("pydicom", "pydicom_reads", "local", "local_reads", "ranged", "ranged_reads"), 0.0)
    out["fast_files"] = 0
    for path in paths:
        theirs = CountingFile(path)
        try:
            pydicom.dcmread(theirs, stop_before_pixels=True)
        except Exception:
            pass
        finally:
            theirs.close()
        out["pydicom"] += theirs.bytes
        out["pydicom_reads"] += theirs.calls
        for mode, first_read in (("local", LOCAL_FIRST_READ), ("ranged", fast.FIRST_READ)):
            attempt = CountingFile(path)
            try:
                (native.read_native if native.ENABLED else fast.read_fast)(
                    attempt, path.stat().st_size, path.name, check_pixels=False, first_read=first_read
                )
                out["fast_files"] += mode == "local"
            except DicomFault:
                out["fast_files"] += mode == "local"
            except Unsupported:
                attempt.bytes += 132 + theirs.bytes
                attempt.calls += 1 + theirs.calls
            finally:
                attempt.close()
            out[mode] += attempt.bytes
            out[f"{mode}_reads"] += attempt.calls
    return {k: v / len(paths) if k != "fast_files" else v for k, v in out.items()}


def stamp_figures(root: Path, count: int = 200) -> list[dict]:
    """Stamp-and-copy (medvault's streamed private element) against `cp` of the same files and against
    pydicom's read-modify-write, in MB/s, on CT files with real (random) pixel bytes, caches warm."""
    import subprocess

    import numpy as np

    from medvault.platform.delivery.stamp import stamp_file

    src = root / "stamp_src"
    src.mkdir()
    gen = np.random.default_rng(7)
    for i, spec in enumerate(specs(count)):
        head, length = header_bytes(replace(spec, sop_instance_uid=f"{spec.sop_instance_uid[:50]}.{i}"), "ct")
        (src / f"{i:05d}.dcm").write_bytes(head + gen.integers(0, 255, length, dtype=np.uint8).tobytes())
    files = sorted(src.iterdir())
    megabytes = sum(f.stat().st_size for f in files) / 1e6

    def run(name: str, work) -> float:
        best = float("inf")
        for attempt in range(3):
            out = root / f"{name}_{attempt}"
            out.mkdir()
            started = time.perf_counter()
            work(out)
            best = min(best, time.perf_counter() - started)
            shutil.rmtree(out)
        return megabytes / best

    def pydicom_stamp(out: Path) -> None:
        for f in files:
            ds = pydicom.dcmread(f)
            ds.private_block(0x0009, "MEDVAULT", create=True).add_new(0x00, "UI", "1.2.3.4")
            ds.save_as(out / f.name, enforce_file_format=False)

    cp = run("cp", lambda out: subprocess.run(["cp", *map(str, files), str(out)], check=True))
    stamped = run(
        "stamp", lambda out: [stamp_file(f, out / f.name, f"1.2.3.{i}") for i, f in enumerate(files)]
    )
    peer = run("pydicom", pydicom_stamp)
    print(
        f"stamp-and-copy, {count} CT files ({megabytes:.0f} MB): medvault {stamped:,.0f} MB/s, cp {cp:,.0f} MB/s "
        f"({stamped / cp:.2f}x), pydicom read-modify-write {peer:,.0f} MB/s ({stamped / peer:.2f}x)"
    )
    return [
        {
            "name": "dicom_stamp_copy",
            "value": round(stamped),
            "unit": "MB/s",
            "ratio_to_baseline": round(stamped / cp, 2),
        },
        {
            "name": "dicom_stamp_copy_vs_pydicom",
            "value": round(stamped),
            "unit": "MB/s",
            "ratio_to_baseline": round(stamped / peer, 2),
        },
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=600, help="files per generated set")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes per reader (best counts)")
    parser.add_argument("--batch", type=int, default=20_000, help="reads per all-cores pass")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # pydicom warns about the odd bundled files
    if not native.LOADED:
        print(
            "the native walker (medvault/platform/dicom/_walk.c) is not built: `native` is the Python walker"
        )
    print(
        f"pydicom {pydicom.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs "
        f"({pool.cores()} usable), load average {os.getloadavg()[0]:.2f} at the start"
    )
    figures: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="medvault-bench-dicom-") as tmp:
        root = Path(tmp)
        sets = {kind: write_set(root, kind, args.files) for kind in SETS}
        bundled = sorted(Path(f) for f in get_testdata_files() if os.path.isfile(f))
        sets["pydicom_bundled"] = bundled
        sets["bundled_fast"] = [p for p in bundled if fast_reads(p)]  # those the fast path reads itself
        print(
            f"{'set':<16} {'files':>5} {'native/s':>9} {'all cores/s':>11} {'python/s':>9} {'pydicom/s':>9} "
            f"{'native':>6} {'cores':>6} {'python':>6} {'checked/s':>9}   (ratios: x pydicom's files/s)"
        )
        speeds, reads = {}, {}
        for kind, paths in sets.items():
            rates = timed(
                paths,
                args.repeat,
                {
                    "native": medvault_read,
                    "checked": lambda p: medvault_read(p, check_pixels=True),
                    "python": python_read,
                    "pydicom": pydicom_read,
                },
            )
            rates["all_cores"], processes = all_cores(paths, args.repeat, args.batch)
            base = rates["pydicom"]
            print(
                f"{kind:<16} {len(paths):>5} {rates['native']:>9,.0f} {rates['all_cores']:>11,.0f} "
                f"{rates['python']:>9,.0f} {base:>9,.0f} {rates['native'] / base:>5.1f}x "
                f"{rates['all_cores'] / base:>5.1f}x {rates['python'] / base:>5.1f}x {rates['checked']:>9,.0f}"
            )
            speeds[kind] = rates
            if kind != "bundled_fast":
                reads[kind] = bytes_per_file(paths)
            for label, name in (
                ("native", f"dicom_headers_{kind}"),
                ("all_cores", f"dicom_headers_all_cores_{kind}"),
                ("python", f"dicom_headers_python_{kind}"),
                ("checked", f"dicom_headers_checked_{kind}"),
                ("pydicom", f"dicom_headers_baseline_{kind}"),
            ):
                figures.append(
                    {
                        "name": name,
                        "value": round(rates[label]),
                        "unit": "files/s",
                        "ratio_to_baseline": round(rates[label] / base, 2),
                    }
                )
        print(
            f"native = read_header with the C walker, one core; all cores = the same over batches of "
            f"{args.batch:,} reads on {processes} processes (dicom/pool.py); python = read_header with the "
            "pure-Python walker; checked = native with check_pixels=True; bundled_fast = the bundled files "
            "the fast path reads itself (the others go to pydicom and their values are converted, ~2x a "
            "bare dcmread each)"
        )
        print(
            f"{'set':<16} {'pydicom B':>9} {'reads':>5} {'local B':>8} {'reads':>5} {'ranged B':>8} {'reads':>5} "
            f"{'fast path':>9}"
        )
        for kind, got in reads.items():
            print(
                f"{kind:<16} {got['pydicom']:>9,.0f} {got['pydicom_reads']:>5.1f} {got['local']:>8,.0f} "
                f"{got['local_reads']:>5.2f} {got['ranged']:>8,.0f} {got['ranged_reads']:>5.2f} "
                f"{got['fast_files']:>4.0f}/{len(sets[kind])}"
            )
            for mode in ("local", "ranged"):
                figures.append(
                    {
                        "name": f"dicom_header_bytes_{mode}_{kind}",
                        "value": round(got[mode]),
                        "unit": "bytes/file",
                        "ratio_to_baseline": round(got[mode] / got["pydicom"], 2) if got["pydicom"] else None,
                    }
                )
        print(
            "B = bytes read per file (lower reads less): local = read_header (first read "
            f"{LOCAL_FIRST_READ:,} B), ranged = read_header_ranged as over a store (first read "
            f"{fast.FIRST_READ:,} B, one round trip); reads = read calls per file"
        )
        figures += stamp_figures(root)
    print(json.dumps({"name": "dicom_headers", "figures": figures}))


def fast_reads(path: Path) -> bool:
    """The fast path reads this file itself (a header or a fault), without pydicom."""
    source = CountingFile(path)
    try:
        (native.read_native if native.ENABLED else fast.read_fast)(
            source, path.stat().st_size, path.name, check_pixels=False
        )
    except DicomFault:
        return True
    except Unsupported:
        return False
    finally:
        source.close()
    return True


if __name__ == "__main__":
    main()

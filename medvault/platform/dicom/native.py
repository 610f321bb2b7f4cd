"""The native fast path: `_walk`, a C walker of the header bytes, when the install could build it.

Why: the pure-Python walker (walk.py, fast.py) spends ~30 us per file walking elements and decoding
values, several times what the rest of a header read costs. `_walk.read` does fast.read_fast's work rule
for rule in C (plain values decoded there, any other value by fast._text_of, called back) and raises
the same exceptions, so `read_native` is a drop-in for `fast.read_fast`: header.py uses it when `ENABLED`
and the pure path otherwise (an install without a compiler, or a test comparing the two).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from medvault.platform.dicom import fast, header, walk

try:
    from medvault.platform.dicom import _walk
except ImportError:  # built without a compiler: the pure-Python walker reads every header
    _walk = None

LOADED = _walk is not None
ENABLED = LOADED  # header.py reads this on every call; tests switch it off to compare the two paths

_KIND_CODES = {fast._LATIN: 0, fast._UID: 1, fast._TEXT: 2, fast._US: 3, fast._IS: 4}

if _walk is not None:
    _walk.configure(
        [
            (tag, keyword, vr, _KIND_CODES[kind], kind, cached)
            for tag, (keyword, vr, kind, cached) in sorted(fast.FIELDS.items())
        ],
        dict(fast.SYNTAXES),
        dict(fast.ENCODINGS),
        fast._text_of,
        walk._dictionary_sq,
        walk.NeedMore,
        walk.Unsupported,
        walk.NotDicom,
        fast.Fallback,
    )


def read_native(
    source: str | os.PathLike | int | Callable[[int, int], bytes],
    size: int,
    name: str,
    *,
    check_pixels: bool,
    first_read: int = fast.FIRST_READ,
) -> tuple[header.DicomHeader, fast.ReadStats]:
    """fast.read_fast through the C walker. `source` is a local path (opened here; `size` is then taken
    from the file), an open file descriptor, or `read_range(offset, length)`. Raises what read_fast
    raises: a DicomFault, or Fallback/walk.Unsupported (read it with pydicom), or the reader's error."""
    if not fast._pydicom_defaults():
        raise fast.Fallback("pydicom is configured to convert values differently")
    try:
        texts, syntax, size, has_pixels, actual, encapsulated, nbytes, reads = _walk.read(
            source, size, first_read, check_pixels
        )
    except walk.NotDicom:
        raise header.not_dicom_fault(name) from None
    found = fast.finish(texts, syntax, size, name, check_pixels, has_pixels, encapsulated, actual)
    return found, fast.ReadStats(nbytes, reads)


def read_path(path: str | os.PathLike, name: str, check_pixels: bool, first_read: int) -> header.DicomHeader:
    """`read_native` of a local file, without the read counts: header.read_header's hot path (the
    same lines, one call less)."""
    if not fast._pydicom_defaults():
        raise fast.Fallback("pydicom is configured to convert values differently")
    try:
        texts, syntax, size, has_pixels, actual, encapsulated, _, _ = _walk.read(
            path, -1, first_read, check_pixels
        )
    except walk.NotDicom:
        raise header.not_dicom_fault(name) from None
    return fast.finish(texts, syntax, size, name, check_pixels, has_pixels, encapsulated, actual)


def meta(buf: bytes) -> walk.Meta:
    """walk.parse_preamble_and_meta in C (for tests: the two must agree on any bytes)."""
    return walk.Meta(*_walk.meta(buf))


def scan(
    buf: bytes,
    offset: int,
    *,
    explicit: bool,
    stop_tag: int = walk.PIXEL_DATA,
    wanted: walk.Wanted | None = None,
) -> tuple[list[walk.Row], walk.Row | None]:
    """walk.scan in C (for tests: the two must agree on any bytes)."""
    if wanted is not None and not isinstance(wanted, walk.Wanted):
        raise TypeError("scan: build `wanted` with walk.wanted(tags)")
    return _walk.scan(buf, offset, explicit, stop_tag, wanted)

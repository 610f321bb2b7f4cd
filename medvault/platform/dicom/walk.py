"""Walk the elements of a DICOM Part 10 buffer (little endian) without building a dataset.

Why: a header read needs where a few elements are, not a Python object per element (what makes pydicom
CPU-bound), and stamping needs where to insert an element. The walker follows pydicom's reading rules
where they decide what is read (undefined-length sequences are parsed, defined-length values skipped)
and refuses, with `Unsupported`, whatever pydicom would read in some other way (big endian, deflated,
unknown or switched VRs, misaligned items), so that callers can fall back to pydicom instead of guessing.
It never reads past the buffer: `NeedMore(n)` says that the first n bytes are needed to go on.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

UNDEFINED = 0xFFFFFFFF
ITEM, ITEM_END, SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
PIXEL_DATA = 0x7FE00010
MAX_DEPTH = 32  # nested sequences; deeper is refused rather than recursed into

# explicit VR: 2-byte length for most VRs, 2 reserved bytes + 4-byte length for these (PS3.5 7.1.2)
LONG_VRS = frozenset(b"OB OD OF OL OV OW SQ SV UC UN UR UT UV".split())
SHORT_VRS = frozenset(b"AE AS AT CS DA DS DT FD FL IS LO LT PN SH SL SS ST TM UI UL US".split())
_VR_TEXT = {vr: vr.decode() for vr in LONG_VRS | SHORT_VRS}
_META_VRS = {b"UL", b"OB", b"UI", b"SH", b"AE"}  # what a preamble-less File Meta group starts with
# File Meta VR -> (4-byte length, size of a number): pydicom converts values while reading the group
# and raises on a number that does not fill whole values; other VRs it would read differently
_META_KINDS = {vr: (vr in LONG_VRS, 0) for vr in b"OB UI SH AE CS LO ST LT".split()} | {
    b"UL": (False, 4),
    b"US": (False, 2),
    b"SL": (False, 4),
    b"SS": (False, 2),
    b"FL": (False, 4),
    b"FD": (False, 8),
    b"AT": (False, 4),
}

_EXPLICIT = struct.Struct("<HH2sH").unpack_from
_EXPLICIT_KEY = struct.Struct("<L2sH").unpack_from  # the tag as one number: element << 16 | group
_IMPLICIT_KEY = struct.Struct("<LL").unpack_from
_IMPLICIT = struct.Struct("<HHL").unpack_from
_TAG = struct.Struct("<HH").unpack_from
_U32 = struct.Struct("<L").unpack_from


class Unsupported(Exception):
    """The buffer is (maybe) valid DICOM that the walker does not read the way pydicom would."""


class NeedMore(Exception):
    """The buffer ends before an element that must be read; `needed` bytes from the start are required."""

    def __init__(self, needed: int):
        super().__init__(needed)
        self.needed = needed


class NotDicom(Exception):
    """Neither preamble + `DICM` nor a preamble-less explicit-VR File Meta group (header.py's `_sniff`)."""


@dataclass(frozen=True, slots=True)
class Element:
    tag: int
    vr: str | None  # None in implicit VR (and for item tags)
    start: int  # offset of the element's first byte
    value_start: int
    length: int  # 0xFFFFFFFF when undefined
    end: int  # offset just after the element (undefined-length SQ: after its delimiter); -1 if unknown


class Meta(NamedTuple):  # a tuple: built once per file, on the hot path
    has_preamble: bool
    elements: dict[int, bytes]  # (0002,eeee) tag -> raw value
    transfer_syntax: str | None  # as pydicom decodes the UID; None when the element is absent
    dataset_offset: int  # just after the last (0002,eeee) element: where pydicom starts the dataset
    meta_end: int | None  # end of the group as its Group Length (0002,0000) declares, if present


def ui_text(raw: bytes) -> str:
    """A UI value as pydicom's str(value) gives it: trailing NUL/space dropped, each value stripped."""
    text = raw.decode("latin-1").rstrip("\0 ")
    if "\\" not in text:
        return text.strip()
    return "\\".join(part.strip() for part in text.split("\\"))


def parse_preamble_and_meta(buf: bytes) -> Meta:
    """The File Meta group at the start of `buf` (explicit VR little endian, like pydicom reads it)."""
    if len(buf) >= 132 and buf[128:132] == b"DICM":
        has_preamble, pos = True, 132
    elif len(buf) >= 8 and buf[:2] == b"\x02\x00" and buf[4:6] in _META_VRS:
        has_preamble, pos = False, 0
    else:
        raise NotDicom
    n = len(buf)
    elements: dict[int, bytes] = {}
    meta_end = None
    syntax_vr = None
    kinds = _META_KINDS
    while True:
        if pos + 8 > n:
            raise NeedMore(pos + 8)  # the meta may go on, and at EOF pydicom would read an empty dataset
        group, elem, vr, length = _EXPLICIT(buf, pos)
        if group != 0x0002:
            break
        kind = kinds.get(vr)
        if kind is None:
            raise Unsupported("File Meta element with a VR pydicom would read differently")
        long, number = kind
        if long:
            if pos + 12 > n:
                raise NeedMore(pos + 12)
            length = _U32(buf, pos + 8)[0]
            value_start = pos + 12
        else:
            value_start = pos + 8
        if number and length % number:
            raise Unsupported("File Meta number of a wrong length")  # pydicom raises on these
        end = value_start + length  # an undefined length (OB here) runs past any buffer
        if end > n:
            raise NeedMore(end)
        if elem == 0 and not elements and number == 4 and length == 4:
            meta_end = end + _U32(buf, value_start)[0]
        elements[0x00020000 | elem] = bytes(buf[value_start:end])
        if elem == 0x0010:
            syntax_vr = vr
        pos = end
    transfer_syntax = None
    if syntax_vr is not None:
        if syntax_vr != b"UI":
            raise Unsupported("Transfer Syntax UID without VR UI")
        transfer_syntax = ui_text(elements[0x00020010])
        if "\\" in transfer_syntax:
            raise Unsupported("several Transfer Syntax UIDs")
    return Meta(has_preamble, elements, transfer_syntax, pos, meta_end)


class Wanted(dict):
    """Tags to `scan` for, keyed the way it reads them: the 4 tag bytes as one little-endian number."""


class _Every(Wanted):
    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: int) -> int:
        return (key & 0xFFFF) << 16 | key >> 16


def wanted(tags: Iterable[int]) -> Wanted:
    return Wanted({(tag & 0xFFFF) << 16 | tag >> 16: tag for tag in tags})


_EVERY = _Every()


def iter_elements(
    buf: bytes, offset: int, *, explicit: bool, stop_tag: int = PIXEL_DATA
) -> Iterator[Element]:
    """Top-level elements from `offset` in file order, ending with (and including) the first whose tag is
    >= stop_tag (its value is not read: `end` is -1 when its length is undefined), or at the end of `buf`.
    The whole range is walked first, so NeedMore/Unsupported come before any element."""
    elements, stop = scan(buf, offset, explicit=explicit, stop_tag=stop_tag)
    for tag, vr, start, value_start, length, end in [*elements, *([stop] if stop else [])]:
        yield Element(tag, _VR_TEXT[vr] if vr else None, start, value_start, length, end)


Row = tuple[int, bytes | None, int, int, int, int]  # tag, VR bytes or None, start, value_start, length, end


def scan(
    buf: bytes, offset: int, *, explicit: bool, stop_tag: int = PIXEL_DATA, wanted: Wanted | None = None
) -> tuple[list[Row], Row | None]:
    """(elements, stop element or None): the top-level elements before the stop (only those in `wanted`
    when given) as plain tuples, every value inside `buf`. The hot loop of a header read: no object for
    the elements nobody asked for, and a tag is compared in the form it is read in."""
    if wanted is None:
        wanted = _EVERY
    elif not isinstance(wanted, Wanted):
        raise TypeError("scan: build `wanted` with walk.wanted(tags)")
    n = len(buf)
    pos = offset
    last = n - 8  # the last offset an element header fits at
    stop_group = min(stop_tag >> 16, 0xFFFE)  # below it an element is neither the stop nor an item tag
    out: list[Row] = []
    add = out.append
    if explicit:
        unpack, short = _EXPLICIT_KEY, SHORT_VRS
        while pos <= last:
            key, vr, length = unpack(buf, pos)
            if vr in short and key & 0xFFFF < stop_group:  # most elements: a 2-byte length, skipped
                if key in wanted:
                    add((wanted[key], vr, pos, pos + 8, length, pos + 8 + length))
                pos += 8 + length
                continue
            row = _long(buf, pos, (key & 0xFFFF) << 16 | key >> 16, vr, length)
            if row[0] >= stop_tag:
                return out, row
            pos = _after(buf, row, True)
            if key in wanted:
                add(row[:5] + (pos,))
    else:
        unpack = _IMPLICIT_KEY
        while pos <= last:
            key, length = unpack(buf, pos)
            if key & 0xFFFF < stop_group and length != UNDEFINED:
                if key in wanted:
                    add((wanted[key], None, pos, pos + 8, length, pos + 8 + length))
                pos += 8 + length
                continue
            tag = (key & 0xFFFF) << 16 | key >> 16
            row = (tag, None, pos, pos + 8, length, -1 if length == UNDEFINED else pos + 8 + length)
            if tag >= stop_tag:
                return out, row
            pos = _after(buf, row, False)
            if key in wanted:
                add(row[:5] + (pos,))
    if pos != n:  # a value runs past the buffer, or the buffer ends inside an element header
        raise NeedMore(pos if pos > n else pos + 8)
    return out, None


def _long(buf: bytes, pos: int, tag: int, vr: bytes, length: int) -> Row:
    """An explicit-VR element off the fast path: a long VR, an item tag, or at/after the stop group."""
    if tag >> 16 == 0xFFFE:  # item and delimiter tags carry no VR
        length = _U32(buf, pos + 4)[0]
        return tag, None, pos, pos + 8, length, -1 if length == UNDEFINED else pos + 8 + length
    if vr in SHORT_VRS:
        return tag, vr, pos, pos + 8, length, pos + 8 + length
    if vr not in LONG_VRS:
        raise Unsupported("unknown VR, or implicit VR inside an explicit-VR dataset")
    if pos + 12 > len(buf):
        raise NeedMore(pos + 12)
    length = _U32(buf, pos + 8)[0]
    return tag, vr, pos, pos + 12, length, -1 if length == UNDEFINED else pos + 12 + length


def _after(buf: bytes, row: Row, explicit: bool) -> int:
    """Where the top-level element `row` (not the stop) ends: past its delimiter for a sequence."""
    tag, vr, _, value_start, length, end = row
    if tag >> 16 == 0xFFFE:
        raise Unsupported("item or delimiter tag at the top level")
    if length != UNDEFINED:
        return end
    if not (vr == b"SQ" if explicit else _implicit_sequence(buf, tag, value_start)):
        raise Unsupported("undefined length on an element that is not a sequence")
    return _skip_sequence(buf, value_start, explicit, 1)


@lru_cache(maxsize=1024)
def _dictionary_sq(tag: int) -> bool | None:
    """True/False: the dictionary VR is/is not SQ; None: not in the dictionary. Only asked for the rare
    undefined-length elements of implicit-VR data."""
    from pydicom.datadict import dictionary_VR

    try:
        return dictionary_VR(tag) == "SQ"
    except KeyError:
        return None


def _implicit_sequence(buf: bytes, tag: int, value_start: int) -> bool:
    """pydicom's rule for an undefined length in implicit VR: SQ by the dictionary, else (unknown tag) a
    sequence when an item follows."""
    known = _dictionary_sq(tag)
    if known is not None:
        return known
    if value_start + 4 > len(buf):
        raise NeedMore(value_start + 4)
    group, elem = _TAG(buf, value_start)
    return (group << 16 | elem) == ITEM


def _head(buf: bytes, pos: int, explicit: bool) -> tuple[int, bytes | None, int, int]:
    """(tag, VR, value_start, length) of the element at `pos` inside a sequence item."""
    n = len(buf)
    if pos + 8 > n:
        raise NeedMore(pos + 8)
    if not explicit:
        group, elem, length = _IMPLICIT(buf, pos)
        return group << 16 | elem, None, pos + 8, length
    group, elem, vr, length = _EXPLICIT(buf, pos)
    if group == 0xFFFE:
        return group << 16 | elem, None, pos + 8, _U32(buf, pos + 4)[0]
    if vr in SHORT_VRS:
        return group << 16 | elem, vr, pos + 8, length
    if vr in LONG_VRS:
        if pos + 12 > n:
            raise NeedMore(pos + 12)
        return group << 16 | elem, vr, pos + 12, _U32(buf, pos + 8)[0]
    raise Unsupported("unknown VR, or implicit VR inside an explicit-VR item")


def _skip_sequence(buf: bytes, pos: int, explicit: bool, depth: int) -> int:
    """Offset after the Sequence Delimitation Item of the undefined-length sequence whose items start
    at `pos`."""
    if depth > MAX_DEPTH:
        raise Unsupported("sequences nested too deep")
    n = len(buf)
    while True:
        if pos + 8 > n:
            raise NeedMore(pos + 8)
        group, elem, length = _IMPLICIT(buf, pos)
        tag = group << 16 | elem
        if tag == SEQUENCE_END:
            return pos + 8
        if tag != ITEM:
            raise Unsupported("sequence content that is not an item")
        pos += 8
        if length == UNDEFINED:
            pos = _skip_item(buf, pos, None, explicit, depth)
        else:
            if pos + length > n:
                raise NeedMore(pos + length)
            pos = _skip_item(buf, pos, pos + length, explicit, depth)


def _skip_item(buf: bytes, pos: int, end: int | None, explicit: bool, depth: int) -> int:
    """Offset after one item's dataset: `end` for a defined length (its elements must fill it exactly),
    else after its Item Delimitation Item."""
    if explicit and end != pos:
        # pydicom reads an item as implicit VR when its first element's VR bytes are not letters
        if pos + 6 > len(buf):
            raise NeedMore(pos + 6)
        a, b = buf[pos + 4], buf[pos + 5]
        letters = 0x40 < a < 0x5B and 0x40 < b < 0x5B
        if not letters and (end is not None or _TAG(buf, pos) != (0xFFFE, 0xE00D)):
            raise Unsupported("implicit-VR item inside an explicit-VR dataset")
    while end is None or pos < end:
        tag, vr, value_start, length = _head(buf, pos, explicit)
        if tag == ITEM_END and end is None:
            return value_start
        if tag >> 16 == 0xFFFE:
            raise Unsupported("item or delimiter tag out of place")
        if length == UNDEFINED:
            if not (vr == b"SQ" if explicit else _implicit_sequence(buf, tag, value_start)):
                raise Unsupported("undefined length on an element that is not a sequence")
            pos = _skip_sequence(buf, value_start, explicit, depth + 1)
        else:
            pos = value_start + length
            if pos > len(buf):
                raise NeedMore(pos)
    if pos != end:
        raise Unsupported("an item's elements overrun its length")
    return pos

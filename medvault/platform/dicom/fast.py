"""The fast path of `read_header`: the fields of a DicomHeader from one ranged read of the header.

Why: pydicom builds an object per element and reads through a buffered file; a header read needs two
dozen values. This reads the first 64 KB (more only when the header does not end inside them), walks
the elements (walk.py) and decodes the wanted values exactly as pydicom's str(value) gives them, then
applies header.py's own rules (`clean`, `int_of`, `date_of`, faults). Whatever it cannot reproduce
exactly (other character sets, odd VRs, values pydicom would coerce, elements pydicom would read past
the pixel data) raises `Fallback`: fall back to pydicom, never return a value pydicom would not.

This is the reference of the native walker (native.py, _walk.c), which follows the same rules in C and
calls `_text_of` back for values that are not plain ASCII; read_header uses this one where the C
extension was not built.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass

import pydicom.config
import pydicom.hooks
import pydicom.uid
from pydicom.datadict import dictionary_VR, tag_for_keyword

from medvault.platform.dicom import header
from medvault.platform.dicom.walk import (
    LONG_VRS,
    PIXEL_DATA,
    SHORT_VRS,
    UNDEFINED,
    NeedMore,
    NotDicom,
    Unsupported,
    parse_preamble_and_meta,
    scan,
    ui_text,
    wanted,
)

FIRST_READ = 65536
# every keyword header.py asks for (REQUIRED_TAGS, PIXEL_TAGS, header_from), with SpecificCharacterSet
KEYWORDS = (
    "SpecificCharacterSet",
    "SOPClassUID",
    "SOPInstanceUID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "Modality",
    "SeriesNumber",
    "InstanceNumber",
    "ImageLaterality",
    "Laterality",
    "StudyDate",
    "StudyTime",
    "StationName",
    "Manufacturer",
    "ManufacturerModelName",
    "InstitutionName",
    "InstitutionalDepartmentName",
    "Rows",
    "Columns",
    "BitsAllocated",
    "SamplesPerPixel",
    "NumberOfFrames",
    "BodyPartExamined",
    "AccessionNumber",
    "StudyDescription",
    "PatientID",
)
# how pydicom turns each VR's bytes into the str `_text` sees
_LATIN, _UID, _TEXT, _US, _IS = "latin", "uid", "text", "us", "is"
_KINDS = {
    "CS": _LATIN,
    "DA": _LATIN,
    "TM": _LATIN,
    "UI": _UID,
    "SH": _TEXT,
    "LO": _TEXT,
    "US": _US,
    "IS": _IS,
}
# tag -> (keyword, dictionary VR, kind, cached): pydicom uses the dictionary VR in implicit VR, and the
# fast path requires it in explicit VR. UIDs hardly repeat, and a patient's ID is not kept in a cache.
FIELDS = {
    tag_for_keyword(k): (k, dictionary_VR(k).encode(), _KINDS[dictionary_VR(k)], dictionary_VR(k) != "UI")
    for k in KEYWORDS
}
FIELDS[tag_for_keyword("PatientID")] = (*FIELDS[tag_for_keyword("PatientID")][:3], False)
_WANTED = wanted(FIELDS)
_CHARSET = 0x00080005
_FLOAT_PIXELS = (0x7FE00008, 0x7FE00009)  # pydicom's stop_before_pixels stops at these too
_PIXEL_VRS = (b"OB", b"OW")
_IMPLICIT_LE = "1.2.840.10008.1.2"
# transfer syntax -> (explicit VR, encapsulated); big endian and deflated are pydicom's alone
SYNTAXES = {
    str(uid): (uid != _IMPLICIT_LE, uid.is_encapsulated)
    for uid in pydicom.uid.AllTransferSyntaxes
    if uid.is_little_endian and not uid.is_deflated
}
# SpecificCharacterSet -> Python codec pydicom decodes SH/LO with ("iso8859", its default, is latin-1)
ENCODINGS = {"": "latin-1", "ISO_IR 6": "latin-1", "ISO_IR 100": "latin-1", "ISO_IR 192": "utf-8"}
# (explicit VR, character set) -> element bytes -> (keyword, value): a value is a function of its bytes,
# and the files of one device repeat most of theirs (see FIELDS for what is not kept)
_CACHES: dict[tuple[bool, str], dict[bytes, tuple[str, str | None]]] = {
    (explicit, encoding): {} for explicit in (False, True) for encoding in set(ENCODINGS.values())
}
_CACHE_SIZE = 4096
_PLAIN_IS = re.compile(r" *[+-]?[0-9]+ *")
_ITEM_BYTES, _SEQUENCE_END_BYTES = b"\xfe\xff\x00\xe0", b"\xfe\xff\xdd\xe0"
_U32 = struct.Struct("<L").unpack_from
_TAG = struct.Struct("<HH").unpack_from
_DEFAULT_HOOKS = (pydicom.hooks.raw_element_vr, pydicom.hooks.raw_element_value)


class Fallback(Unsupported):
    """Read this file with pydicom: the fast path cannot give exactly pydicom's values for it."""


@dataclass(slots=True)
class ReadStats:
    bytes_read: int = 0
    reads: int = 0


def read_fast(
    read_range: Callable[[int, int], bytes],
    size: int,
    name: str,
    *,
    check_pixels: bool,
    first_read: int = FIRST_READ,
) -> tuple[header.DicomHeader, ReadStats]:
    """Header and faults as `read_header` gives them, from `read_range(offset, length)` of a `size`-byte
    file; raise Fallback (or walk.Unsupported) for what only pydicom reads right."""
    if not _pydicom_defaults():
        raise Fallback("pydicom is configured to convert values differently")
    stats = ReadStats()
    buf = _read(read_range, 0, min(size, max(first_read, 132)), stats)
    while True:
        try:
            return _from_buffer(buf, size, name, check_pixels, read_range, stats), stats
        except NeedMore as more:
            if more.needed > size:
                raise Fallback("the file ends inside its header") from None
            # the header is larger than the read: grow to at least twice what was read (few reads, and
            # never more than about twice the header in total)
            target = min(size, max(more.needed + first_read, 2 * len(buf)))
            buf += _read(read_range, len(buf), target - len(buf), stats)


def _pydicom_defaults() -> bool:
    """The fast path reproduces pydicom's default conversions only."""
    config, hooks = pydicom.config, pydicom.hooks.hooks
    return (
        not config.datetime_conversion
        and not config.use_IS_numpy
        and config.data_element_callback is None
        and config.replace_un_with_known_vr
        and config.settings.reading_validation_mode != config.RAISE
        and not pydicom.uid.PrivateTransferSyntaxes
        and (hooks.raw_element_vr, hooks.raw_element_value) == _DEFAULT_HOOKS
        and not hooks.raw_element_kwargs
    )


def _read(read_range: Callable[[int, int], bytes], offset: int, length: int, stats: ReadStats) -> bytes:
    data = read_range(offset, length) if length else b""
    stats.reads += 1 if length else 0
    stats.bytes_read += len(data)
    if len(data) != length:
        raise Fallback("short read: the file changed while it was read")
    return data


def _from_buffer(
    buf: bytes,
    size: int,
    name: str,
    check_pixels: bool,
    read_range: Callable[[int, int], bytes],
    stats: ReadStats,
) -> header.DicomHeader:
    try:
        meta = parse_preamble_and_meta(buf)
    except NotDicom:
        raise header.not_dicom_fault(name) from None
    syntax = SYNTAXES.get(meta.transfer_syntax) if meta.transfer_syntax else None
    if syntax is None:
        raise Fallback("transfer syntax absent, unknown, big endian or deflated")
    explicit, encapsulated = syntax
    pos = meta.dataset_offset
    _check_encoding(buf, pos, size, explicit)

    items, pixels = scan(buf, pos, explicit=explicit, stop_tag=_FLOAT_PIXELS[0], wanted=_WANTED)
    found = {item[0]: item for item in items}  # a repeated tag: the last one wins, as in pydicom
    if pixels is None and len(buf) < size:
        raise NeedMore(len(buf) + 8)  # the walk stopped at the end of the read, not of the file

    actual = None  # bytes of native pixel data pydicom would read
    if pixels is not None:
        tag = pixels[0]
        if tag != PIXEL_DATA:
            if check_pixels or tag not in _FLOAT_PIXELS:
                raise Fallback("an element pydicom reads past the header")
            pixels = None
        elif check_pixels:
            actual = _pixel_extent(pixels, explicit, encapsulated, size, buf, read_range, stats)

    texts = _texts(buf, found, explicit)
    return finish(
        texts, meta.transfer_syntax, size, name, check_pixels, pixels is not None, encapsulated, actual
    )


def finish(
    texts: dict[str, str | None],
    transfer_syntax: str | None,
    size: int,
    name: str,
    check_pixels: bool,
    has_pixels: bool,
    encapsulated: bool,
    actual: int | None,
) -> header.DicomHeader:
    """header.py's rules on the walked values (keyword -> text, a key for every element found): the
    faults and the header. Shared by this walker and the native one (native.py)."""
    text = texts.get
    header.check_required(text, name)
    if check_pixels and has_pixels:
        if not encapsulated:
            header.check_pixel_length(text, name, lambda: actual)
    elif check_pixels and "Rows" in texts and "Columns" in texts:
        raise header.no_pixel_data_fault(name)
    return header.header_from(text, transfer_syntax, size)


def _check_encoding(buf: bytes, pos: int, size: int, explicit: bool) -> None:
    """pydicom trusts the first element over the transfer syntax (and reads a leading command group)."""
    if size - pos < 6:
        return
    if pos + 6 > len(buf):
        raise NeedMore(pos + 6)
    if buf[pos] == 0 and buf[pos + 1] == 0:
        raise Fallback("command set (0000,eeee) before the dataset")
    a, b = buf[pos + 4], buf[pos + 5]
    if (0x40 < a < 0x5B and 0x40 < b < 0x5B) != explicit:
        raise Fallback("the dataset's VR encoding differs from its transfer syntax")


def _pixel_extent(pixels, explicit, encapsulated, size, buf, read_range, stats) -> int:
    """Native pixel bytes a full pydicom read gets (declared length, cut at the end of the file);
    Fallback when pydicom would read elements after the pixel data, or scan for a delimiter."""
    _tag, vr, _start, value_start, length, _end = pixels
    if explicit and vr not in _PIXEL_VRS:
        raise Fallback("pixel data with a VR other than OB/OW")
    if length == UNDEFINED:
        if not encapsulated:
            raise Fallback("undefined-length pixel data in a native transfer syntax")
        end = _fragments_end(buf, value_start, size, read_range, stats)
    else:
        end = value_start + length
    _check_tail(end, size, explicit, buf, read_range, stats)
    return max(0, min(length, size - value_start))


def _check_tail(pos: int, size: int, explicit: bool, buf: bytes, read_range, stats: ReadStats) -> None:
    """A full pydicom read goes on after the pixel data: allow only what changes no value (typically
    (FFFC,FFFC) padding), reading element headers only."""
    for _ in range(16):
        if size - pos < 8:
            return  # pydicom stops at fewer than 8 bytes
        head = (
            buf[pos : pos + 12]
            if pos + 12 <= len(buf)
            else _read(read_range, pos, min(12, size - pos), stats)
        )
        group, elem = _TAG(head, 0)
        if (group << 16 | elem) <= PIXEL_DATA or group == 0xFFFE:
            raise Fallback("elements after the pixel data that pydicom would read as header")
        if not explicit:
            length, pos = _U32(head, 4)[0], pos + 8
        elif head[4:6] in SHORT_VRS:
            length, pos = head[6] | head[7] << 8, pos + 8
        elif head[4:6] in LONG_VRS and len(head) == 12:
            length, pos = _U32(head, 8)[0], pos + 12
        else:
            raise Fallback("an element after the pixel data pydicom would read differently")
        if length == UNDEFINED:
            raise Fallback("an undefined-length element after the pixel data")
        pos += length
    raise Fallback("many elements after the pixel data")


def _fragments_end(buf: bytes, pos: int, size: int, read_range, stats: ReadStats) -> int:
    """End of encapsulated pixel data, walked item by item as pydicom does (reading item headers only);
    Fallback where pydicom would scan the bytes for the delimiter instead."""
    window_start, window, hops = 0, buf, 0
    while True:
        if pos + 8 > window_start + len(window):
            if pos + 4 > size:
                raise Fallback("encapsulated pixel data without its delimiter")
            hops += 1  # the first few item headers one by one, then the rest of the file at once
            window_start, window = (
                pos,
                _read(read_range, pos, min(size - pos, 8 if hops <= 16 else size), stats),
            )
        at = pos - window_start
        tag = window[at : at + 4]
        if tag == _SEQUENCE_END_BYTES:
            return pos + 8
        if tag != _ITEM_BYTES or at + 8 > len(window):
            raise Fallback("encapsulated pixel data that is not a run of items")
        pos += 8 + _U32(window, at + 4)[0]


def _texts(buf: bytes, found: dict, explicit: bool) -> dict[str, str | None]:
    """keyword -> value as header.py's `_text` gives it from pydicom."""
    encoding = "latin-1"
    if _CHARSET in found:
        _, vr, _, start, length, _ = found[_CHARSET]
        if explicit and vr != b"CS" and not _known_un(vr, length):
            raise Fallback("SpecificCharacterSet without VR CS")
        encoding = ENCODINGS.get(buf[start : start + length].decode("latin-1").rstrip(" \0"))
        if encoding is None:
            raise Fallback("character set not decoded by the fast path")
    cache = _CACHES[explicit, encoding]
    out: dict[str, str | None] = {}
    for tag, vr, start, value_start, length, end in found.values():
        element = buf[start:end]  # tag, VR and length included: the key says what the value is
        hit = cache.get(element)
        if hit is not None:
            out[hit[0]] = hit[1]
            continue
        keyword, want, kind, cached = FIELDS[tag]
        if explicit and vr != want and not _known_un(vr, length):
            raise Fallback("a VR that differs from the dictionary")
        value = _text_of(kind, buf[value_start:end], encoding)  # a Fallback is never cached
        if cached:
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            cache[element] = (keyword, value)
        out[keyword] = value
    return out


def _text_of(kind: str, raw: bytes, encoding: str) -> str | None:
    """pydicom's str(value) for a raw value (a MultiValue joined by backslashes, as `_text` does),
    cleaned like `_text` (header.clean); None for an empty value, as pydicom's empty value gives."""
    if not raw:
        return None
    if kind is _LATIN:  # CS, DA, TM: decoded with pydicom's default, latin-1
        value = raw.decode("latin-1").rstrip(" \0")
    elif kind is _UID:
        value = ui_text(raw)
    elif kind is _TEXT:  # SH, LO: decoded with the dataset's character set
        if b"\x1b" in raw:
            raise Fallback("ISO 2022 escape in a text value")
        try:
            value = raw.decode(encoding)
        except UnicodeDecodeError:
            raise Fallback("text that is not in its character set") from None  # pydicom would replace
        if "\\" in value:
            value = "\\".join(part.rstrip("\0 ") for part in value.split("\\"))
        else:
            value = value.rstrip("\0 ")
    elif kind is _US:
        if len(raw) != 2:
            raise Fallback("US value that is not exactly one number")
        value = str(raw[0] | raw[1] << 8)
    else:  # IS: blank values kept as they are, integers stripped
        parts = raw.decode("latin-1").rstrip(" \0").split("\\")
        for i, part in enumerate(parts):
            if part.strip():
                if not _PLAIN_IS.fullmatch(part):
                    raise Fallback("IS value that is not a plain integer")
                parts[i] = part.strip()
        value = "\\".join(parts)
    return header.clean(value)


def _known_un(vr: bytes | None, length: int) -> bool:
    """pydicom reads a public tag stored as UN with its dictionary VR (values under 64 KB; its
    replace_un_with_known_vr, required by `_pydicom_defaults`)."""
    return vr == b"UN" and length < 0xFFFF

"""Read and check one DICOM file's header.

`read_header` refuses what pydicom would otherwise accept silently (NOTES: `force=True` "reads" text and
empty files; truncated pixel data loads without error):

* the file must start with the 128-byte preamble + `DICM`, or (no preamble) with an explicit-VR
  File Meta group (0002,eeee) that carries a Transfer Syntax UID  -> else `not_dicom`;
* the four identifying UIDs must be present and non-empty         -> else `missing_tag`;
* with `check_pixels=True` (a full read) native pixel data must be at least
  Rows x Columns x SamplesPerPixel x BitsAllocated / 8 x NumberOfFrames bytes -> else `truncated_pixels`.
  Encapsulated (compressed) pixel data is not length-checked.
Any other read failure is `unreadable`. Fault messages name the file and the tag, never a value read
from the file (values may identify a patient).

Two readers give the same values and faults: the fast path (one small ranged read, the elements walked,
two dozen values decoded: native.py's C walker where it was built, else fast.py's) and pydicom
(`_read_with_pydicom`, the reference), which reads whatever the fast path does not handle exactly. Both
build the header with `header_from` and raise the faults below, so the two cannot drift apart in what
they do with a value.
"""

from __future__ import annotations

import os
import stat
import struct
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, datetime
from io import BytesIO
from operator import attrgetter
from pathlib import Path
from typing import Any

import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue

from medvault.platform.dicom.walk import Unsupported

FAULT_CODES = ("not_dicom", "missing_tag", "truncated_pixels", "unreadable")

# keyword -> (gggg,eeee)
REQUIRED_TAGS = {
    "StudyInstanceUID": "(0020,000D)",
    "SeriesInstanceUID": "(0020,000E)",
    "SOPInstanceUID": "(0008,0018)",
    "SOPClassUID": "(0008,0016)",
}
PIXEL_TAGS = {
    "Rows": "(0028,0010)",
    "Columns": "(0028,0011)",
    "BitsAllocated": "(0028,0100)",
}
PIXEL_DATA_TAG = "(7FE0,0010)"
_META_VRS = {b"UL", b"OB", b"UI", b"SH", b"AE"}


class DicomFault(Exception):
    """Why a file is not a usable DICOM instance: `code` (FAULT_CODES), `message`, optional `tag`."""

    def __init__(self, code: str, message: str, tag: str | None = None):
        super().__init__(code, message, tag)
        self.code = code
        self.message = message
        self.tag = tag

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class DicomHeader:
    """The header fields medvault tracks for one instance (patient_id is PII)."""

    sop_instance_uid: str
    study_uid: str
    series_uid: str
    sop_class_uid: str
    modality: str | None
    series_number: int | None
    instance_number: int | None
    laterality: str | None
    study_date: date | None
    study_time: str | None
    station_name: str | None
    manufacturer: str | None
    model_name: str | None
    institution: str | None
    department: str | None
    rows: int | None
    columns: int | None
    bits_allocated: int | None
    number_of_frames: int | None
    transfer_syntax: str | None
    body_part: str | None
    accession_number: str | None
    study_description: str | None
    patient_id: str | None
    file_size: int

    def as_dict(self) -> dict[str, Any]:
        # what dataclasses.asdict gives for these flat fields, at a fifteenth of its cost (it deep-copies)
        return {name: getattr(self, name) for name in _FIELD_NAMES}

    def as_tuple(self) -> tuple:
        """The values in FIELD_NAMES order (what a pool worker sends back: cheap to pickle)."""
        return _values(self)


FIELD_NAMES = _FIELD_NAMES = tuple(f.name for f in fields(DicomHeader))
_values = attrgetter(*_FIELD_NAMES)


Text = Callable[[str], "str | None"]  # keyword -> the value as `_text` gives it


def clean(value: Any) -> str | None:
    """`_text`'s last step: the value's str without surrounding blanks and NULs, None when empty."""
    text = str(value).strip().strip("\x00").strip()
    return text or None


def int_of(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(float(text.split("\\")[0]))
    except ValueError:
        return None


def date_of(text: str | None) -> date | None:
    if text is None:
        return None
    day = text[:8]
    if (
        len(day) == 8
        and day.isascii()
        and day.isdigit()
        and "01" <= day[4:6] <= "12"
        and "01" <= day[6:] <= "31"
    ):
        try:  # what strptime("%Y%m%d") does with 8 such digits, without its cost
            return date(int(day[:4]), int(day[4:6]), int(day[6:]))
        except ValueError:
            return None
    try:
        return datetime.strptime(text[:8], "%Y%m%d").date()
    except ValueError:
        return None


def _text(ds, keyword: str) -> str | None:
    try:
        value = ds.get(keyword)
    except Exception:
        return None
    if value is None:
        return None
    if isinstance(value, MultiValue):
        value = "\\".join(str(v) for v in value)
    return clean(value)


def _int(ds, keyword: str) -> int | None:
    return int_of(_text(ds, keyword))


def _date(ds, keyword: str) -> date | None:
    return date_of(_text(ds, keyword))


# Faults and header fields shared by both readers (fast.py and pydicom), so their messages and values agree


def not_dicom_fault(name: str) -> DicomFault:
    return DicomFault("not_dicom", f"{name}: no DICOM preamble/'DICM' prefix and no File Meta group")


def check_required(text: Text, name: str) -> None:
    for keyword, tag in REQUIRED_TAGS.items():
        if text(keyword) is None:
            raise DicomFault(
                "missing_tag", f"{name}: required tag {keyword} {tag} is missing or empty", tag=keyword
            )


def no_pixel_data_fault(name: str) -> DicomFault:
    return DicomFault(
        "truncated_pixels",
        f"{name}: an image (Rows, Columns) without pixel data {PIXEL_DATA_TAG}",
        "PixelData",
    )


def check_pixel_length(text: Text, name: str, actual: Callable[[], int]) -> None:
    """Native pixel data must hold Rows x Columns x SamplesPerPixel x BitsAllocated/8 x NumberOfFrames."""
    number = _memo_int
    rows, cols, bits = number(text("Rows")), number(text("Columns")), number(text("BitsAllocated"))
    if rows is None or cols is None or bits is None:
        for keyword, tag in PIXEL_TAGS.items():  # the first missing one, in this order
            if number(text(keyword)) is None:
                raise DicomFault("missing_tag", f"{name}: pixel data without {keyword} {tag}", tag=keyword)
    spp = number(text("SamplesPerPixel")) or 1
    frames = number(text("NumberOfFrames")) or 1
    expected = (rows * cols * spp * bits * frames + 7) // 8
    try:
        length = actual()
    except Exception as exc:
        raise DicomFault(
            "truncated_pixels",
            f"{name}: pixel data {PIXEL_DATA_TAG} unreadable ({type(exc).__name__})",
            "PixelData",
        ) from None
    if length < expected:
        raise DicomFault(
            "truncated_pixels",
            f"{name}: pixel data {PIXEL_DATA_TAG} has {length} bytes, Rows x Columns x SamplesPerPixel x "
            f"BitsAllocated/8 x NumberOfFrames needs {expected}",
            tag="PixelData",
        )


def header_from(text: Text, transfer_syntax: str | None, file_size: int) -> DicomHeader:
    number, day = _memo_int, _memo_date
    return _new_header(
        text("SOPInstanceUID"),
        text("StudyInstanceUID"),
        text("SeriesInstanceUID"),
        text("SOPClassUID"),
        text("Modality"),
        number(text("SeriesNumber")),
        number(text("InstanceNumber")),
        text("ImageLaterality") or text("Laterality"),
        day(text("StudyDate")),
        text("StudyTime"),
        text("StationName"),
        text("Manufacturer"),
        text("ManufacturerModelName"),
        text("InstitutionName"),
        text("InstitutionalDepartmentName"),
        number(text("Rows")),
        number(text("Columns")),
        number(text("BitsAllocated")),
        number(text("NumberOfFrames")) or 1,
        transfer_syntax,
        text("BodyPartExamined"),
        text("AccessionNumber"),
        text("StudyDescription"),
        text("PatientID"),
        file_size,
    )


def _memoized(convert: Callable[[str | None], Any], size: int = 4096) -> Callable[[str | None], Any]:
    """`convert` remembered for the last few thousand texts: numbers and dates repeat from file to file
    (rows, bits, series, the study's date), and parsing them was a tenth of a native header read."""
    memo: dict[str | None, Any] = {None: None}

    def remembered(text: str | None) -> Any:
        value = memo.get(text, memo)  # the memo itself: not seen yet
        if value is memo:
            if len(memo) >= size:
                memo.clear()
                memo[None] = None
            value = memo[text] = convert(text)
        return value

    return remembered


_memo_int, _memo_date = _memoized(int_of), _memoized(date_of)


def _new_header(*values: Any) -> DicomHeader:
    """DicomHeader(*values), without the frozen dataclass's object.__setattr__ per field (a tenth of a
    fast header read); what copy and pickle do too."""
    new = object.__new__(DicomHeader)
    new.__dict__.update(zip(_FIELD_NAMES, values, strict=True))
    return new


# A local read costs a system call, not a round trip: start small (most headers are a few KB; NOTES) and
# let the fast path read on for larger ones. Remote stores use fast.FIRST_READ (64 KB).
LOCAL_FIRST_READ = 8192
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)
# what makes the fast path give up on a file, so that pydicom reads it: what it does not handle (walk's
# Unsupported, fast's Fallback), a local read error, and, never expected, an error of its own (pydicom's
# answer is still right then)
_FAST_PATH_ERRORS = (OSError, Unsupported, struct.error, ValueError, LookupError, ArithmeticError, TypeError)


def read_header(
    path: str | os.PathLike, *, check_pixels: bool = False, name: str | None = None
) -> DicomHeader:
    """Read and check one file's header; raise DicomFault when it is not a usable instance.

    The fast path reads the first LOCAL_FIRST_READ bytes (more for a larger header) through one open
    file; whatever it does not handle goes to pydicom, which gives the same values and faults, slower."""
    name = name or str(Path(path))  # messages name the dropped file, not a server path
    if native.ENABLED:  # the C walker opens, reads and walks the file itself
        try:
            return native.read_path(path, name, check_pixels, LOCAL_FIRST_READ)
        except _FAST_PATH_ERRORS:
            return _read_with_pydicom(path, check_pixels=check_pixels, name=name)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError:
        return _read_with_pydicom(path, check_pixels=check_pixels, name=name)  # raises `unreadable`
    try:
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode):
            reader = _ranges(fd)
            return fast.read_fast(
                reader, st.st_size, name, check_pixels=check_pixels, first_read=LOCAL_FIRST_READ
            )[0]
    except _FAST_PATH_ERRORS:
        pass
    finally:
        os.close(fd)
    return _read_with_pydicom(path, check_pixels=check_pixels, name=name)


def read_header_ranged(
    read_range: Callable[[int, int], bytes],
    size: int,
    name: str,
    *,
    check_pixels: bool = False,
    fetch_all: Callable[[], Path] | None = None,
) -> DicomHeader:
    """`read_header` for an object in a remote store read by `read_range(offset, length)`: usually a
    64 KB ranged read. The fallback to pydicom needs the whole object: `fetch_all()` (a local copy) when
    given, else one read of all `size` bytes."""
    read_fast = native.read_native if native.ENABLED else fast.read_fast
    try:
        return read_fast(read_range, size, name, check_pixels=check_pixels)[0]
    except _FAST_PATH_ERRORS[1:]:  # not OSError: a failing store fails the read, as it would pydicom's
        pass
    if fetch_all is not None:
        return _read_with_pydicom(fetch_all(), check_pixels=check_pixels, name=name)
    data = read_range(0, size) if size else b""
    has_preamble = _sniff_head(data[:132], name)
    return _from_pydicom(BytesIO(data), has_preamble, check_pixels, name, lambda: size)


def _ranges(fd: int) -> Callable[[int, int], bytes]:
    if hasattr(os, "pread"):
        return lambda offset, length: os.pread(fd, length, offset)

    def read_range(offset: int, length: int) -> bytes:
        os.lseek(fd, offset, os.SEEK_SET)
        return os.read(fd, length)

    return read_range


def _sniff_head(head: bytes, name: str) -> bool:
    """True for preamble + DICM, False for a preamble-less File Meta group; raise not_dicom otherwise."""
    if len(head) == 132 and head[128:132] == b"DICM":
        return True
    if len(head) >= 8 and head[:2] == b"\x02\x00" and head[4:6] in _META_VRS:
        return False
    raise not_dicom_fault(name)


def _sniff(path: Path, name: str) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError as exc:
        raise DicomFault("unreadable", f"{name}: cannot open the file ({type(exc).__name__})") from None
    return _sniff_head(head, name)


def _read_with_pydicom(
    path: str | os.PathLike, *, check_pixels: bool = False, name: str | None = None
) -> DicomHeader:
    """The reference reader: pydicom on the whole file (the fast path is tested against it)."""
    path = Path(path)
    name = name or str(path)
    has_preamble = _sniff(path, name)
    return _from_pydicom(path, has_preamble, check_pixels, name, lambda: path.stat().st_size)


def _from_pydicom(
    source: Path | BytesIO, has_preamble: bool, check_pixels: bool, name: str, file_size: Callable[[], int]
) -> DicomHeader:
    try:
        ds = pydicom.dcmread(source, stop_before_pixels=not check_pixels, force=not has_preamble)
    except InvalidDicomError:
        raise DicomFault("not_dicom", f"{name}: not a DICOM file") from None
    except Exception as exc:
        raise DicomFault("unreadable", f"{name}: header cannot be parsed ({type(exc).__name__})") from None
    meta = getattr(ds, "file_meta", None)
    transfer_syntax = None
    if meta is not None and "TransferSyntaxUID" in meta:
        transfer_syntax = str(meta.TransferSyntaxUID).strip() or None
    if not has_preamble and transfer_syntax is None:
        raise DicomFault(
            "not_dicom", f"{name}: no preamble and no Transfer Syntax UID in the File Meta group"
        )

    def text(keyword: str) -> str | None:
        return _text(ds, keyword)

    check_required(text, name)
    if check_pixels and "PixelData" in ds:
        if transfer_syntax is None or not pydicom.uid.UID(transfer_syntax).is_encapsulated:
            check_pixel_length(text, name, lambda: len(ds.PixelData or b""))
    elif check_pixels and "Rows" in ds and "Columns" in ds:  # an image without its pixels: cut short
        raise no_pixel_data_fault(name)
    return header_from(text, transfer_syntax, file_size())


from medvault.platform.dicom import fast, native  # noqa: E402  (they build on the definitions above)

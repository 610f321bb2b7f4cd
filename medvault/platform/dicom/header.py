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
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue

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
    patient_id: str | None
    file_size: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _text(ds, keyword: str) -> str | None:
    try:
        value = ds.get(keyword)
    except Exception:
        return None
    if value is None:
        return None
    if isinstance(value, MultiValue):
        value = "\\".join(str(v) for v in value)
    text = str(value).strip().strip("\x00").strip()
    return text or None


def _int(ds, keyword: str) -> int | None:
    text = _text(ds, keyword)
    if text is None:
        return None
    try:
        return int(float(text.split("\\")[0]))
    except ValueError:
        return None


def _date(ds, keyword: str) -> date | None:
    text = _text(ds, keyword)
    if text is None:
        return None
    try:
        return datetime.strptime(text[:8], "%Y%m%d").date()
    except ValueError:
        return None


def _sniff(path: Path, name: str) -> bool:
    """True for preamble + DICM, False for a preamble-less File Meta group; raise not_dicom otherwise."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError as exc:
        raise DicomFault("unreadable", f"{name}: cannot open the file ({type(exc).__name__})") from None
    if len(head) == 132 and head[128:132] == b"DICM":
        return True
    if len(head) >= 8 and head[:2] == b"\x02\x00" and head[4:6] in _META_VRS:
        return False
    raise DicomFault("not_dicom", f"{name}: no DICOM preamble/'DICM' prefix and no File Meta group")


def _expected_pixel_bytes(ds) -> int:
    rows, cols, bits = (_int(ds, k) for k in ("Rows", "Columns", "BitsAllocated"))
    spp = _int(ds, "SamplesPerPixel") or 1
    frames = _int(ds, "NumberOfFrames") or 1
    total_bits = rows * cols * spp * bits * frames
    return (total_bits + 7) // 8


def read_header(
    path: str | os.PathLike, *, check_pixels: bool = False, name: str | None = None
) -> DicomHeader:
    """Read and check one file's header; raise DicomFault when it is not a usable instance."""
    path = Path(path)
    name = name or str(path)  # messages name the dropped file, not a server path
    has_preamble = _sniff(path, name)
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=not check_pixels, force=not has_preamble)
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

    for keyword, tag in REQUIRED_TAGS.items():
        if _text(ds, keyword) is None:
            raise DicomFault(
                "missing_tag", f"{name}: required tag {keyword} {tag} is missing or empty", tag=keyword
            )

    if check_pixels and "PixelData" in ds:
        _check_pixels(ds, name, transfer_syntax)
    elif check_pixels and "Rows" in ds and "Columns" in ds:  # an image without its pixels: cut short
        raise DicomFault(
            "truncated_pixels",
            f"{name}: an image (Rows, Columns) without pixel data {PIXEL_DATA_TAG}",
            "PixelData",
        )

    laterality = _text(ds, "ImageLaterality") or _text(ds, "Laterality")
    return DicomHeader(
        sop_instance_uid=_text(ds, "SOPInstanceUID"),
        study_uid=_text(ds, "StudyInstanceUID"),
        series_uid=_text(ds, "SeriesInstanceUID"),
        sop_class_uid=_text(ds, "SOPClassUID"),
        modality=_text(ds, "Modality"),
        series_number=_int(ds, "SeriesNumber"),
        instance_number=_int(ds, "InstanceNumber"),
        laterality=laterality,
        study_date=_date(ds, "StudyDate"),
        study_time=_text(ds, "StudyTime"),
        station_name=_text(ds, "StationName"),
        manufacturer=_text(ds, "Manufacturer"),
        model_name=_text(ds, "ManufacturerModelName"),
        institution=_text(ds, "InstitutionName"),
        department=_text(ds, "InstitutionalDepartmentName"),
        rows=_int(ds, "Rows"),
        columns=_int(ds, "Columns"),
        bits_allocated=_int(ds, "BitsAllocated"),
        number_of_frames=_int(ds, "NumberOfFrames") or 1,
        transfer_syntax=transfer_syntax,
        patient_id=_text(ds, "PatientID"),
        file_size=path.stat().st_size,
    )


def _check_pixels(ds, name: str, transfer_syntax: str | None) -> None:
    if transfer_syntax is not None and pydicom.uid.UID(transfer_syntax).is_encapsulated:
        return
    for keyword, tag in PIXEL_TAGS.items():
        if _int(ds, keyword) is None:
            raise DicomFault("missing_tag", f"{name}: pixel data without {keyword} {tag}", tag=keyword)
    expected = _expected_pixel_bytes(ds)
    try:
        actual = len(ds.PixelData or b"")
    except Exception as exc:
        raise DicomFault(
            "truncated_pixels",
            f"{name}: pixel data {PIXEL_DATA_TAG} unreadable ({type(exc).__name__})",
            "PixelData",
        ) from None
    if actual < expected:
        raise DicomFault(
            "truncated_pixels",
            f"{name}: pixel data {PIXEL_DATA_TAG} has {actual} bytes, Rows x Columns x SamplesPerPixel x "
            f"BitsAllocated/8 x NumberOfFrames needs {expected}",
            tag="PixelData",
        )

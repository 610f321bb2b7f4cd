"""Extra header values a deployment asks for (`rules/dicom.yaml`), as VARCHAR columns of `dicom.instances`.

Why: the built-in columns serve the platform; a study team often needs one more value (slice thickness,
a protocol name, a code inside a sequence). A tag is named by keyword (`SliceThickness`) or number
(`(0018,0050)`), and a value inside a sequence by a path: `ProcedureCodeSequence[0].CodeMeaning`
(`[n]` picks item n, from 0; without it the first item). Values read as pydicom gives them (a
multi-value joined by `\\`, blanks stripped); a tag the file lacks is NULL, never a fault.

These are read by pydicom with `specific_tags` (only the named top-level elements are converted), a
pass of its own next to the fast header read: configuring extra tags costs header-reading speed,
none configured costs nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword

from medvault.platform.dicom.header import clean

_NUMBER = re.compile(r"^\(([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\)$")
_STEP = re.compile(r"^(?P<tag>\([0-9A-Fa-f]{4},[0-9A-Fa-f]{4}\)|[A-Za-z][A-Za-z0-9]*)(\[(?P<item>\d+)\])?$")
_CHARSET = 0x00080005
PATIENT_GROUP = 0x0010


@dataclass(frozen=True)
class ExtraTag:
    """One extra column: its name, the path to its value ((tag, item) steps) and whether it is pii."""

    column: str
    path: tuple[tuple[int, int], ...]
    spec: str  # as written in the rules, for the column's description
    pii: bool = False
    description: str = ""


def tag_number(text: str) -> int | None:
    """A keyword of the DICOM dictionary or `(gggg,eeee)` as the tag's number; None when neither."""
    match = _NUMBER.match(text)
    if match:
        return int(match.group(1), 16) << 16 | int(match.group(2), 16)
    return tag_for_keyword(text)


def parse_path(text: str) -> tuple[tuple[tuple[int, int], ...], str | None]:
    """The (tag, item) steps of a tag path and None, or () and why it is not a valid path."""
    steps = []
    parts = text.split(".")
    for i, part in enumerate(parts):
        match = _STEP.match(part.strip())
        if not match:
            return (), f"{part!r} is not a keyword, a (gggg,eeee) tag or either followed by [n]"
        tag = tag_number(match.group("tag"))
        if tag is None:
            return (), f"{match.group('tag')!r} is not a keyword of the DICOM dictionary"
        last = i == len(parts) - 1
        vr = _dictionary_vr(tag)
        if not last and vr not in ("SQ", None):
            return (), f"{match.group('tag')!r} is not a sequence, so nothing can follow it"
        if last and match.group("item") is not None:
            return (), f"[n] picks an item of a sequence; {match.group('tag')!r} ends the path"
        if last and vr == "SQ":
            return (), f"{match.group('tag')!r} is a sequence: name a value inside it (Sequence.Keyword)"
        if tag >> 16 == 0x7FE0:
            return (), "pixel data is not a header value"
        steps.append((tag, int(match.group("item") or 0)))
    return tuple(steps), None


def _dictionary_vr(tag: int) -> str | None:
    try:
        return dictionary_VR(tag)
    except KeyError:
        return None  # a private or unknown tag: its VR comes from the file


def is_patient_tag(path: tuple[tuple[int, int], ...]) -> bool:
    """A value of the patient module (group 0010) anywhere on the path: patient data."""
    return any(tag >> 16 == PATIENT_GROUP for tag, _ in path)


def describe_extra(extra: ExtraTag) -> str:
    names = ".".join(keyword_for_tag(tag) or f"({tag >> 16:04X},{tag & 0xFFFF:04X})" for tag, _ in extra.path)
    doc = extra.description or f"extra tag {names} (rules/dicom.yaml)"
    return doc + ("; patient data (pii)" if extra.pii else "")


def read_extra(source: Path | BinaryIO, extras: tuple[ExtraTag, ...]) -> dict[str, str | None]:
    """column -> value of every extra tag of the file at `source`, a path or a seekable file object (NULL
    for a tag the file lacks or a file pydicom cannot read: the header was read and checked already)."""
    if not extras:
        return {}
    import pydicom

    tops = sorted({_CHARSET, *(e.path[0][0] for e in extras)})
    try:
        if not isinstance(source, (str, Path)):
            source.seek(0)
        ds = pydicom.dcmread(source, stop_before_pixels=True, specific_tags=tops)
    except Exception:
        return {e.column: None for e in extras}
    return {e.column: _value(ds, e.path) for e in extras}


def _value(ds, path: tuple[tuple[int, int], ...]) -> str | None:
    node = ds
    try:
        for tag, item in path[:-1]:
            element = node.get(tag)
            if element is None or element.VR != "SQ" or len(element.value) <= item:
                return None
            node = element.value[item]
        element = node.get(path[-1][0])
        if element is None or element.value is None or element.VR == "SQ":
            return None
        value = element.value
    except Exception:  # a value pydicom cannot convert: not this column's business to fail the file
        return None
    if isinstance(value, bytes):
        return value.hex() or None
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return clean("\\".join(str(v) for v in value))
    return clean(value)

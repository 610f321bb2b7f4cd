"""Error codes of the delivery pipeline, with their meaning (docs/dicom.md prints the same table).

`failed` codes leave the file undelivered (seed 004 scenario 2); the others deliver it with
`has_error` (scenario 1). The DICOM step's faults (not_dicom, missing_tag, ...) end the file `failed`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorCode:
    code: str
    fatal: bool  # True: status failed, not delivered; False: completed with has_error
    meaning: str


CODES: dict[str, ErrorCode] = {
    c.code: c
    for c in (
        ErrorCode(
            "not_dicom", True, "No DICOM preamble and 'DICM' prefix, and no File Meta group: not an image."
        ),
        ErrorCode(
            "missing_tag", True, "A required UID (study, series, SOP instance, SOP class) is absent or empty."
        ),
        ErrorCode(
            "truncated_pixels",
            True,
            "Pixel data shorter than Rows x Columns x Samples x Bits x Frames, or absent.",
        ),
        ErrorCode("unreadable", True, "The header cannot be parsed (corrupt lengths, unreadable file meta)."),
        ErrorCode("duplicate_instance", True, "Another file of the drop carries the same SOP Instance UID."),
        ErrorCode("empty_file", True, "The file has no bytes."),
        ErrorCode("source_missing", True, "The immutable raw copy of the file is missing from the lake."),
        ErrorCode("copy_failed", True, "The destination store refused the temporary or the final copy."),
        ErrorCode(
            "stamp_failed", False, "The pipeline UID could not be written; the file was delivered unstamped."
        ),
        ErrorCode(
            "name_field_missing",
            False,
            "A field of the naming template had no value; 'NA' stands in its place.",
        ),
    )
}


def is_fatal(code: str) -> bool:
    """Unknown codes (a fault added elsewhere) count as fatal: never deliver what was not understood."""
    known = CODES.get(code)
    return True if known is None else known.fatal

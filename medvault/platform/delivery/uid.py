"""Seed 004's pipeline UID, `<root>.<file id>.<scan id>`: a valid DICOM UID of at most 64 characters."""

from __future__ import annotations

import re

MAX_UID = 64
# components are numbers without leading zeros (PS3.5 9.1); the root leaves room for two 9-digit ids
_UID = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")
MAX_ROOT = MAX_UID - 2 * 10


def uid_problem(root: str) -> str | None:
    """Why `root` cannot be a UID root (None when it can)."""
    if not _UID.match(root):
        return f"{root!r} is not a DICOM UID (digits and dots, no leading zeros, PS3.5 9.1)"
    if len(root) > MAX_ROOT:
        return f"{root!r} has {len(root)} characters; a root takes at most {MAX_ROOT} (UIDs take {MAX_UID})"
    return None


def pipeline_uid(root: str, file_id: int, scan_id: int) -> str:
    uid = f"{root}.{int(file_id)}.{int(scan_id)}"
    if len(uid) > MAX_UID:
        raise ValueError(f"pipeline UID for file {file_id} scan {scan_id} exceeds {MAX_UID} characters")
    return uid

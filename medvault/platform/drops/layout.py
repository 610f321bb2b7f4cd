"""The one drop convention every store follows: `<root>/<site>/<YYYY-MM-DD>/<file>`.

Why strict: a file's partition (site x date) comes from its path alone, so a sensor can list
date-scoped prefixes and a run knows exactly which files it owns. Anything else is quarantined with
the reason this module gives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

SITE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MARKER_SUFFIXES = (".done",)
PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".filepart")
DROP_DONE_MARKER = "_DONE"
# files outside the convention are quarantined under this pseudo-site (it can never be a real site code)
STRAYS_SITE = "_strays"


@dataclass(frozen=True)
class DropPath:
    site: str
    date: str  # YYYY-MM-DD
    name: str

    @property
    def key(self) -> str:
        return f"{self.site}/{self.date}/{self.name}"


class DropLayoutError(ValueError):
    """A key that does not follow the drop convention; `code` is the quarantine reason code."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


def is_valid_site(site: str) -> bool:
    return bool(SITE_PATTERN.match(site))


def is_valid_date(text: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def partition_range(start: date, today: date) -> tuple[str, str]:
    """The dates a drop folder may have to be a partition: MEDVAULT_START_DATE to tomorrow (a site's clock
    may run a few hours ahead of UTC)."""
    return start.isoformat(), (today + timedelta(days=1)).isoformat()


def is_marker(name: str) -> bool:
    """Completion markers (`x.csv.done`, `_DONE`) are control files, never data."""
    return name == DROP_DONE_MARKER or name.endswith(MARKER_SUFFIXES)


def is_partial(name: str) -> bool:
    """An upload still in progress under a temporary name."""
    return name.endswith(PARTIAL_SUFFIXES)


def parse_drop_key(key: str) -> DropPath:
    """Split a store key into (site, date, name) or raise DropLayoutError saying why it cannot be."""
    parts = key.split("/")
    if any(p in ("..", ".") for p in parts) or key.startswith("/"):
        raise DropLayoutError("unsafe_path", f"{key!r}: path traversal or absolute path is not allowed")
    if "\\" in key or any(ord(ch) < 32 for ch in key):
        raise DropLayoutError(
            "unsafe_path", f"{key!r}: backslashes and control characters are not allowed in names"
        )
    if len(parts) != 3:
        raise DropLayoutError(
            "outside_convention",
            f"{key!r}: expected <site>/<YYYY-MM-DD>/<file>, got {len(parts)} path segment(s)",
        )
    site, day, name = parts
    if not is_valid_site(site):
        raise DropLayoutError("bad_site", f"{key!r}: site folder {site!r} must be lower_snake_case")
    if not is_valid_date(day):
        raise DropLayoutError(
            "bad_date_folder", f"{key!r}: date folder {day!r} is not a real YYYY-MM-DD date"
        )
    if name.startswith("."):
        raise DropLayoutError("hidden_file", f"{key!r}: hidden files are not data")
    return DropPath(site, day, name)


def display_key(key: str) -> str:
    """The key as valid UTF-8 text (a non-UTF-8 file name arrives with surrogate escapes)."""
    return key.encode("utf-8", "surrogateescape").decode("utf-8", "replace")

"""Destination file names from seed 004's template, `[form]_[field]_[participant]_..._[timestamp]`.

Each `[field]` of the template is filled from a source declared in the rules: a literal (`value`), a
DICOM header field (`tag`, by keyword or `(gggg,eeee)`), a part of the drop path below the partition
folder (`path`: a folder index, or `stem` for the file name without extension), or a keyed pseudonym of
a header field (`pseudonym`: an HMAC, so a participant code never shows a patient identifier). Built in:
`fileid`, `revision`, `timestamp` (first delivery, `YYYYMMDD_HHMMSS`, UTC), `site` and `date`.
Whitespace is stripped and characters unsafe in a file or object name become `-` (seed 004).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath

BUILT_IN = ("fileid", "revision", "timestamp", "site", "date")
SOURCES = ("value", "tag", "path", "pseudonym")
MISSING = "NA"  # a field whose source has no value (the file is then delivered with has_error)
_FIELD = re.compile(r"\[([a-z][a-z0-9_]*)\]")
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


@dataclass(frozen=True)
class FieldSource:
    """Where one template field takes its value: `kind` in SOURCES, `arg` what it names (for `tag` and
    `pseudonym` the `dicom.instances` column holding the tag, resolved when the rules are read)."""

    kind: str
    arg: str


@dataclass(frozen=True)
class NameTemplate:
    template: str
    fields: dict[str, FieldSource] = field(default_factory=dict)

    def names(self) -> list[str]:
        return _FIELD.findall(self.template)

    def folder_fields(self) -> tuple[str, str]:
        """The fields of seed 004's destination folder `<form><field>/`: the template's first two."""
        names = self.names()
        return (names[0], names[1]) if len(names) > 1 else (names[0], "") if names else ("", "")


@dataclass(frozen=True)
class Rendered:
    name: str  # without extension
    folder: str
    missing: tuple[str, ...]  # fields that had no value (filled with MISSING)


def pseudonym(secret: bytes, site: str, value: str, digits: int = 12) -> str:
    """A stable, keyed code for a value (the first `digits` hex digits of HMAC-SHA256 over site and value;
    12 in delivery names, 32 for the marts' patient keys)."""
    return hmac.new(secret, f"{site}|{value}".encode(), hashlib.sha256).hexdigest()[:digits]


def clean(value: object) -> str:
    """Seed 004: whitespace stripped; here also any character unsafe in a path becomes '-'."""
    text = re.sub(r"\s+", "", str(value))
    return _UNSAFE.sub("-", text)


def path_part(source_key: str, partition_prefix: str, arg: str) -> str | None:
    """A folder of the drop path below `<site>/<date>/` by index, or `stem` (the file name sans suffix)."""
    below = (
        source_key[len(partition_prefix) :].lstrip("/")
        if source_key.startswith(partition_prefix)
        else source_key
    )
    parts = PurePosixPath(below).parts
    if arg == "stem":
        return PurePosixPath(below).stem or None
    index = int(arg)
    folders = parts[:-1]
    return folders[index] if -len(folders) <= index < len(folders) else None


def render(
    template: NameTemplate,
    *,
    header: dict[str, object],
    builtins: dict[str, object],
    source_key: str,
    partition_prefix: str,
    secret: bytes,
    site: str,
) -> Rendered:
    """The destination name (no extension) and folder for one file; missing values become MISSING."""
    values: dict[str, str] = {}
    missing: list[str] = []
    for name in template.names():
        if name in builtins:
            raw = builtins[name]
        else:
            source = template.fields[name]
            raw = _value(source, header, source_key, partition_prefix, secret, site)
        text = clean(raw) if raw not in (None, "") else ""
        if not text:
            missing.append(name)
            text = MISSING
        values[name] = text
    name = _FIELD.sub(lambda m: values[m.group(1)], template.template)
    first, second = template.folder_fields()
    return Rendered(clean(name), values.get(first, "") + values.get(second, ""), tuple(missing))


def _value(source, header, source_key, partition_prefix, secret, site):
    if source.kind == "value":
        return source.arg
    if source.kind == "path":
        return path_part(source_key, partition_prefix, source.arg)
    value = header.get(source.arg)
    if source.kind == "pseudonym":
        return pseudonym(secret, site, str(value)) if value not in (None, "") else None
    return value


def timestamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%d_%H%M%S")

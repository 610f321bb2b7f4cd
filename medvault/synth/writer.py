"""Rendering extracts to bytes and writing them the way a careful uploader does.

Why `.part` then rename: the platform accepts a file only once it has its final name, and a drop
folder only once `_DONE` exists, so readers never see half-written files.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

from medvault.platform.drops.layout import DROP_DONE_MARKER

DONE_MARKER = DROP_DONE_MARKER


@dataclass
class OutFile:
    """One file of a drop folder before it is written."""

    site: str
    date: str  # YYYY-MM-DD
    system: str
    version: str
    table: str
    name: str
    kind: str  # csv | ndjson | dicom
    header: list[tuple[str, str]] = field(default_factory=list)  # (canonical, source header), csv only
    rows: list = field(default_factory=list)  # dict rows (csv: canonical keys) or documents (ndjson)
    data: bytes = b""  # dicom only
    encoding: str = "utf-8"
    pad_seed: int | None = None  # stray spaces around text values when set
    children: dict[str, int] = field(default_factory=dict)  # child table -> exploded rows
    duplicate_of: str | None = None

    @property
    def path(self) -> str:
        return f"{self.site}/{self.date}/{self.name}"

    @property
    def row_count(self) -> int:
        return 1 if self.kind == "dicom" else len(self.rows)

    def render(self) -> bytes:
        if self.kind == "dicom":
            return self.data
        if self.kind == "ndjson":
            text = "".join(
                json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n" for doc in self.rows
            )
            return text.encode(self.encoding)
        return render_csv(self.header, self.rows, self.pad_seed).encode(self.encoding)


def _pad(value: str, rng: random.Random) -> str:
    if not value or rng.random() < 0.4:
        return value
    return " " * rng.randint(0, 2) + value + " " * rng.randint(1, 2)


def render_csv(header: list[tuple[str, str]], rows: list[dict], pad_seed: int | None = None) -> str:
    """Comma-separated, header first, `\\n` line ends; a row's `_extra` values make it ragged."""
    rng = random.Random(pad_seed) if pad_seed is not None else None
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([source for _, source in header])
    for row in rows:
        values = [row.get(name, "") for name, _ in header]
        if rng is not None:
            values = [_pad(v, rng) for v in values]
        writer.writerow(values + list(row.get("_extra", ())))
    return buffer.getvalue()


def write_atomic(path: Path, data: bytes) -> None:
    """Write `<name>.part`, then rename it to `<name>`; an identical file already there is left alone,
    so generating twice into the same folder is not a new drop."""
    if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    part.write_bytes(data)
    os.replace(part, path)


def write_done(folder: Path) -> None:
    """The empty `_DONE` marker, written after every other file of the folder."""
    if not (folder / DONE_MARKER).exists():
        (folder / DONE_MARKER).write_bytes(b"")

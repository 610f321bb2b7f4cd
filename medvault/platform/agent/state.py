"""What the agent remembers between runs: per table, the watermark and key of the last row pushed.

Why it is written only after a push completed: a crash at any point then re-sends at most the batch in
flight (from the outbox, byte for byte), never skips a row. The file is replaced atomically (write, fsync,
rename), so a power loss leaves the old state or the new one, never half of one. A lock file keeps two
agents (an overlapping cron run) from pushing the same site at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

STATE_FORMAT = 1


class StateError(RuntimeError):
    """The state folder cannot be used (locked by another run, unreadable, corrupt)."""


def encode_value(value) -> dict | None:
    """A watermark or key value as JSON that decodes to the same type (so comparisons stay typed)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return {"type": "datetime", "value": value.isoformat()}
    if isinstance(value, date):
        return {"type": "date", "value": value.isoformat()}
    if isinstance(value, bool):
        return {"type": "int", "value": int(value)}
    if isinstance(value, int):
        return {"type": "int", "value": value}
    if isinstance(value, Decimal):
        return {"type": "decimal", "value": str(value)}
    return {"type": "str", "value": str(value)}


def decode_value(data: dict | None):
    if data is None:
        return None
    kind, value = data["type"], data["value"]
    return {
        "datetime": datetime.fromisoformat,
        "date": date.fromisoformat,
        "int": int,
        "decimal": Decimal,
        "str": str,
    }[kind](value)


def write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    with contextlib.suppress(OSError):  # the rename itself survives a power loss once the folder is synced
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class AgentState:
    """The watermarks of one site's tables, keyed `<system>/<version>/<table>`."""

    def __init__(self, path: Path, site: str, tables: dict[str, dict] | None = None):
        self.path = path
        self.site = site
        self.tables: dict[str, dict] = tables or {}

    @classmethod
    def load(cls, path: Path, site: str) -> AgentState:
        if not path.exists():
            return cls(path, site)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StateError(
                f"{path}: the agent's state cannot be read ({exc}); restore it from a backup, or remove it "
                "to send everything again (the central platform skips rows it already has)"
            ) from None
        if data.get("format") != STATE_FORMAT or data.get("site") != site:
            raise StateError(
                f"{path}: state of site {data.get('site')!r} (format {data.get('format')}), not {site!r}"
            )
        return cls(path, site, data.get("tables") or {})

    def since(self, label: str, table: str) -> tuple:
        """(watermark, key) of the last row pushed, (None, None) before the first push."""
        entry = self.tables.get(f"{label}/{table}") or {}
        return decode_value(entry.get("watermark")), decode_value(entry.get("key"))

    def advance(self, label: str, table: str, entry: dict, batch: str) -> None:
        name = f"{label}/{table}"
        old = self.tables.get(name) or {}
        self.tables[name] = {
            "watermark": entry["watermark"],
            "key": entry["key"],
            "rows_sent": int(old.get("rows_sent", 0)) + int(entry["rows"]),
            "last_batch": batch,
        }

    def save(self) -> None:
        write_json_atomic(self.path, {"format": STATE_FORMAT, "site": self.site, "tables": self.tables})


class StateLock:
    """An exclusive lock on the site's state folder for the length of a run."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._fd: int | None = None

    def __enter__(self) -> StateLock:
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._fd = os.open(self.folder / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StateError(f"state folder {self.folder} cannot be used: {exc.strerror or exc}") from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = None
            raise StateError(
                f"another agent run holds {self.folder / 'lock'}; this run stops (the other one pushes)"
            ) from None
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

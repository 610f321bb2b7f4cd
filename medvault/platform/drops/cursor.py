"""The drop scan's cursor: compact JSON that Dagster stores with the sensor between ticks.

Per-file state is kept only for folders in the look-back window; closed folders are kept as date ranges
("2026-01-01/2026-01-31,2026-03-02"), so 10,000 seen files fit in tens of KB.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date as Date
from datetime import timedelta

CURSOR_VERSION = 1


def vdigest(version: str) -> str:
    """A short stand-in for a version in the cursor (only compared for equality)."""
    return hashlib.blake2b(version.encode(), digest_size=6).hexdigest()


def encode_dates(dates: set[str]) -> str:
    """Sorted dates as runs of consecutive days: '2026-01-01/2026-01-31,2026-03-02'."""
    runs: list[str] = []
    start = prev = None
    for text in sorted(dates):
        day = Date.fromisoformat(text)
        if prev is not None and day == prev + timedelta(days=1):
            prev = day
            continue
        if start is not None:
            runs.append(start.isoformat() if start == prev else f"{start.isoformat()}/{prev.isoformat()}")
        start = prev = day
    if start is not None:
        runs.append(start.isoformat() if start == prev else f"{start.isoformat()}/{prev.isoformat()}")
    return ",".join(runs)


def decode_dates(text: str) -> set[str]:
    out: set[str] = set()
    for run in filter(None, text.split(",")):
        first, _, last = run.partition("/")
        day, end = Date.fromisoformat(first), Date.fromisoformat(last or first)
        while day <= end:
            out.add(day.isoformat())
            day += timedelta(days=1)
    return out


def load_cursor(cursor: str | None) -> dict:
    if not cursor:
        return {"v": CURSOR_VERSION, "s": {}, "p": {}, "b": [], "x": {}}
    try:
        state = json.loads(cursor)
    except ValueError as exc:
        raise ValueError(
            "unreadable drop-scan cursor (not JSON); scan with cursor=None to start over"
        ) from exc
    if not isinstance(state, dict) or state.get("v") != CURSOR_VERSION:
        raise ValueError(
            f"drop-scan cursor has an unknown format (want v={CURSOR_VERSION}); scan with cursor=None"
        )
    state.setdefault("s", {})
    state.setdefault("p", {})
    state.setdefault("b", [])
    state.setdefault("x", {})
    return state

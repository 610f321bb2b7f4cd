"""A stop asked for by the operator (Ctrl-C, SIGTERM from a container stop): one process-wide flag.

The signal interrupts whatever runs (a DuckDB query ends with "Query interrupted"); the steps' "one
broken table must not stop the others" handlers check the flag and stop instead of going on, and the
runner starts no further run.
"""

from __future__ import annotations

import threading

import duckdb

_STOP = threading.Event()
_WHY: list[str] = []  # why the process stopped itself, when it was not the operator (one sentence)


def request(why: str | None = None) -> None:
    if why and not _WHY:
        _WHY.append(why)
    _STOP.set()


def reason() -> str | None:
    """The sentence a self-stop gave (a bounded wait that ran out), None for an operator's stop."""
    return _WHY[0] if _WHY else None


def requested() -> bool:
    return _STOP.is_set()


def interrupted(exc: BaseException) -> bool:
    """Is this error the operator's stop (a query DuckDB ended on the signal)? It then stops the process."""
    if isinstance(exc, duckdb.InterruptException):
        request()
    return requested()

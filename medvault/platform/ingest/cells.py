"""Header cells: is a would-be column name really a value (a data row where the header should be), and
how a name may be shown in a reason (a value, perhaps a patient's, only by its length)."""

from __future__ import annotations

import re

_DATA_LIKE = re.compile(
    r"^[-+]?\d+([.,]\d+)?$|^\d{4}-\d{2}-\d{2}([T ].*)?$|^\d{1,2}/\d{1,2}/\d{2,4}$|^\d{8}(\d{6})?$"
    r"|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$|^\d+(\.\d+){3,}$"
    r"|^\d{1,2}:\d{2}(:\d{2})?$|^[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}$",  # times, UK postcodes
    re.IGNORECASE,
)
DATA_LIKE_SHARE = 3  # a header with at least 1 in 3 data-like names is a data row (7 of 18 is evidence)


def is_data_like(cell: str) -> bool:
    """A number, date, time, identifier or postcode: a value, not a column name."""
    return bool(_DATA_LIKE.match(cell.strip()))


def data_like_count(cells: list[str]) -> tuple[int, int]:
    """(data-like cells, non-empty cells) of a would-be header."""
    values = [c for c in cells if c.strip()]
    return sum(1 for v in values if is_data_like(v)), len(values)


def looks_like_data(cells: list[str]) -> bool:
    """True when a would-be header is really a data row (at least a third of its fields are values)."""
    hits, values = data_like_count(cells)
    return not values or hits * DATA_LIKE_SHARE >= values


def shown_name(cell: str) -> str:
    """A header name as reasons may show it: a data-like one (a value where a name should be, perhaps a
    patient's) only by its length."""
    return f"<{len(cell.strip())} chars>" if is_data_like(cell) else cell.strip()


def clean_header(cells: list[str]) -> list[str]:
    """Trim cells; unquote a cell quoted after leading spaces (` "id" `), which csv leaves quoted."""
    out = []
    for cell in cells:
        c = cell.strip().strip("\ufeff").strip()
        if len(c) >= 2 and c[0] == c[-1] == '"':
            c = c[1:-1].replace('""', '"').strip()
        out.append(c)
    return out

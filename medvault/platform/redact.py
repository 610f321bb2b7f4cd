"""Error text safe for logs: quoted literals (where databases echo data values) become <value>."""

from __future__ import annotations

import re

_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def safe_error(exc: BaseException, limit: int = 300) -> str:
    """`Type: message` with every quoted literal replaced, so a value from a row never reaches a log."""
    text = _QUOTED.sub("<value>", str(exc))
    return f"{type(exc).__name__}: {text[:limit]}"

"""Error text safe for logs: quoted literals (where databases echo data values) become <value>, and
credentials in URLs (`scheme://user:secret@host`) become ***."""

from __future__ import annotations

import re

_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_USERINFO = re.compile(r"([a-z][a-z0-9+.-]*://)[^@/\s]*@", re.IGNORECASE)


def safe_error(exc: BaseException, limit: int = 300) -> str:
    """`Type: message` with every quoted literal replaced, so a value from a row never reaches a log."""
    text = _USERINFO.sub(r"\1***@", _QUOTED.sub("<value>", str(exc)))  # and no credentials in a URL
    return f"{type(exc).__name__}: {text[:limit]}"

"""Which DICOM tag each `dicom.instances` column holds, by keyword and by `(gggg,eeee)`, for rules that
name a tag (the delivery naming template); read from the column documentation so the two never drift."""

from __future__ import annotations

import re

from medvault.platform.dicom.extract import COLUMN_DOCS

_TAG = re.compile(r"([A-Za-z]+) \((\w{4}),(\w{4})\)")


def header_tags() -> dict[str, str]:
    """Keyword and `(GGGG,EEEE)` (upper case) -> column, for every column read from one tag."""
    out: dict[str, str] = {}
    for column, doc in COLUMN_DOCS.items():
        for keyword, group, element in _TAG.findall(doc):
            out.setdefault(keyword, column)
            out.setdefault(f"({group.upper()},{element.upper()})", column)
    return out


def column_for(tag: str) -> str | None:
    """The column holding a tag named by keyword or `(gggg,eeee)` (any case), or None."""
    tags = header_tags()
    return tags.get(tag) or tags.get(tag.upper().replace(" ", ""))

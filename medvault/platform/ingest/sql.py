"""Tiny SQL text helpers shared by the ingestion modules (identifier and literal quoting, JSON paths)."""

from __future__ import annotations


def qi(name: str) -> str:
    """Quote an identifier."""
    return '"' + name.replace('"', '""') + '"'


def ql(text: str) -> str:
    """Quote a string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def json_path(parts: list[str] | tuple[str, ...]) -> str:
    """A DuckDB JSON path literal for nested keys: ['facility', 'name'] -> '$."facility"."name"'."""
    return ql("$" + "".join('."' + p.replace('"', '\\"') + '"' for p in parts))

"""SQL text quoting: the one place identifiers and literals are quoted."""

from __future__ import annotations


def quote_ident(name: str) -> str:
    """A DuckDB identifier, quoted (embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: object) -> str:
    """A DuckDB string literal (embedded quotes doubled)."""
    return "'" + str(text).replace("'", "''") + "'"


def json_path(parts: list[str] | tuple[str, ...]) -> str:
    """A DuckDB JSON path literal for nested keys: ['facility', 'name'] -> '$."facility"."name"'."""
    return quote_literal("$" + "".join('."' + p.replace('"', '\\"') + '"' for p in parts))

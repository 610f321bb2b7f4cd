"""Extraction rules: `rules/agent/<system>/<version>.yaml`, one query per table (see docs/agent.md).

Why YAML and not code: a new PACS release or a new source system is a new file of queries, like the
central platform's source rules. The agent never builds SQL from data: the only values it passes are the
watermark and key of the last push, as parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TABLE_KEYS = {"description", "file", "query", "watermark", "key", "chunk_rows"}
TOP_KEYS = {"system", "version", "description", "timestamp_format", "tables"}


class SpecError(ValueError):
    """An extraction rule that cannot work; the message names the file and the key."""


@dataclass(frozen=True)
class TableExtract:
    name: str
    file: str  # the file name stem the central platform expects: `<file>_<batch>_<part>.csv.gz`
    query: str
    watermark: str  # an output column of `query`: rows changed after the last push have a larger value
    key: str  # an output column that orders rows with the same watermark (unique with it)
    chunk_rows: int
    description: str = ""


@dataclass(frozen=True)
class ExtractSpec:
    system: str
    version: str
    path: Path
    timestamp_format: str
    tables: tuple[TableExtract, ...]
    description: str = ""

    @property
    def label(self) -> str:
        return f"{self.system}/{self.version}"


def _fail(path: Path, where: str, message: str) -> SpecError:
    return SpecError(f"{path}: {where}: {message}")


def _table(path: Path, name: str, data) -> TableExtract:
    where = f"tables.{name}"
    if not isinstance(data, dict):
        raise _fail(path, where, "must be a mapping with query, watermark and key")
    unknown = sorted(set(data) - TABLE_KEYS)
    if unknown:
        raise _fail(
            path, where, f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(TABLE_KEYS))})"
        )
    for required in ("query", "watermark", "key"):
        if not isinstance(data.get(required), str) or not data[required].strip():
            raise _fail(path, f"{where}.{required}", "is required (text)")
    query = data["query"].strip().rstrip(";")
    if ";" in query:
        raise _fail(path, f"{where}.query", "must be one SELECT statement (no ';')")
    if not re.match(r"(?is)^\s*(select|with)\b", query):
        raise _fail(path, f"{where}.query", "must be a SELECT (or WITH ... SELECT) statement")
    for col in ("watermark", "key"):
        if not COLUMN.match(data[col]):
            raise _fail(path, f"{where}.{col}", f"{data[col]!r} must be an output column name of the query")
    chunk = data.get("chunk_rows", 10000)
    if not isinstance(chunk, int) or isinstance(chunk, bool) or not 1 <= chunk <= 1_000_000:
        raise _fail(path, f"{where}.chunk_rows", f"{chunk!r} must be a whole number from 1 to 1000000")
    file = data.get("file", name)
    if not isinstance(file, str) or not NAME.match(file):
        raise _fail(path, f"{where}.file", f"{file!r} must be lower_snake_case")
    return TableExtract(
        name, file, query, data["watermark"], data["key"], chunk, str(data.get("description", ""))
    )


def load_spec(path: Path) -> ExtractSpec:
    """One extraction rules file, checked; every problem names the file and key."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}: must be a mapping with system, version and tables")
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise _fail(path, "top level", f"unknown key(s) {', '.join(unknown)}")
    for key in ("system", "version"):
        if not isinstance(data.get(key), str) or not NAME.match(data[key]):
            raise _fail(path, key, "is required (lower_snake_case)")
    if data["version"] != path.stem or data["system"] != path.parent.name:
        raise _fail(
            path,
            "system/version",
            f"must match the file's place <system>/<version>.yaml, got {data['system']}/{data['version']}",
        )
    tables = data.get("tables")
    if not isinstance(tables, dict) or not tables:
        raise _fail(path, "tables", "needs at least one table")
    ts = data.get("timestamp_format", "%Y-%m-%dT%H:%M:%S")
    if not isinstance(ts, str) or "%" not in ts:
        raise _fail(path, "timestamp_format", f"{ts!r} must be a strftime format such as %Y-%m-%dT%H:%M:%S")
    parsed = tuple(_table(path, str(name), body) for name, body in tables.items())
    files = [t.file for t in parsed]
    if len(set(files)) != len(files):
        raise _fail(path, "tables", "two tables write the same file name")
    return ExtractSpec(data["system"], data["version"], path, ts, parsed, str(data.get("description", "")))


def available(rules: Path, system: str) -> list[ExtractSpec]:
    """Every version of `system` under the rules folder, in version order."""
    folder = Path(rules) / system
    if not folder.is_dir():
        raise SpecError(
            f"{folder}: no extraction rules for system {system!r} (expected {system}/<version>.yaml)"
        )
    specs = [load_spec(p) for p in sorted(folder.glob("*.yaml"))]
    if not specs:
        raise SpecError(f"{folder}: holds no <version>.yaml")
    return specs

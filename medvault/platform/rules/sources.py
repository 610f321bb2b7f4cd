"""`rules/sources/<system>/<version>.yaml`: one version of a source system, its tables and columns."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from medvault.platform.rules.models import (
    CASES,
    COLUMN_TYPES,
    FORMATS,
    ChildDef,
    ColumnDef,
    SourceDef,
    TableDef,
)
from medvault.platform.rules.reading import Ctx, read_yaml


def _column(item: dict, key: str, ctx: Ctx) -> ColumnDef | None:
    ctx.unknown(
        item,
        {
            "name",
            "source",
            "type",
            "required",
            "pii",
            "pattern",
            "allowed",
            "min",
            "max",
            "case",
            "trim",
            "description",
            "quasi_identifier",
        },
        key,
    )
    name = ctx.text(item, "name", key)
    ctx.identifier(name, f"{key}.name")
    ctype = ctx.text(item, "type", key, required=False, default="varchar")
    if ctype not in COLUMN_TYPES:
        ctx.fail(f"{key}.type", f"{ctype!r} is not one of {', '.join(COLUMN_TYPES)}")
    case = item.get("case")
    if case not in CASES:
        ctx.fail(f"{key}.case", f"{case!r} must be upper or lower")
    pattern = ctx.text(item, "pattern", key, required=False)
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            ctx.fail(f"{key}.pattern", f"invalid regular expression: {exc}")
    allowed = item.get("allowed")
    if allowed is not None:
        allowed = tuple(str(v) for v in ctx.seq(allowed, f"{key}.allowed"))
    for flag in ("required", "pii", "trim", "quasi_identifier"):
        if flag in item and not isinstance(item[flag], bool):
            ctx.fail(f"{key}.{flag}", "must be true or false")
    if name is None:
        return None
    return ColumnDef(
        name=name,
        source=ctx.text(item, "source", key, required=False, default=name),
        type=ctype,
        required=bool(item.get("required", False)),
        pii=bool(item.get("pii", False)),
        pattern=pattern,
        allowed=allowed,
        min=None if item.get("min") is None else str(item["min"]),
        max=None if item.get("max") is None else str(item["max"]),
        case=case,
        trim=bool(item.get("trim", True)),
        description=ctx.text(item, "description", key, required=False, default=""),
        quasi_identifier=bool(item.get("quasi_identifier", False)),
    )


def _columns(raw: Any, key: str, ctx: Ctx) -> tuple[ColumnDef, ...]:
    columns: list[ColumnDef] = []
    seen: set[str] = set()
    for j, col_raw in enumerate(ctx.seq(raw, key)):
        ckey = f"{key}[{j}]"
        col = _column(ctx.mapping(col_raw, ckey), ckey, ctx)
        if col is None:
            continue
        if col.name in seen:
            ctx.fail(f"{ckey}.name", f"duplicate column {col.name!r}")
        seen.add(col.name)
        columns.append(col)
    if not columns:
        ctx.fail(key, "at least one column is required")
    return tuple(columns)


def _table(name: str, item: dict, key: str, fmt: str, ctx: Ctx) -> TableDef:
    ctx.unknown(
        item, {"description", "files", "columns", "key", "modified", "distinguishing", "children"}, key
    )
    ctx.identifier(name, key)
    files = tuple(str(f) for f in ctx.seq(item.get("files"), f"{key}.files"))
    if not files:
        ctx.fail(f"{key}.files", "at least one file pattern is required")
    columns = _columns(item.get("columns"), f"{key}.columns", ctx) if fmt != "dicom" else ()
    names = {c.name for c in columns}
    sources = {c.source for c in columns}
    keys = tuple(str(k) for k in ctx.seq(item.get("key"), f"{key}.key"))
    for k in keys:
        if k not in names:
            ctx.fail(f"{key}.key", f"{k!r} is not a declared column")
    modified = ctx.text(item, "modified", key, required=False)
    if modified is not None and modified not in names:
        ctx.fail(f"{key}.modified", f"{modified!r} is not a declared column")
    distinguishing = tuple(str(d) for d in ctx.seq(item.get("distinguishing"), f"{key}.distinguishing"))
    for d in distinguishing:
        if d not in sources:
            ctx.fail(f"{key}.distinguishing", f"{d!r} is not the source name of a declared column")
    children: list[ChildDef] = []
    for child_name, child_raw in ctx.mapping(item.get("children") or {}, f"{key}.children").items():
        ckey = f"{key}.children.{child_name}"
        child = ctx.mapping(child_raw, ckey)
        ctx.unknown(child, {"array", "columns", "description"}, ckey)
        ctx.identifier(child_name, ckey)
        array = ctx.text(child, "array", ckey)
        if array is not None and array not in names:
            ctx.fail(f"{ckey}.array", f"{array!r} is not a declared column of {name}")
        elif (
            array is not None
            and item
            and columns
            and next(c for c in columns if c.name == array).type != "json"
        ):
            ctx.fail(f"{ckey}.array", f"{array!r} must have type json to be exploded")
        children.append(
            ChildDef(
                name=str(child_name),
                array=array or "",
                columns=_columns(child.get("columns"), f"{ckey}.columns", ctx),
                description=ctx.text(child, "description", ckey, required=False, default=""),
            )
        )
    return TableDef(
        name=name,
        files=files,
        columns=columns,
        key=keys,
        modified=modified,
        distinguishing=distinguishing,
        description=ctx.text(item, "description", key, required=False, default=""),
        children=tuple(children),
    )


def load_source(path: Path, root: Path, problems: list[str]) -> SourceDef | None:
    ctx = Ctx(path, root, problems)
    data = ctx.mapping(read_yaml(path, ctx) or {}, "")
    if not data:
        return None
    ctx.unknown(data, {"system", "version", "format", "description", "tables"}, "")
    system = ctx.text(data, "system", "")
    version = ctx.text(data, "version", "")
    ctx.identifier(system, "system")
    ctx.identifier(version, "version")
    if system and path.parent.name != system:
        ctx.fail("system", f"{system!r} does not match its folder {path.parent.name!r}")
    if version and path.stem != version:
        ctx.fail("version", f"{version!r} does not match its file name {path.stem!r}")
    fmt = ctx.text(data, "format", "", required=False, default="csv")
    if fmt not in FORMATS:
        ctx.fail("format", f"{fmt!r} is not one of {', '.join(FORMATS)}")
    tables_raw = ctx.mapping(data.get("tables") or {}, "tables")
    if not tables_raw:
        ctx.fail("tables", "at least one table is required")
    tables = tuple(
        _table(str(name), ctx.mapping(raw, f"tables.{name}"), f"tables.{name}", fmt, ctx)
        for name, raw in tables_raw.items()
    )
    if system is None or version is None:
        return None
    return SourceDef(
        system=system,
        version=version,
        format=fmt,
        tables=tables,
        description=ctx.text(data, "description", "", required=False, default=""),
        path=str(path),
    )

"""Load and validate the YAML rules folder.

Every problem is reported as `<file>: <key.path>: <message>` and all problems of a folder are collected
before raising, so one `medvault rules check` shows everything that is wrong at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from medvault.platform.rules.models import (
    CASES,
    COLUMN_TYPES,
    FAMILIES,
    FORMATS,
    ChildDef,
    ColumnDef,
    HubDef,
    LinkDef,
    Rules,
    SatelliteLoad,
    Site,
    SourceDef,
    TableDef,
    VaultLoad,
    VaultModel,
)

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


class RulesError(ValueError):
    """One or more rule problems, each naming the file and the key path."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class _Ctx:
    """Collects problems for one file while walking its mapping."""

    def __init__(self, path: Path, root: Path, problems: list[str]):
        try:
            self.name = str(path.relative_to(root.parent))
        except ValueError:
            self.name = str(path)
        self.problems = problems

    def fail(self, key: str, message: str) -> None:
        self.problems.append(f"{self.name}: {key}: {message}" if key else f"{self.name}: {message}")

    def mapping(self, value: Any, key: str) -> dict:
        if not isinstance(value, dict):
            self.fail(key, f"expected a mapping, got {type(value).__name__}")
            return {}
        return value

    def seq(self, value: Any, key: str) -> list:
        """A YAML list; a lone value where a list belongs (`allowed: MF`) is an error, not a one-item list."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(key, f"expected a list, got {type(value).__name__}")
            return []
        return value

    def text(self, data: dict, field: str, key: str, *, required: bool = True, default: str | None = None):
        value = data.get(field, default)
        if value is None:
            if required:
                self.fail(f"{key}.{field}" if key else field, "is required")
            return default
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.fail(f"{key}.{field}" if key else field, f"expected text, got {type(value).__name__}")
            return default
        return str(value)

    def identifier(self, value: str | None, key: str) -> None:
        if value is not None and not IDENTIFIER.match(value):
            self.fail(key, f"{value!r} must be lower_snake_case (letters, digits, _)")

    def unknown(self, data: dict, allowed: set[str], key: str) -> None:
        for extra in sorted(set(data) - allowed):
            self.fail(
                f"{key}.{extra}" if key else extra, f"unknown key (allowed: {', '.join(sorted(allowed))})"
            )


def _read_yaml(path: Path, ctx: _Ctx) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "parse"
        ctx.fail(where, f"invalid YAML: {getattr(exc, 'problem', exc)}")
    except UnicodeDecodeError as exc:
        ctx.fail("", f"not UTF-8: {exc}")
    return None


def load_sites(path: Path, root: Path, problems: list[str]) -> dict[str, Site]:
    ctx = _Ctx(path, root, problems)
    data = ctx.mapping(_read_yaml(path, ctx) or {}, "")
    ctx.unknown(data, {"sites"}, "")
    sites: dict[str, Site] = {}
    for i, raw in enumerate(ctx.seq(data.get("sites"), "sites")):
        key = f"sites[{i}]"
        item = ctx.mapping(raw, key)
        if not item:
            continue
        ctx.unknown(item, {"code", "name", "country", "timezone", "freshness_hours"}, key)
        freshness = item.get("freshness_hours")
        if freshness is not None and (
            isinstance(freshness, bool) or not isinstance(freshness, int | float) or freshness <= 0
        ):
            ctx.fail(f"{key}.freshness_hours", f"must be a positive number of hours, got {freshness!r}")
            freshness = None
        code = ctx.text(item, "code", key)
        ctx.identifier(code, f"{key}.code")
        if code in sites:
            ctx.fail(f"{key}.code", f"duplicate site code {code!r}")
        tz = ctx.text(item, "timezone", key, required=False, default="UTC")
        try:
            from zoneinfo import ZoneInfo

            ZoneInfo(tz)
        except Exception:
            ctx.fail(f"{key}.timezone", f"unknown timezone {tz!r}")
        if code:
            sites[code] = Site(
                code=code,
                name=ctx.text(item, "name", key, required=False, default=code),
                country=ctx.text(item, "country", key, required=False, default=""),
                timezone=tz,
                freshness_hours=None if freshness is None else float(freshness),
            )
    return sites


def _column(item: dict, key: str, ctx: _Ctx) -> ColumnDef | None:
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


def _columns(raw: Any, key: str, ctx: _Ctx) -> tuple[ColumnDef, ...]:
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


def _table(name: str, item: dict, key: str, fmt: str, ctx: _Ctx) -> TableDef:
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
    ctx = _Ctx(path, root, problems)
    data = ctx.mapping(_read_yaml(path, ctx) or {}, "")
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


def _vault_model(path: Path, root: Path, problems: list[str], model: dict[str, Any]) -> None:
    ctx = _Ctx(path, root, problems)
    data = ctx.mapping(_read_yaml(path, ctx) or {}, "")
    ctx.unknown(data, {"hubs", "links", "loads"}, "")
    for name, raw in ctx.mapping(data.get("hubs") or {}, "hubs").items():
        key = f"hubs.{name}"
        item = ctx.mapping(raw, key)
        ctx.unknown(item, {"family", "business_key", "description"}, key)
        ctx.identifier(str(name), key)
        family = ctx.text(item, "family", key)
        if family is not None and family not in FAMILIES:
            ctx.fail(f"{key}.family", f"{family!r} is not one of {', '.join(FAMILIES)}")
        bk = tuple(str(b) for b in ctx.seq(item.get("business_key"), f"{key}.business_key"))
        if not bk:
            ctx.fail(f"{key}.business_key", "at least one business key column is required")
        if name in model["hubs"]:
            ctx.fail(key, f"hub {name!r} is declared twice")
        model["hubs"][str(name)] = HubDef(
            str(name), family or "", bk, ctx.text(item, "description", key, required=False, default="")
        )
    for name, raw in ctx.mapping(data.get("links") or {}, "links").items():
        key = f"links.{name}"
        item = ctx.mapping(raw, key)
        ctx.unknown(item, {"hubs", "description"}, key)
        ctx.identifier(str(name), key)
        hubs = tuple(str(h) for h in ctx.seq(item.get("hubs"), f"{key}.hubs"))
        if len(hubs) < 2:
            ctx.fail(f"{key}.hubs", "a link joins at least two hubs")
        model["links"][str(name)] = LinkDef(
            str(name), hubs, ctx.text(item, "description", key, required=False, default="")
        )
    for i, raw in enumerate(ctx.seq(data.get("loads"), "loads")):
        key = f"loads[{i}]"
        item = ctx.mapping(raw, key)
        ctx.unknown(item, {"source", "hubs", "links", "satellites"}, key)
        source = ctx.text(item, "source", key)
        if source is not None and source.count(".") != 1:
            ctx.fail(f"{key}.source", f"{source!r} must be <system>.<table>")
        hubs = {
            str(h): tuple(str(c) for c in ctx.seq(cols, f"{key}.hubs.{h}"))
            for h, cols in ctx.mapping(item.get("hubs") or {}, f"{key}.hubs").items()
        }
        sats = []
        for sname, sraw in ctx.mapping(item.get("satellites") or {}, f"{key}.satellites").items():
            skey = f"{key}.satellites.{sname}"
            sitem = ctx.mapping(sraw, skey)
            ctx.unknown(sitem, {"parent", "columns"}, skey)
            ctx.identifier(str(sname), skey)
            if not str(sname).startswith("sat_"):
                ctx.fail(skey, "satellite names follow sat_<hub>_<major>_<minor>")
            parent = ctx.text(sitem, "parent", skey)
            sats.append(
                SatelliteLoad(
                    str(sname),
                    parent or "",
                    tuple(str(c) for c in ctx.seq(sitem.get("columns"), f"{skey}.columns")),
                )
            )
        model["loads"].append(
            (
                ctx,
                key,
                VaultLoad(
                    source=source or "",
                    hubs=hubs,
                    links=tuple(str(x) for x in ctx.seq(item.get("links"), f"{key}.links")),
                    satellites=tuple(sats),
                    path=str(path),
                ),
            )
        )


def _check_vault(model: dict[str, Any], sources: tuple[SourceDef, ...]) -> VaultModel:
    """Cross-file checks: loads name real staged columns, hubs and links."""
    staged: dict[str, set[str]] = {}
    for s in sources:
        for t in s.tables:
            staged.setdefault(f"{s.system}.{t.name}", set()).update(c.name for c in t.columns)
            for child in t.children:
                staged.setdefault(f"{s.system}.{child.name}", set()).update(c.name for c in child.columns)
    hubs, links = model["hubs"], model["links"]
    for link in links.values():
        for h in link.hubs:
            if h not in hubs:
                model["problems"].append(f"vault: links.{link.name}.hubs: unknown hub {h!r}")
    loads = []
    for ctx, key, load in model["loads"]:
        columns = staged.get(load.source)
        if columns is None:
            ctx.fail(f"{key}.source", f"no source table {load.source!r} is declared in sources/")
            columns = set()
        for hub, cols in load.hubs.items():
            if hub not in hubs:
                ctx.fail(f"{key}.hubs.{hub}", "unknown hub")
                continue
            if len(cols) != len(hubs[hub].business_key):
                ctx.fail(
                    f"{key}.hubs.{hub}",
                    f"gives {len(cols)} columns for a {len(hubs[hub].business_key)}-part business key",
                )
            for c in cols:
                if columns and c not in columns:
                    ctx.fail(f"{key}.hubs.{hub}", f"{c!r} is not a staged column of {load.source}")
        for link in load.links:
            if link not in links:
                ctx.fail(f"{key}.links", f"unknown link {link!r}")
            else:
                for h in links[link].hubs:
                    if h not in load.hubs:
                        ctx.fail(f"{key}.links", f"{link} needs hub {h!r}, which this load does not map")
        for sat in load.satellites:
            skey = f"{key}.satellites.{sat.name}"
            if sat.parent not in load.hubs and sat.parent not in load.links:
                ctx.fail(f"{skey}.parent", f"{sat.parent!r} is not a hub or link of this load")
            for c in sat.columns:
                if columns and c not in columns:
                    ctx.fail(f"{skey}.columns", f"{c!r} is not a staged column of {load.source}")
        loads.append(load)
    return VaultModel(hubs=hubs, links=links, loads=tuple(loads))


def iter_source_files(root: Path) -> Iterator[Path]:
    yield from sorted((root / "sources").glob("*/*.yaml"))


def load_rules(root: Path | str) -> Rules:
    """Load and validate every rule file under `root`; raise RulesError listing all problems."""
    root = Path(root)
    problems: list[str] = []
    if not root.is_dir():
        raise RulesError([f"{root}: rules folder not found (set MEDVAULT_RULES)"])
    sites_file = root / "sites.yaml"
    sites = load_sites(sites_file, root, problems) if sites_file.exists() else {}
    if not sites_file.exists():
        problems.append(f"{sites_file}: missing (lists the sites: code, name, country, timezone)")
    sources = tuple(s for p in iter_source_files(root) if (s := load_source(p, root, problems)) is not None)
    seen: set[tuple[str, str]] = set()
    for s in sources:
        if (s.system, s.version) in seen:
            problems.append(f"{s.path}: {s.system}/{s.version} is declared twice")
        seen.add((s.system, s.version))
    model: dict[str, Any] = {"hubs": {}, "links": {}, "loads": [], "problems": problems}
    for p in sorted((root / "vault").glob("*.yaml")):
        _vault_model(p, root, problems, model)
    vault = _check_vault(model, sources)
    if problems:
        raise RulesError(problems)
    return Rules(sites=sites, sources=sources, vault=vault, root=str(root))

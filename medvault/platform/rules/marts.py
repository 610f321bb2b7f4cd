"""`rules/marts/<name>.sql`: a mart is a SELECT with a YAML header in its leading block comment.

    /*
    description: Examinations per month (seed 000)
    grain: [site, Month]
    owner: imaging analytics
    inputs: [vault.hub_event, vault.sat_event_order_details__current]
    columns: {site: site code, Month: Mon-YYYY, TotalExams: orders of type STUDY}
    checks:
      - name: exams_match_study_orders
        sql: SELECT (SELECT sum("TotalExams") FROM marts.examinations_per_month) = (...) AS passed
    */
    SELECT ...

Checked here: the header's keys and types, that the SQL is one SELECT that reads only its declared
inputs (schema-qualified tables or its own CTEs, never a table function), that checks read only the
mart and its inputs, and that marts do not read each other in a cycle. Whether the inputs exist and the
SQL binds is asked of the engine (`marts/validate.py`, run by `rules check`).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from medvault.platform.ledger.schema import LEDGER_VIEWS
from medvault.platform.marts.models import REBUILDS, SCHEMA, MartCheck, MartDef, MonthRule
from medvault.platform.rules.reading import Ctx
from medvault.platform.warehouse.parse import select_reads

ZONES = ("vault", "dicom", "marts", "ops")  # ops: only the ledger's views for marts (LEDGER_VIEWS)
_INPUT = re.compile(r"^(vault|dicom|marts|ops)\.[a-z][a-z0-9_]*$")
HEADER_KEYS = {
    "name",
    "description",
    "grain",
    "owner",
    "inputs",
    "columns",
    "counts",
    "rebuild",
    "month",
    "checks",
}
_SOURCE = re.compile(r"^vault\.[a-z][a-z0-9_]*\.[a-z_][a-z0-9_]*$")


def split_header(text: str) -> tuple[str | None, str]:
    """(YAML of the leading /* ... */ comment or None, the SQL after it)."""
    stripped = text.lstrip()
    if not stripped.startswith("/*") or "*/" not in stripped:
        return None, text
    end = stripped.index("*/")
    return stripped[2:end], stripped[end + 2 :].strip().rstrip(";").strip()


def _strings(ctx: Ctx, value, key: str) -> tuple[str, ...]:
    items = ctx.seq(value, key)
    bad = [v for v in items if not isinstance(v, str)]
    if bad:
        ctx.fail(key, f"expected a list of names, got {bad[0]!r}")
    return tuple(v for v in items if isinstance(v, str))


def _checks(ctx: Ctx, raw, reads_ok: set[str]) -> tuple[MartCheck, ...]:
    out = []
    for i, item in enumerate(ctx.seq(raw, "checks")):
        where = f"checks[{i}]"
        item = ctx.mapping(item, where)
        ctx.unknown(item, {"name", "sql", "description", "warn"}, where)
        name, sql = ctx.text(item, "name", where), ctx.text(item, "sql", where)
        ctx.identifier(name, f"{where}.name")
        warn = item.get("warn", False)
        if not isinstance(warn, bool):
            ctx.fail(f"{where}.warn", f"must be true or false, got {warn!r}")
        if sql is None or name is None:
            continue
        reads = select_reads(sql)
        for problem in reads.problems:
            ctx.fail(f"{where}.sql", problem)
        for table in sorted(reads.tables - reads_ok):
            ctx.fail(f"{where}.sql", f"reads {table}, which is neither the mart nor one of its inputs")
        description = ctx.text(item, "description", where, required=False, default="")
        out.append(MartCheck(name, sql.strip().rstrip(";"), description, bool(warn)))
    return tuple(out)


def _month(ctx: Ctx, raw, rebuild: str, grain: tuple[str, ...], inputs: tuple[str, ...]) -> MonthRule | None:
    """`month: {column, source}` of a `rebuild: by_month` mart. Its rows may depend only on the hubs,
    the reference tables and the month's satellite, whose changes are the ones a by-month rebuild
    follows (marts/months.py)."""
    if raw is None:
        if rebuild == "by_month":
            ctx.fail(
                "month",
                "rebuild: by_month needs month: {column: <grain column>, source: vault.<satellite>.<column>}",
            )
        return None
    item = ctx.mapping(raw, "month")
    ctx.unknown(item, {"column", "source"}, "month")
    column, source = ctx.text(item, "column", "month"), ctx.text(item, "source", "month")
    if rebuild != "by_month":
        ctx.fail("month", f"only a rebuild: by_month mart names its month (this one is {rebuild})")
    if column is not None and column not in grain:
        ctx.fail("month.column", f"{column!r} is not a column of the grain")
    if source is not None and not _SOURCE.match(source):
        ctx.fail("month.source", f"{source!r} must be vault.<satellite>.<column>")
    if column is None or source is None or not _SOURCE.match(source):
        return None
    rule = MonthRule(column, source)
    own = {f"vault.{rule.satellite}{view}" for view in ("", "__current", "__history")}
    if not own & set(inputs):
        ctx.fail(
            "month.source", f"the mart does not read vault.{rule.satellite} (or its __current, __history)"
        )
    for table in inputs:
        if table not in own and not table.startswith(("vault.hub_", "vault.ref_")):
            ctx.fail(
                "inputs",
                f"{table}: a rebuild: by_month mart follows the changes of vault.{rule.satellite} alone, so it "
                "reads only hubs, reference tables and that satellite (or use rebuild: by_site)",
            )
    return rule


def load_mart(path: Path, root: Path, problems: list[str]) -> MartDef | None:
    ctx = Ctx(path, root, problems)
    header, sql = split_header(path.read_text(encoding="utf-8"))
    if header is None:
        ctx.fail("", "must start with a /* ... */ comment holding the YAML header (description, inputs, ...)")
        return None
    try:
        data = yaml.safe_load(header) or {}
    except yaml.YAMLError as exc:
        ctx.fail("header", f"invalid YAML: {getattr(exc, 'problem', exc)}")
        return None
    data = ctx.mapping(data, "header")
    ctx.unknown(data, HEADER_KEYS, "")
    name = ctx.text(data, "name", "", required=False, default=path.stem)
    ctx.identifier(name, "name")
    if name != path.stem:
        ctx.fail("name", f"{name!r} must be the file's name ({path.stem})")
    inputs = _strings(ctx, data.get("inputs"), "inputs")
    if not inputs:
        ctx.fail("inputs", "list the tables the SQL reads (vault.*, dicom.*, marts.*, ops.drops_per_day)")
    for table in inputs:
        if not _INPUT.match(table):
            ctx.fail("inputs", f"{table!r} must be <zone>.<table> with zone one of {', '.join(ZONES)}")
        elif table.startswith("ops.") and table not in LEDGER_VIEWS:
            ctx.fail(
                "inputs", f"{table!r}: of ops, marts read only the ledger's views ({', '.join(LEDGER_VIEWS)})"
            )
    if f"{SCHEMA}.{name}" in inputs:
        ctx.fail("inputs", "a mart cannot read itself")
    if not sql:
        ctx.fail("", "has no SQL after its header")
        return None
    reads = select_reads(sql)
    for problem in reads.problems:
        ctx.fail("sql", problem)
    for table in sorted(reads.tables - set(inputs)):
        ctx.fail("sql", f"reads {table}, which `inputs` does not declare")
    for table in sorted(set(inputs) - reads.tables) if not reads.problems else ():
        ctx.fail("inputs", f"declares {table}, which the SQL does not read")
    columns = ctx.mapping(data.get("columns") or {}, "columns")
    description = ctx.text(data, "description", "")
    checks = _checks(ctx, data.get("checks"), {*inputs, f"{SCHEMA}.{name}"})
    rebuild = ctx.text(data, "rebuild", "", required=False, default="full")
    if rebuild not in REBUILDS:
        ctx.fail("rebuild", f"{rebuild!r} must be one of {', '.join(REBUILDS)}")
    grain = _strings(ctx, data.get("grain"), "grain")
    month = _month(ctx, data.get("month"), rebuild or "full", grain, inputs)
    return MartDef(
        name=name,
        sql=sql,
        description=description or "",
        grain=grain,
        inputs=inputs,
        owner=ctx.text(data, "owner", "", required=False, default="") or "",
        columns={str(k): str(v) for k, v in columns.items()},
        checks=checks,
        path=str(path),
        counts=_strings(ctx, data.get("counts"), "counts"),
        rebuild=rebuild if rebuild in REBUILDS else "full",
        month=month,
    )


def load_marts(folder: Path, root: Path, problems: list[str]) -> tuple[MartDef, ...]:
    """Every mart of `folder` (none when it does not exist), refusing marts that read each other in a
    cycle or read a mart that does not exist."""
    if not folder.is_dir():
        return ()
    marts = tuple(m for p in sorted(folder.glob("*.sql")) if (m := load_mart(p, root, problems)) is not None)
    names = {m.name for m in marts}
    for mart in marts:
        ctx = Ctx(Path(mart.path), root, problems)
        for dep in mart.mart_inputs():
            if dep not in names:
                ctx.fail("inputs", f"marts.{dep} is not a mart of {folder.name}/")
        if _cycle(mart.name, {m.name: m.mart_inputs() for m in marts}):
            ctx.fail("inputs", "marts read each other in a cycle")
    return marts


def _cycle(start: str, graph: dict[str, list[str]]) -> bool:
    seen, stack = set(), list(graph.get(start, []))
    while stack:
        node = stack.pop()
        if node == start:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(graph.get(node, []))
    return False

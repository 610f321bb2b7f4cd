"""What `rules check` asks of the marts beyond their structure: every declared input exists in the
vault model (or is a DICOM table or another mart), and the SQL of each mart and check binds, against
empty tables in memory, so a misspelt column fails here and not in the nightly build."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from medvault.platform.marts.functions import register_functions
from medvault.platform.marts.inputs import ensure_inputs, known_inputs
from medvault.platform.marts.models import build_order
from medvault.platform.rules.models import Rules
from medvault.platform.vault.model import HISTORISED, VaultModel
from medvault.platform.vault.pit import pits
from medvault.platform.warehouse import quote_ident

_WHOLE_NUMBERS = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
}


def _where(rules: Rules, path: str) -> str:
    try:
        return str(Path(path).relative_to(Path(rules.root).parent))
    except ValueError:
        return path


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


@dataclass
class Bound:
    problems: list[str] = field(default_factory=list)
    columns: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # mart -> (column, type)


def mart_problems(rules: Rules, model: VaultModel) -> list[str]:
    return bind(rules, model).problems


# the last rules bound: `rules check` and the asset graph both ask at start-up, for the same rules
_LAST: list[tuple[Rules, Bound]] = []


def bind(rules: Rules, model: VaultModel) -> Bound:
    """Every mart and check bound against empty inputs: the problems, and each mart's columns and types
    (the asset's column schema). The same rules object is bound once."""
    if _LAST and _LAST[0][0] is rules:
        return _LAST[0][1]
    out = _bind(rules, model)
    _LAST[:] = [(rules, out)]
    return out


def _bind(rules: Rules, model: VaultModel) -> Bound:
    out = Bound()
    if not rules.marts:
        return out
    known = known_inputs(model, rules.marts)
    pit_tables = {f"vault.{p.name}" for p in pits(model)}
    for mart in rules.marts:
        for table in mart.inputs:
            if table not in known:
                out.problems.append(
                    f"{_where(rules, mart.path)}: inputs: {table} is not a table of the vault model, dicom or marts"
                )
            elif table in pit_tables and not model.ghosts:
                # a PIT points at a satellite's ghost row where a key has no version: without ghost
                # records that pointer is NULL and an inner join from the PIT drops the key
                out.problems.append(
                    f"{_where(rules, mart.path)}: inputs: {table}: a mart reads the PIT tables with "
                    "ghost_records: true (rules/vault)"
                )
    if out.problems:
        return out
    con = duckdb.connect()
    try:
        register_functions(con, b"rules check")  # binding needs the functions, not the real key
        ensure_inputs(con, model)
        for mart in build_order(rules.marts):
            _bind_mart(con, mart, _where(rules, mart.path), out)
            if mart.month is not None:
                _check_month(mart, model, out.columns.get(mart.name), _where(rules, mart.path), out)
    finally:
        con.close()
    return out


_DATES = ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE")


def _check_month(mart, model: VaultModel, columns, where: str, out: Bound) -> None:
    """A by-month mart's month column is a date, and its source a date column of a historised
    satellite of the model."""
    rule = mart.month
    types = dict(columns or ())
    if columns is not None and types.get(rule.column) not in _DATES:
        out.problems.append(f"{where}: month.column: {rule.column!r} is {types.get(rule.column)}, not a date")
    obj = model.objects.get(rule.satellite)
    if obj is None or obj.kind not in HISTORISED:
        out.problems.append(f"{where}: month.source: {rule.satellite} is not a satellite of the vault model")
    elif dict(obj.columns).get(rule.source_column) not in _DATES:
        found = dict(obj.columns).get(rule.source_column)
        out.problems.append(
            f"{where}: month.source: {rule.satellite}.{rule.source_column} is "
            f"{'no column' if found is None else found}, not a date column"
        )


def _bind_mart(con, mart, where: str, out: Bound) -> None:
    try:
        con.execute(f"CREATE TABLE marts.{quote_ident(mart.name)} AS SELECT * FROM ({mart.sql}) LIMIT 0")
    except duckdb.Error as exc:
        out.problems.append(f"{where}: sql: {_first_line(exc)}")
        return
    cols = [(r[0], r[1]) for r in con.execute(f"DESCRIBE marts.{quote_ident(mart.name)}").fetchall()]
    out.columns[mart.name] = cols
    for column in sorted(set(mart.columns) - {c for c, _ in cols}):
        out.problems.append(f"{where}: columns.{column}: the SQL returns no such column")
    types = dict(cols)
    if mart.rebuild in ("by_site", "by_month") and "site" not in types:
        out.problems.append(f"{where}: rebuild: {mart.rebuild} needs a site column in what the SQL returns")
    for column in mart.counts:
        if column not in types:
            out.problems.append(f"{where}: counts: the SQL returns no column {column!r}")
        elif types[column] not in _WHOLE_NUMBERS:
            out.problems.append(f"{where}: counts: {column!r} is {types[column]}, not a whole number")
    for i, check in enumerate(mart.checks):
        try:
            names = [d[0] for d in con.execute(f"SELECT * FROM ({check.sql}) LIMIT 0").description]
        except duckdb.Error as exc:
            out.problems.append(f"{where}: checks[{i}].sql: {_first_line(exc)}")
            continue
        if "passed" not in names:
            out.problems.append(
                f"{where}: checks[{i}].sql: returns no `passed` column (it has {', '.join(names)})"
            )

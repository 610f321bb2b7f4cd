"""The checks of a rules folder that need the engine's own knowledge, so a rule that would fail in a
run fails here first, with its file and key path:

- every `min`, `max` and non-text `allowed` literal reads as its column's type (asked of the same SQL
  staging uses, so what passes here stages);
- no two tables can be told apart only by luck: the same header columns and file patterns that can
  match the same file make every such file `ambiguous_source`;
- the vault model compiles (satellite parents and columns agree, names do not clash);
- every mart's inputs exist and its SQL and checks bind (marts/validate.py).
`load_rules` already checked the structure (types of every key, unknown keys, references).
"""

from __future__ import annotations

from fnmatch import fnmatch
from itertools import combinations
from pathlib import Path

import duckdb

from medvault.platform.ingest.identify import COMPATIBLE, norm
from medvault.platform.ingest.validate import literal_problem
from medvault.platform.marts.validate import mart_problems
from medvault.platform.rules.models import Rules, SourceDef, TableDef
from medvault.platform.vault.model import compile_vault


def _where(rules: Rules, source: SourceDef) -> str:
    path = Path(source.path)
    try:
        return str(path.relative_to(Path(rules.root).parent))
    except ValueError:
        return str(path)


def _literals(rules: Rules, con) -> list[str]:
    problems = []
    for source in rules.sources:
        for table in source.tables:
            groups = [(f"tables.{table.name}.columns", table.columns)]
            groups += [(f"tables.{table.name}.children.{c.name}.columns", c.columns) for c in table.children]
            for prefix, columns in groups:
                for i, col in enumerate(columns):
                    literals = [("min", col.min), ("max", col.max)]
                    if col.type != "varchar":
                        literals += [("allowed value", v) for v in col.allowed or ()]
                    for what, text in literals:
                        problem = text is not None and literal_problem(con, col, what, text)
                        if problem:
                            key = what.split()[0]
                            problems.append(f"{_where(rules, source)}: {prefix}[{i}].{key}: {problem}")
    return problems


def _patterns_overlap(a: TableDef, b: TableDef) -> bool:
    """Could one file name match a pattern of each? (Tested on the patterns themselves, both ways.)"""
    return any(fnmatch(p, q) or fnmatch(q, p) for p in a.files for q in b.files)


def _ambiguous(rules: Rules) -> list[str]:
    tables = [(s, t) for s in rules.sources if s.format != "dicom" for t in s.tables]
    problems = []
    for (s1, t1), (s2, t2) in combinations(tables, 2):
        if s2.format not in COMPATIBLE.get(s1.format, {s1.format}):
            continue
        cols1 = {norm(c.source) for c in t1.columns} | {norm(d) for d in t1.distinguishing}
        cols2 = {norm(c.source) for c in t2.columns} | {norm(d) for d in t2.distinguishing}
        if cols1 == cols2 and _patterns_overlap(t1, t2):
            problems.append(
                f"{_where(rules, s2)}: tables.{t2.name}: cannot be told apart from {_where(rules, s1)} "
                f"tables.{t1.name} by its header (the same columns, overlapping file patterns): every such "
                "file would be ambiguous_source; give one a distinguishing column or its own file pattern"
            )
    return problems


def _vault_and_marts(rules: Rules) -> list[str]:
    try:
        model = compile_vault(rules)
    except (ValueError, KeyError) as exc:
        return [f"rules/vault: {exc}"]
    return mart_problems(rules, model)


def deep_problems(rules: Rules) -> list[str]:
    con = duckdb.connect()
    try:
        return [*_literals(rules, con), *_ambiguous(rules), *_vault_and_marts(rules)]
    finally:
        con.close()

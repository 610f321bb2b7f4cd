"""The house rules of docs/architecture.md, checked on the source: one owner per thing.

- only `platform/ledger/` writes `ops.*` tables;
- only `platform/warehouse/` opens, commits or rolls back a transaction;
- the Dagster layer (`assets/`, `sensors/`, `resources/`, `schedules/`) holds no SQL;
- only `platform/config/` reads (or writes) the environment;
- `platform/` never imports Dagster.
Each rule is a detector over the module's syntax tree; the detectors are tested on snippets first, so a
rule that stopped detecting anything would fail here too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "medvault"

WRITES_OPS = re.compile(
    r"\b(INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM|COPY|TRUNCATE|ALTER\s+TABLE)\s+\"?ops\"?\.", re.I
)
TRANSACTION = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK)(\s+TRANSACTION)?\s*(;|$)", re.I)
SQL = re.compile(
    r"\b(SELECT\b[\s\S]*\bFROM|INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM|CREATE\s+(OR\s+REPLACE\s+)?"
    r"(TEMP\s+)?(TABLE|VIEW|SCHEMA)|DROP\s+(TABLE|VIEW))\b",
    re.I,
)


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def _code_strings(source: str) -> list[str]:
    tree = ast.parse(source)
    skip = _docstrings(tree)
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.JoinedStr):
            out.append("".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append(node.value)
    return out


def writes_ops(source: str) -> bool:
    return any(WRITES_OPS.search(s) for s in _code_strings(source))


def opens_transaction(source: str) -> bool:
    return any(TRANSACTION.search(s) for s in _code_strings(source))


def has_sql(source: str) -> bool:
    return any(SQL.search(s) for s in _code_strings(source))


def reads_environment(source: str) -> bool:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "env":
            return True
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("environ", "getenv", "putenv")
            and (isinstance(node.value, ast.Name) and node.value.id == "os")
        ):
            return True
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(a.name in ("environ", "getenv") for a in node.names)
        ):
            return True
    return False


def imports_dagster(source: str) -> bool:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import) and any(
            a.name.split(".")[0].startswith("dagster") for a in node.names
        ):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0].startswith("dagster"):
            return True
    return False


# -- the detectors detect ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("detector", "bad", "good"),
    [
        (
            writes_ops,
            'con.execute("UPDATE ops.file_manifest SET status = ?")',
            'x = "SELECT * FROM ops.file_manifest"',
        ),
        (
            writes_ops,
            'sql = f"INSERT OR REPLACE INTO ops.watermarks VALUES ({v})"',
            'sql = "INSERT INTO staging.x"',
        ),
        (opens_transaction, 'con.execute("BEGIN TRANSACTION")', 'msg = "begin with a sentence"'),
        (opens_transaction, 'con.execute("COMMIT")', 'con.execute("SELECT 1")'),
        (
            has_sql,
            'con.execute(f"SELECT count(*) FROM {t} WHERE a = ?")',
            'description = "Select the parent too"',
        ),
        (
            has_sql,
            'con.execute("CREATE OR REPLACE TABLE marts.x AS SELECT 1")',
            'log.info("created 3 files")',
        ),
        (reads_environment, 'x = env("MEDVAULT_HOME")', "x = settings.home"),
        (reads_environment, 'import os\nx = os.environ.get("A")', "import os\nx = os.path.join('a')"),
        (imports_dagster, "import dagster as dg", "import duckdb"),
        (imports_dagster, "from dagster_aws.s3 import S3Resource", "from medvault.platform import config"),
    ],
)
def test_detector_finds_the_violation_and_only_it(detector, bad, good):
    assert detector(bad)
    assert not detector(good)


def test_docstrings_are_not_code():
    assert not has_sql('"""SELECT the rows FROM the slice, explained."""\nx = 1\n')


# -- the tree follows the rules ---------------------------------------------------------------------
def _modules(*parts: str) -> dict[str, str]:
    base = PACKAGE.joinpath(*parts)
    return {p.relative_to(PACKAGE.parent).as_posix(): p.read_text() for p in sorted(base.rglob("*.py"))}


def _offenders(detector, modules: dict[str, str], allowed: str = "") -> list[str]:
    return [
        name
        for name, src in modules.items()
        if (not allowed or not name.startswith(allowed)) and detector(src)
    ]


def test_only_the_ledger_writes_ops():
    assert _offenders(writes_ops, _modules(), allowed="medvault/platform/ledger/") == []


def test_only_the_warehouse_opens_transactions():
    assert _offenders(opens_transaction, _modules(), allowed="medvault/platform/warehouse/") == []


@pytest.mark.parametrize("layer", ["assets", "sensors", "resources", "schedules"])
def test_the_dagster_layer_holds_no_sql(layer):
    assert _offenders(has_sql, _modules(layer)) == []


def test_only_config_reads_the_environment():
    assert _offenders(reads_environment, _modules(), allowed="medvault/platform/config/") == []


def test_the_engine_never_imports_dagster():
    assert _offenders(imports_dagster, _modules("platform")) == []


def _imported(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_only_steps_compose_steps_and_no_step_imports_another():
    offenders = []
    for name, src in _modules("platform").items():
        steps = {m for m in _imported(src) if m.startswith("medvault.platform.steps")}
        if name.startswith("medvault/platform/steps/"):
            steps -= {"medvault.platform.steps.context"}
            if name.endswith("/context.py") or name.endswith("/__init__.py"):
                steps = set()
        if steps:
            offenders.append(f"{name}: {sorted(steps)}")
    assert offenders == []


AGENT_NEVER = (
    "duckdb",
    "pandas",
    "numpy",
    "pyarrow",
    "pydicom",
    "dagster",
    "medvault.platform.rules",
    "medvault.platform.warehouse",
    "medvault.platform.steps",
    "medvault.platform.ledger",
)


def test_the_site_agent_imports_nothing_of_the_central_platform():
    """`pip install medvault[agent]` has no DuckDB, pandas or Dagster: the agent's modules import none of
    them at module level (pyarrow only inside the Parquet writer, an optional extra)."""
    offenders = []
    for name, src in {
        **_modules("platform", "agent"),
        "medvault/cli/agent.py": (PACKAGE / "cli/agent.py").read_text(),
        "medvault/platform/config/agent.py": (PACKAGE / "platform/config/agent.py").read_text(),
    }.items():
        top = {
            m
            for node in ast.parse(src).body
            for m in (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
        }
        bad = sorted(m for m in top if m.startswith(AGENT_NEVER))
        if bad:
            offenders.append(f"{name}: {bad}")
    assert offenders == []


CONFLICT = re.compile(r"^(<{7} |>{7} |={7}$)", re.M)


def test_no_merge_conflict_markers_are_committed():
    """A merge left half-resolved shows as lines of seven < or > (or =) at a line's start, in any text file."""
    root = PACKAGE.parent
    suffixes = {".py", ".md", ".sql", ".yaml", ".yml", ".toml", ".c", ".json", ".html", ".txt", ".cfg"}
    offenders = []
    for path in sorted(root.rglob("*")):
        if any(part.startswith(".") for part in path.relative_to(root).parts) or not path.is_file():
            continue
        if path.suffix in suffixes or path.name in ("Makefile", "Dockerfile"):
            text = path.read_text(errors="replace")
            offenders += [
                f"{path.relative_to(root)}:{text[: m.start()].count(chr(10)) + 1}"
                for m in CONFLICT.finditer(text)
            ]
    assert offenders == []

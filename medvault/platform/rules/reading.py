"""Reading rule files: the problem collector every rule loader shares, and YAML reading with its errors.

Every problem is reported as `<file>: <key.path>: <message>` and all problems of a folder are collected
before raising, so one `medvault rules check` shows everything that is wrong at once.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


class RulesError(ValueError):
    """One or more rule problems, each naming the file and the key path."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class Ctx:
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


def read_yaml(path: Path, ctx: Ctx) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "parse"
        ctx.fail(where, f"invalid YAML: {getattr(exc, 'problem', exc)}")
    except UnicodeDecodeError as exc:
        ctx.fail("", f"not UTF-8: {exc}")
    return None

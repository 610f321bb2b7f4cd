"""What the commands share: settings, the rules report, the Dagster instance and definitions."""

from __future__ import annotations

import sys

from medvault.platform.config import Settings
from medvault.platform.rules import RulesError


class UsageError(ValueError):
    """A command given something it cannot use; the message is the one sentence the user sees."""


def report_rules(exc: RulesError) -> None:
    """One line per rule problem, naming its file and key path (the `rules check` report)."""
    print(f"rules check failed: {len(exc.problems)} problem(s)", file=sys.stderr)
    for problem in exc.problems:
        print(f"  {problem}", file=sys.stderr)


def settings() -> Settings:
    return Settings.from_env()


def engine(s: Settings | None = None):
    """The engine alone (no Dagster instance): for commands that only read or fix the warehouse."""
    from medvault.resources import build_engine

    return build_engine(s or settings())


def instance_and_defs(s: Settings):
    """The real Dagster instance (DAGSTER_HOME, created with its dagster.yaml if missing) and definitions."""
    from dagster import DagsterInstance

    from medvault.definitions import build_definitions
    from medvault.instance import ensure_dagster_home

    ensure_dagster_home(s.dagster_home)
    return DagsterInstance.get(), build_definitions(s)

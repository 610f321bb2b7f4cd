"""Plain results every step returns: the tables it materialized and the checks it computed, as data.

The Dagster layer turns a `TableResult` into a `MaterializeResult` and a `CheckOutcome` into an
`AssetCheckResult`; the engine never imports Dagster. `table` names the asset by its parts, e.g.
("staging", "harmony_pacs__studies").
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    table: tuple[str, ...]
    passed: bool
    warn: bool = False  # a failed check is a warning (the data is kept), not an error
    metadata: dict = field(default_factory=dict)


@dataclass
class TableResult:
    table: tuple[str, ...]
    metadata: dict = field(default_factory=dict)
    row_count: int | None = None
    preview: tuple[tuple[str, ...], list[tuple]] | None = None  # (columns, first rows) of a consumer table


@dataclass
class StepResult:
    """What a step did: tables, checks, and the parts that failed (the others were still done)."""

    tables: list[TableResult] = field(default_factory=list)
    checks: list[CheckOutcome] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    failed: list[tuple[str, ...]] = field(default_factory=list)  # tables that failed: (zone, *name parts)

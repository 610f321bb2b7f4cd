"""A mart as the rules define it: a SQL file with a YAML header (rules/marts/<name>.sql).

Plain data, so the rules loader, the mart builder and the asset graph all read the same definition.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SCHEMA = "marts"
REBUILDS = ("full", "by_site", "by_month")


@dataclass(frozen=True)
class MartCheck:
    """A reconciliation the engine runs after the build: one row whose `passed` says if it holds; its
    other columns are the figures shown with the check."""

    name: str
    sql: str
    description: str = ""
    warn: bool = False  # a failed check warns (the mart is kept) instead of failing the step


@dataclass(frozen=True)
class MonthRule:
    """A `rebuild: by_month` mart's month: its output `column` (a day or a month's first day) is the
    month of `source` (`vault.<satellite>.<column>`) of the key a row stands for, so the months a load
    can change are those of the keys it wrote to that satellite (marts/months.py)."""

    column: str
    source: str

    @property
    def satellite(self) -> str:
        return self.source.split(".")[1]

    @property
    def source_column(self) -> str:
        return self.source.split(".")[2]


@dataclass(frozen=True)
class MartDef:
    name: str
    sql: str
    description: str
    grain: tuple[str, ...]
    inputs: tuple[str, ...]  # "zone.table" it reads: vault.*, dicom.*, marts.*
    owner: str = ""
    columns: dict[str, str] = field(default_factory=dict)  # column -> description
    checks: tuple[MartCheck, ...] = ()
    path: str = ""
    counts: tuple[str, ...] = ()  # count columns suppressed below the small-count threshold when published
    rebuild: str = "full"  # "by_site": a site's rows depend on that site's data only (marts/incremental.py)
    month: MonthRule | None = None  # "by_month": which column is the month, and of what

    @property
    def table(self) -> str:
        return f"{SCHEMA}.{self.name}"

    def mart_inputs(self) -> list[str]:
        """The other marts it reads (they are built first)."""
        return [i.split(".", 1)[1] for i in self.inputs if i.startswith(f"{SCHEMA}.")]


def build_order(marts: tuple[MartDef, ...]) -> list[MartDef]:
    """Every mart after the marts it reads (the rules loader refuses cycles)."""
    by_name = {m.name: m for m in marts}
    done: dict[str, MartDef] = {}

    def visit(mart: MartDef, path: tuple[str, ...]) -> None:
        if mart.name in done or mart.name in path:
            return
        for dep in mart.mart_inputs():
            if dep in by_name:
                visit(by_name[dep], (*path, mart.name))
        done[mart.name] = mart

    for mart in sorted(marts, key=lambda m: m.name):
        visit(mart, ())
    return list(done.values())

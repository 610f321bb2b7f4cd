"""Which rows of a mart to rebuild: all of them, only some sites' or some (site, month) pairs', or none.

A mart declared `rebuild: by_site` promises that a site's rows depend on that site's data only (every
join on the vault's site-scoped keys, no figure across sites). Then, when its rules are unchanged since
its last build, only the sites a load wrote to since that build (the ledger's audit), the sites the
marts it reads rebuilt, and the sites the ledger no longer knows (purged) are rebuilt: their rows are
deleted and inserted again in one transaction. A mart declared `rebuild: by_month` goes further: only
the (site, month) pairs the loads into its month's satellite since its last build may have changed
(marts/months.py) are rebuilt, and every other month keeps its rows (a site the ledger lost is rebuilt
whole). Anything else (a first build, changed SQL or reference data, a mart it reads rebuilt whole,
`rebuild: full`) rebuilds the whole table.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from medvault.platform.ledger.marts import MartBuild
from medvault.platform.marts.models import MartDef
from medvault.platform.marts.months import Month
from medvault.platform.rules.models import ReferenceDef
from medvault.platform.vault.reference import content_sha

FULL, BY_SITE, BY_MONTH, UNCHANGED = "full", "by_site", "by_month", "unchanged"


@dataclass(frozen=True)
class Plan:
    mode: str
    sites: frozenset[str] | None = None  # BY_SITE: the sites to rebuild; BY_MONTH: the sites rebuilt whole
    reason: str = ""
    months: frozenset[Month] = frozenset()  # BY_MONTH: the (site, month) pairs to rebuild

    def touched(self) -> set[str]:
        """Every site some of whose rows this build rewrote (what a mart reading this one rebuilds)."""
        return set(self.sites or ()) | {site for site, _ in self.months}


def fingerprint(mart: MartDef, references: dict[str, ReferenceDef]) -> str:
    """What the mart's rows are made from besides the data: its SQL and the reference tables it reads."""
    digest = hashlib.sha256(mart.sql.encode())
    for name in sorted(i.split(".", 1)[1] for i in mart.inputs if i.startswith("vault.ref_")):
        if name in references:
            digest.update(f"|{name}={content_sha(references[name])}".encode())
    return digest.hexdigest()


def plan(
    mart: MartDef,
    fp: str,
    last: MartBuild | None,
    exists: bool,
    changed: set[str],
    upstream: dict[str, Plan],
    orphans: set[str],
    months: set[Month] = frozenset(),
) -> Plan:
    """How to rebuild `mart`; `upstream` holds the plans of the marts built before it this run,
    `changed` the sites written to since its last build, `orphans` its sites the ledger lost, and for a
    by-month mart `months` the (site, month) pairs its loads since may have changed (marts/months.py)."""
    if mart.rebuild not in (BY_SITE, BY_MONTH):
        return Plan(FULL, reason="rebuild: full")
    if last is None or not exists:
        return Plan(FULL, reason="first build")
    if last.fingerprint != fp:
        return Plan(FULL, reason="its SQL or reference data changed")
    sites = set(changed) | orphans
    for dep in mart.mart_inputs():
        dep_plan = upstream.get(dep)
        if dep_plan is None or dep_plan.mode == FULL:
            return Plan(FULL, reason=f"marts.{dep} was rebuilt whole")
        sites |= dep_plan.touched()
    if mart.rebuild == BY_MONTH:
        pairs = frozenset(m for m in months if m[0] not in sites)
        if not sites and not pairs:
            return Plan(UNCHANGED, frozenset(), "no month's data changed since its last build")
        return Plan(BY_MONTH, frozenset(sites), "months whose data changed", pairs)
    if not sites:
        return Plan(UNCHANGED, frozenset(), "no site's data changed since its last build")
    return Plan(BY_SITE, frozenset(sites), "sites whose data changed")

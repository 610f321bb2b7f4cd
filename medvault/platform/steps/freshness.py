"""Is every site still delivering? Hours since each site's last received file, against a threshold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from medvault.platform.drops.layout import STRAYS_SITE
from medvault.platform.ledger import Ledger
from medvault.platform.results import CheckOutcome
from medvault.platform.steps.context import StepContext


def sites_fresh(ctx: StepContext, known_sites: set[str]) -> CheckOutcome:
    """Every known site (rules and site partitions) delivered a file within MEDVAULT_FRESHNESS_HOURS."""
    max_age = timedelta(hours=ctx.settings.freshness_hours)
    sites = set(ctx.rules.sites) | set(known_sites)
    with ctx.warehouse.connect() as con:
        last = Ledger(con).reports.last_received_by_site(exclude=(STRAYS_SITE,))
    now = datetime.now(UTC).replace(tzinfo=None)
    ages = {site: (now - last[site]) if site in last else None for site in sorted(sites)}
    stale = {s: a for s, a in ages.items() if a is None or a > max_age}
    return CheckOutcome(
        "sites_fresh",
        ("raw", "drops"),
        passed=not stale,
        warn=True,
        metadata={
            "max_age_hours": max_age.total_seconds() / 3600,
            "stale_sites": ", ".join(sorted(stale)) or "none",
            "hours_since_last_file": {
                s: (None if a is None else round(a.total_seconds() / 3600, 1)) for s, a in ages.items()
            },
        },
    )

"""Is every site still delivering? Hours since each site's last received file, against its threshold.

A site's threshold is its `freshness_hours` in `rules/sites.yaml`, else MEDVAULT_FRESHNESS_HOURS. A site
that never delivered (listed in the rules, or a partition whose files never arrived) is "not yet
delivering", which is not a failure: only a site that delivered and then stopped is stale.
"""

from __future__ import annotations

from datetime import UTC, datetime

from medvault.platform.drops.layout import STRAYS_SITE
from medvault.platform.ledger import Ledger
from medvault.platform.results import CheckOutcome
from medvault.platform.steps.context import StepContext


def sites_fresh(ctx: StepContext, known_sites: set[str]) -> CheckOutcome:
    sites = set(ctx.rules.sites) | set(known_sites)
    with ctx.connect() as con:
        last = Ledger(con).reports.last_received_by_site(exclude=(STRAYS_SITE,))
    now = datetime.now(UTC).replace(tzinfo=None)
    hours, thresholds, stale, waiting = {}, {}, [], []
    for site in sorted(sites):
        rule = ctx.rules.sites.get(site)
        limit = rule.freshness_hours if rule and rule.freshness_hours else ctx.settings.freshness_hours
        thresholds[site] = limit
        if site not in last:
            waiting.append(site)
            hours[site] = None
            continue
        age = (now - last[site]).total_seconds() / 3600
        hours[site] = round(age, 2)
        if age > limit:
            stale.append(site)
    return CheckOutcome(
        "sites_fresh",
        ("raw", "drops"),
        passed=not stale,
        warn=True,
        metadata={
            "stale_sites": ", ".join(stale) or "none",
            "not_yet_delivering": ", ".join(waiting) or "none",
            "hours_since_last_file": hours,
            "threshold_hours": thresholds,
        },
    )

"""The dashboard's data: every mart it charts as the published (suppressed) copy, and the pipeline's
counts from the ledger, as JSON-ready rows.

Only published copies leave the warehouse (publish/suppress.py): a count under the small-count threshold
is null here too and drawn as "<k"; no patient value is in a mart, so none is in the page.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from medvault.platform.dashboard.pages import PAGES
from medvault.platform.ledger import Ledger
from medvault.platform.marts.models import MartDef
from medvault.platform.publish.suppress import published_select
from medvault.platform.rules.models import Rules
from medvault.platform.warehouse import table_exists


def _json(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _rows(cur) -> list[dict]:
    names = [d[0] for d in cur.description]
    return [{n: _json(v) for n, v in zip(names, row, strict=True)} for row in cur.fetchall()]


def _mart_rows(con, mart: MartDef, threshold: int) -> list[dict]:
    if not table_exists(con, "marts", mart.name):
        return []
    return _rows(con.execute(published_select(mart, threshold)))


def collect(con, rules: Rules, threshold: int, now: datetime | None = None) -> dict:
    """{"datasets": {name: rows}, "sites": {code: name}, "pages": [...], "built_at", "threshold"}."""
    marts = {m.name: m for m in rules.marts}
    wanted = {c.dataset for p in PAGES for c in p.charts}
    datasets = {name: _mart_rows(con, marts[name], threshold) for name in sorted(wanted & set(marts))}
    ledger = Ledger(con)
    keys = ("site", "date", "files", "received", "loaded", "quarantined", "superseded")
    datasets["files_by_day"] = [
        dict(zip(keys, map(_json, r), strict=True)) for r in ledger.files.daily_counts()
    ]
    datasets["freshness"] = [
        {"site": s, "newest_drop": _json(d), "last_file_received": _json(t)}
        for s, d, t in ledger.files.freshness()
    ]
    seen = {r["site"] for r in datasets["files_by_day"]}  # the sites that delivered (the filter's choices)
    sites = {code: (rules.sites[code].name if code in rules.sites else code) for code in sorted(seen)}
    pages = [
        {
            "id": p.id,
            "title": p.title,
            "charts": [
                {
                    "id": c.id,
                    "title": c.title,
                    "dataset": c.dataset,
                    "kind": c.kind,
                    "x": c.x,
                    "y": list(c.y),
                    "when": c.when,
                    "label": c.label,
                    "ordered": c.ordered,
                }
                for c in p.charts
            ],
        }
        for p in PAGES
    ]
    built = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M")
    return {
        "datasets": datasets,
        "sites": sites,
        "pages": pages,
        "built_at": built,
        "threshold": threshold,
    }

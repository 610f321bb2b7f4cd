"""The dashboard's data and page without a browser: published (suppressed) marts, the pipeline's counts,
the JSON embedded safely, nothing fetched from the network. (The browser test is in test_end_to_end.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

from medvault.platform.dashboard.build import write_dashboard
from medvault.platform.dashboard.page import render
from medvault.platform.rules import load_rules
from medvault.platform.warehouse.db import Warehouse
from tests.test_marts import SITE, TABLES, _load

ROOT = Path(__file__).resolve().parents[1]


def _embedded(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="medvault-data">(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


def test_the_page_holds_the_published_marts_and_the_pipeline_counts(tmp_path: Path):
    rules = load_rules(ROOT / "rules")
    _load(tmp_path, rules, "2026-03-02", TABLES)
    with Warehouse(tmp_path / "w.duckdb").connect(read_only=True) as con:
        path, data = write_dashboard(con, rules, tmp_path, threshold=2)
    html = path.read_text()
    assert path == tmp_path / "dashboard" / "index.html"
    assert _embedded(html) == json.loads(json.dumps(data)), "the page embeds exactly the collected data"
    assert not re.search(r"<(script|link)[^>]*(src|href)=", html), (
        "self-contained: nothing loaded from outside"
    )
    exams = {r["Month"]: r["TotalExams"] for r in data["datasets"]["examinations_per_month"]}
    assert exams == {"Jan-2026": 2, "Feb-2026": None, None: None}, "counts under the threshold are null"
    files = data["datasets"]["files_by_day"]
    assert files == [
        {
            "site": SITE,
            "date": "2026-03-02",
            "files": 5,
            "received": 0,
            "loaded": 5,
            "quarantined": 0,
            "superseded": 0,
        }
    ]
    assert data["sites"] == {SITE: rules.sites[SITE].name}
    assert [p["id"] for p in data["pages"]] == ["imaging", "clinical", "operations", "pipeline"]


def test_embedded_text_cannot_close_the_script_element():
    html = render(
        {"datasets": {"x": [{"a": "</script><script>alert(1)</script>"}]}, "pages": [], "sites": {}}
    )
    body = html.split('id="medvault-data">', 1)[1]
    assert body.index("</script>") > body.index("alert(1)"), "the payload's </ is escaped"
    assert _embedded(html)["datasets"]["x"][0]["a"] == "</script><script>alert(1)</script>"

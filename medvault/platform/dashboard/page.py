"""The dashboard page: the template (template.html: styles and chart code inline, no CDN, works from a
file:// URL offline) with the data embedded as JSON."""

from __future__ import annotations

import json
from importlib import resources

PLACEHOLDER = "/*__DATA__*/"


def render(data: dict) -> str:
    template = resources.files("medvault.platform.dashboard").joinpath("template.html").read_text("utf-8")
    # inside <script type="application/json">: no "</" may close the element early
    payload = json.dumps(data, sort_keys=True, separators=(",", ":")).replace("</", "<\\/")
    return template.replace(PLACEHOLDER, payload)

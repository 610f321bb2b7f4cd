"""`rules/sites.yaml`: the sites that send drops."""

from __future__ import annotations

from pathlib import Path

from medvault.platform.rules.models import Site
from medvault.platform.rules.reading import Ctx, read_yaml


def load_sites(path: Path, root: Path, problems: list[str]) -> dict[str, Site]:
    ctx = Ctx(path, root, problems)
    data = ctx.mapping(read_yaml(path, ctx) or {}, "")
    ctx.unknown(data, {"sites"}, "")
    sites: dict[str, Site] = {}
    for i, raw in enumerate(ctx.seq(data.get("sites"), "sites")):
        key = f"sites[{i}]"
        item = ctx.mapping(raw, key)
        if not item:
            continue
        ctx.unknown(item, {"code", "name", "country", "timezone", "freshness_hours"}, key)
        freshness = item.get("freshness_hours")
        if freshness is not None and (
            isinstance(freshness, bool) or not isinstance(freshness, int | float) or freshness <= 0
        ):
            ctx.fail(f"{key}.freshness_hours", f"must be a positive number of hours, got {freshness!r}")
            freshness = None
        code = ctx.text(item, "code", key)
        ctx.identifier(code, f"{key}.code")
        if code in sites:
            ctx.fail(f"{key}.code", f"duplicate site code {code!r}")
        tz = ctx.text(item, "timezone", key, required=False, default="UTC")
        try:
            from zoneinfo import ZoneInfo

            ZoneInfo(tz)
        except Exception:
            ctx.fail(f"{key}.timezone", f"unknown timezone {tz!r}")
        if code:
            sites[code] = Site(
                code=code,
                name=ctx.text(item, "name", key, required=False, default=code),
                country=ctx.text(item, "country", key, required=False, default=""),
                timezone=tz,
                freshness_hours=None if freshness is None else float(freshness),
            )
    return sites

"""`bridges:` in rules/vault/*.yaml: bridge tables, a chain of links walked from an anchor hub and kept
as one row per path, so a mart reaches every image of a study (or every bed of a facility) with
equi-joins on one table instead of a join per link.

    bridges:
      bridge_study_images:
        description: every image of a study, through its series.
        anchor: hub_event
        path: [link_event_series, link_series_instance]

Each link of the path joins the hub reached so far to exactly one new hub (the first link joins the
anchor); a hub is visited once.
"""

from __future__ import annotations

from typing import Any

from medvault.platform.rules.models import BridgeDef, HubDef, LinkDef
from medvault.platform.rules.reading import Ctx


def read_bridges(ctx: Ctx, data: dict, out: list[tuple[Ctx, str, BridgeDef]]) -> None:
    """Parse a file's `bridges:`; cross-file checks (hubs and links exist) come in `check_bridges`."""
    for name, raw in ctx.mapping(data.get("bridges") or {}, "bridges").items():
        key = f"bridges.{name}"
        item = ctx.mapping(raw, key)
        ctx.unknown(item, {"anchor", "path", "description"}, key)
        ctx.identifier(str(name), key)
        if not str(name).startswith("bridge_"):
            ctx.fail(key, "bridge names start with bridge_")
        if any(str(name) == b.name for _, _, b in out):
            ctx.fail(key, f"bridge {name!r} is declared twice")
        path = tuple(str(x) for x in ctx.seq(item.get("path"), f"{key}.path"))
        if not path:
            ctx.fail(f"{key}.path", "a bridge walks at least one link")
        bridge = BridgeDef(
            str(name),
            ctx.text(item, "anchor", key) or "",
            path,
            ctx.text(item, "description", key, required=False, default=""),
        )
        out.append((ctx, key, bridge))


def check_bridges(
    declared: list[tuple[Ctx, str, BridgeDef]], hubs: dict[str, HubDef], links: dict[str, LinkDef]
) -> dict[str, BridgeDef]:
    """Every anchor a hub, every path link a link that steps from the hub reached to one new hub."""
    out: dict[str, BridgeDef] = {}
    for ctx, key, bridge in declared:
        if bridge.anchor not in hubs:
            ctx.fail(f"{key}.anchor", f"unknown hub {bridge.anchor!r}")
            continue
        visited = [bridge.anchor]
        for n, name in enumerate(bridge.path):
            link = links.get(name)
            if link is None:
                ctx.fail(f"{key}.path[{n}]", f"unknown link {name!r}")
                break
            if link.roles:
                ctx.fail(f"{key}.path[{n}]", f"{name} names its hubs in roles; a bridge walks plain links")
                break
            if visited[-1] not in link.hubs:
                ctx.fail(f"{key}.path[{n}]", f"{name} does not join {visited[-1]}, the hub reached so far")
                break
            new = [h for h in link.hubs if h not in visited]
            if len(new) != 1 or len(link.hubs) != 2:
                ctx.fail(f"{key}.path[{n}]", f"{name} must join {visited[-1]} to one hub not yet visited")
                break
            visited.append(new[0])
        else:
            out[bridge.name] = bridge
    return out


def hubs_walked(bridge: BridgeDef, links: dict[str, Any]) -> tuple[str, ...]:
    """The anchor then each hub the path reaches, in order."""
    walked = [bridge.anchor]
    for name in bridge.path:
        walked.append(next(h for h in links[name].hubs if h != walked[-1]))
    return tuple(walked)

"""`rules/vault/*.yaml`: hubs, links and the loads that feed them, checked against the sources."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medvault.platform.rules.bridges import check_bridges, read_bridges
from medvault.platform.rules.derive import read_derive
from medvault.platform.rules.models import (
    FAMILIES,
    HubDef,
    LinkDef,
    SatelliteLoad,
    SourceDef,
    VaultLoad,
    VaultModel,
    entry_hub,
)
from medvault.platform.rules.reading import Ctx, read_yaml
from medvault.platform.rules.references import read_references


def vault_model(path: Path, root: Path, problems: list[str], model: dict[str, Any]) -> None:
    ctx = Ctx(path, root, problems)
    data = ctx.mapping(read_yaml(path, ctx) or {}, "")
    ctx.unknown(data, {"hubs", "links", "loads", "references", "bridges", "ghost_records"}, "")
    _ghost_records(ctx, data, model)
    read_references(ctx, data, path.parent, model["references"])
    read_bridges(ctx, data, model["bridges"])
    for name, raw in ctx.mapping(data.get("hubs") or {}, "hubs").items():
        key = f"hubs.{name}"
        item = ctx.mapping(raw, key)
        ctx.unknown(item, {"family", "business_key", "description", "record_tracking"}, key)
        tracking = item.get("record_tracking", False)
        if not isinstance(tracking, bool):
            ctx.fail(f"{key}.record_tracking", "expected true or false")
        ctx.identifier(str(name), key)
        family = ctx.text(item, "family", key)
        if family is not None and family not in FAMILIES:
            ctx.fail(f"{key}.family", f"{family!r} is not one of {', '.join(FAMILIES)}")
        bk = tuple(str(b) for b in ctx.seq(item.get("business_key"), f"{key}.business_key"))
        if not bk:
            ctx.fail(f"{key}.business_key", "at least one business key column is required")
        if name in model["hubs"]:
            ctx.fail(key, f"hub {name!r} is declared twice")
        model["hubs"][str(name)] = HubDef(
            str(name),
            family or "",
            bk,
            ctx.text(item, "description", key, required=False, default=""),
            record_tracking=tracking is True,
        )
    for name, raw in ctx.mapping(data.get("links") or {}, "links").items():
        key = f"links.{name}"
        item = ctx.mapping(raw, key)
        ctx.unknown(item, {"hubs", "roles", "description", "transaction", "effectivity"}, key)
        ctx.identifier(str(name), key)
        hubs = tuple(str(h) for h in ctx.seq(item.get("hubs"), f"{key}.hubs"))
        if len(hubs) < 2:
            ctx.fail(f"{key}.hubs", "a link joins at least two hubs")
        roles = _roles(ctx, item, hubs, key)
        tx_key: tuple[str, ...] = ()
        payload: tuple[str, ...] = ()
        if "transaction" in item:
            tx = ctx.mapping(item.get("transaction"), f"{key}.transaction")
            ctx.unknown(tx, {"key", "payload"}, f"{key}.transaction")
            tx_key = tuple(str(c) for c in ctx.seq(tx.get("key"), f"{key}.transaction.key"))
            payload = tuple(str(c) for c in ctx.seq(tx.get("payload"), f"{key}.transaction.payload"))
            if not tx_key:
                ctx.fail(f"{key}.transaction.key", "a transaction needs the column(s) that tell two apart")
        driving = None
        if "effectivity" in item:
            eff = ctx.mapping(item.get("effectivity"), f"{key}.effectivity")
            ctx.unknown(eff, {"driving_key"}, f"{key}.effectivity")
            driving = ctx.text(eff, "driving_key", f"{key}.effectivity")
            if driving is not None and driving not in hubs:
                ctx.fail(f"{key}.effectivity.driving_key", f"{driving!r} is not one of the link's hubs")
            if "transaction" in item:
                ctx.fail(f"{key}.effectivity", "a transaction happens once: it has no effectivity")
            if roles:
                ctx.fail(f"{key}.effectivity", "a link with roles has no single driving key")
        model["links"][str(name)] = LinkDef(
            str(name),
            hubs,
            ctx.text(item, "description", key, required=False, default=""),
            transaction_key=tx_key,
            payload=payload,
            transactional="transaction" in item,
            driving_key=driving,
            roles=roles,
        )
    for i, raw in enumerate(ctx.seq(data.get("loads"), "loads")):
        key = f"loads[{i}]"
        item = ctx.mapping(raw, key)
        ctx.unknown(item, {"source", "derive", "hubs", "links", "satellites"}, key)
        derive = read_derive(ctx, item.get("derive"), f"{key}.derive")
        source = ctx.text(item, "source", key)
        if source is not None and source.count(".") != 1:
            ctx.fail(f"{key}.source", f"{source!r} must be <system>.<table>")
        hubs = {
            str(h): tuple(str(c) for c in ctx.seq(cols, f"{key}.hubs.{h}"))
            for h, cols in ctx.mapping(item.get("hubs") or {}, f"{key}.hubs").items()
        }
        sats = []
        for sname, sraw in ctx.mapping(item.get("satellites") or {}, f"{key}.satellites").items():
            skey = f"{key}.satellites.{sname}"
            sitem = ctx.mapping(sraw, skey)
            ctx.unknown(sitem, {"parent", "columns", "multi_active"}, skey)
            ctx.identifier(str(sname), skey)
            if not str(sname).startswith("sat_"):
                ctx.fail(skey, "satellite names follow sat_<hub>_<major>_<minor>")
            parent = ctx.text(sitem, "parent", skey)
            columns = tuple(str(c) for c in ctx.seq(sitem.get("columns"), f"{skey}.columns"))
            sub = tuple(str(c) for c in ctx.seq(sitem.get("multi_active"), f"{skey}.multi_active"))
            if "multi_active" in sitem and not sub:
                ctx.fail(
                    f"{skey}.multi_active", "name the sub-sequence column(s) that tell a key's rows apart"
                )
            for c in set(sub) & set(columns):
                ctx.fail(
                    f"{skey}.multi_active", f"{c!r} is a payload column too; a sub-sequence is not payload"
                )
            sats.append(SatelliteLoad(str(sname), parent or "", columns, multi_active=sub))
        model["loads"].append(
            (
                ctx,
                key,
                VaultLoad(
                    source=source or "",
                    hubs=hubs,
                    links=tuple(str(x) for x in ctx.seq(item.get("links"), f"{key}.links")),
                    satellites=tuple(sats),
                    path=str(path),
                    derive=derive,
                ),
            )
        )


def _ghost_records(ctx: Ctx, data: dict, model: dict[str, Any]) -> None:
    """`ghost_records: true | false`, said once for the whole model (by convention in model.yaml)."""
    if "ghost_records" not in data:
        return
    value = data["ghost_records"]
    if not isinstance(value, bool):
        ctx.fail("ghost_records", f"expected true or false, got {value!r}")
        return
    if model.get("ghost_records_file"):
        ctx.fail("ghost_records", f"is set in {model['ghost_records_file']} already; say it once")
        return
    model["ghost_records"], model["ghost_records_file"] = value, ctx.name


def _roles(ctx: Ctx, item: dict, hubs: tuple[str, ...], key: str) -> tuple[str, ...]:
    """A link's `roles:`, one per hub; required when a hub appears twice."""
    roles = tuple(str(r) for r in ctx.seq(item.get("roles"), f"{key}.roles"))
    for r in roles:
        ctx.identifier(r, f"{key}.roles")
    if roles and len(roles) != len(hubs):
        ctx.fail(f"{key}.roles", f"gives {len(roles)} roles for {len(hubs)} hubs (one role per hub)")
        return ()
    if len(set(roles)) != len(roles):
        ctx.fail(f"{key}.roles", "each role names one end of the link once")
    if len(set(hubs)) != len(hubs) and not roles:
        ctx.fail(f"{key}.hubs", "a hub appears twice: give each end a role (roles: [order, study])")
    return roles


def check_vault(model: dict[str, Any], sources: tuple[SourceDef, ...]) -> VaultModel:
    """Cross-file checks: loads name real staged columns, hubs and links."""
    staged: dict[str, set[str]] = {}
    for s in sources:
        for t in s.tables:
            staged.setdefault(f"{s.system}.{t.name}", set()).update(c.name for c in t.columns)
            for child in t.children:  # staged with the parent's key and its position (line_no)
                columns = {c.name for c in child.columns} | set(t.key) | {"line_no"}
                staged.setdefault(f"{s.system}.{child.name}", set()).update(columns)
    hubs, links = model["hubs"], model["links"]
    for link in links.values():
        for h in link.hubs:
            if h not in hubs:
                model["problems"].append(f"vault: links.{link.name}.hubs: unknown hub {h!r}")
    loads = []
    for ctx, key, load in model["loads"]:
        columns = staged.get(load.source)
        if columns is None:
            ctx.fail(f"{key}.source", f"no source table {load.source!r} is declared in sources/")
            columns = set()
        elif load.derive:
            for name, derived in load.derive.items():
                if name in columns:
                    ctx.fail(f"{key}.derive.{name}", f"is a staged column of {load.source} already")
                for c in derived.columns:
                    if c not in columns:
                        ctx.fail(f"{key}.derive.{name}", f"{c!r} is not a staged column of {load.source}")
            columns = columns | set(load.derive)
        ends = {e.entry for name in load.links if name in links for e in links[name].ends()}
        for entry, cols in load.hubs.items():
            hub = entry_hub(entry)
            if hub not in hubs:
                ctx.fail(f"{key}.hubs.{entry}", "unknown hub")
                continue
            if entry != hub and entry not in ends:
                ctx.fail(f"{key}.hubs.{entry}", "a hub in a role must be an end of one of this load's links")
            if len(cols) != len(hubs[hub].business_key):
                ctx.fail(
                    f"{key}.hubs.{entry}",
                    f"gives {len(cols)} columns for a {len(hubs[hub].business_key)}-part business key",
                )
            for c in cols:
                if columns and c not in columns:
                    ctx.fail(f"{key}.hubs.{entry}", f"{c!r} is not a staged column of {load.source}")
        for link in load.links:
            if link not in links:
                ctx.fail(f"{key}.links", f"unknown link {link!r}")
            else:
                for end in links[link].ends():
                    if end.entry not in load.hubs:
                        ctx.fail(
                            f"{key}.links", f"{link} needs hub {end.entry!r}, which this load does not map"
                        )
                for c in links[link].transaction_key + links[link].payload:
                    if columns and c not in columns:
                        ctx.fail(
                            f"{key}.links",
                            f"transaction {link} needs {c!r}, not a staged column of {load.source}",
                        )
        for sat in load.satellites:
            skey = f"{key}.satellites.{sat.name}"
            if sat.parent not in load.hubs and sat.parent not in load.links:
                ctx.fail(f"{skey}.parent", f"{sat.parent!r} is not a hub or link of this load")
            for c in sat.columns:
                if columns and c not in columns:
                    ctx.fail(f"{skey}.columns", f"{c!r} is not a staged column of {load.source}")
            for c in sat.multi_active:
                if columns and c not in columns:
                    ctx.fail(f"{skey}.multi_active", f"{c!r} is not a staged column of {load.source}")
        loads.append(load)
    return VaultModel(
        hubs=hubs,
        links=links,
        loads=tuple(loads),
        references=dict(model["references"]),
        bridges=check_bridges(model["bridges"], hubs, links),
        ghost_records=model.get("ghost_records", True),
    )

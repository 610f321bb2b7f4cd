"""`rules/delivery.yaml`: seed 004's image delivery pipeline (code, UID root, destination, naming, the PACS
extract the images are cross-checked against), and
`rules/recipients.yaml`: who its e-mails go to.

A template names its fields in brackets; every field not built in needs a source, and every source is
checked here (a tag the header reader does not extract, a path index that is not a number, a UID root that
is not a UID) so a typo is reported by `medvault rules check`, not by the first delivery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from medvault.platform.delivery.naming import BUILT_IN, SOURCES, FieldSource, NameTemplate
from medvault.platform.delivery.uid import uid_problem
from medvault.platform.dicom.crosscheck import PacsTables
from medvault.platform.dicom.tags import column_for
from medvault.platform.notify.recipients import Recipients, RecipientsError, parse_recipients
from medvault.platform.rules.reading import Ctx, read_yaml

DEFAULT_TEMPLATE = "[form]_[field]_[participant]_[event]_[record]_[revision]_[fileid]_[timestamp]"


@dataclass(frozen=True)
class DeliveryRules:
    code: str = "dicom_images"
    label: str = "DICOM images to the delivery destination"
    uid_root: str = "2.25.2411964735209013518"
    destination: str = "quarantine"
    naming: NameTemplate = field(default_factory=lambda: NameTemplate(DEFAULT_TEMPLATE))
    sites: dict[str, NameTemplate] = field(default_factory=dict)
    pacs: PacsTables = field(default_factory=PacsTables)

    def template_for(self, site: str) -> NameTemplate:
        return self.sites.get(site, self.naming)


def _fields(ctx: Ctx, raw: object, key: str) -> dict[str, FieldSource]:
    out: dict[str, FieldSource] = {}
    for name, spec in ctx.mapping(raw or {}, key).items():
        where = f"{key}.{name}"
        spec = ctx.mapping(spec, where)
        kinds = [k for k in SOURCES if k in spec]
        ctx.unknown(spec, set(SOURCES), where)
        if len(kinds) != 1:
            ctx.fail(where, f"needs exactly one source of {', '.join(SOURCES)}")
            continue
        kind, arg = kinds[0], str(spec[kinds[0]])
        if kind in ("tag", "pseudonym") and column_for(arg) is None:
            ctx.fail(f"{where}.{kind}", f"{arg!r} is not a tag the header reader extracts (docs/dicom.md)")
            continue
        if kind == "path" and arg != "stem" and not arg.lstrip("-").isdigit():
            ctx.fail(
                f"{where}.path", f"{arg!r} must be a folder index (0 = first folder below the date) or stem"
            )
            continue
        out[name] = FieldSource(kind, column_for(arg) if kind in ("tag", "pseudonym") else arg)
    return out


def _template(ctx: Ctx, raw: dict, key: str, base: NameTemplate | None) -> NameTemplate:
    text = ctx.text(raw, "template", key, required=False, default=base.template if base else DEFAULT_TEMPLATE)
    fields = {**(base.fields if base else {}), **_fields(ctx, raw.get("fields"), f"{key}.fields")}
    template = NameTemplate(text, fields)
    names = template.names()
    if not names:
        ctx.fail(f"{key}.template", "names no [field]")
    if "fileid" not in names:
        ctx.fail(f"{key}.template", "must contain [fileid] (it keeps names unique)")
    for name in names:
        if name not in BUILT_IN and name not in fields:
            ctx.fail(
                f"{key}.fields", f"[{name}] of the template has no source (built in: {', '.join(BUILT_IN)})"
            )
    return template


def _pacs(ctx: Ctx, raw: object, staged: set[str]) -> PacsTables:
    data = ctx.mapping(raw or {}, "pacs_crosscheck")
    ctx.unknown(data, {"studies", "series", "instances", "grace_days"}, "pacs_crosscheck")
    default = PacsTables()
    tables = {}
    for name in ("studies", "series", "instances"):
        table = ctx.text(data, name, "pacs_crosscheck", required=False, default=getattr(default, name))
        if table not in staged:
            ctx.fail(f"pacs_crosscheck.{name}", f"{table!r} is not a staged table (<system>__<table>)")
        tables[name] = table
    grace = data.get("grace_days", default.grace_days)
    if isinstance(grace, bool) or not isinstance(grace, int) or grace < 0:
        ctx.fail("pacs_crosscheck.grace_days", f"must be a whole number of days, got {grace!r}")
        grace = default.grace_days
    return PacsTables(grace_days=grace, **tables)


def load_delivery(
    path: Path, root: Path, problems: list[str], sites: set[str], staged: set[str]
) -> DeliveryRules:
    """The delivery rules of `path`, or the defaults when the file does not exist."""
    if not path.exists():
        return DeliveryRules()
    ctx = Ctx(path, root, problems)
    data = ctx.mapping(read_yaml(path, ctx) or {}, "")
    ctx.unknown(data, {"pipeline", "uid_root", "destination", "naming", "sites", "pacs_crosscheck"}, "")
    pipeline = ctx.mapping(data.get("pipeline", {}), "pipeline")
    ctx.unknown(pipeline, {"code", "label"}, "pipeline")
    code = ctx.text(pipeline, "code", "pipeline", required=False, default=DeliveryRules.code)
    ctx.identifier(code, "pipeline.code")
    uid_root = ctx.text(data, "uid_root", "", required=False, default=DeliveryRules.uid_root)
    if uid_root and (problem := uid_problem(uid_root)):
        ctx.fail("uid_root", problem)
    destination = ctx.text(data, "destination", "", required=False, default=DeliveryRules.destination)
    if destination and (destination.startswith("/") or ".." in destination.split("/")):
        ctx.fail("destination", f"{destination!r} must be a relative folder without '..'")
    naming = ctx.mapping(data.get("naming", {}), "naming")
    ctx.unknown(naming, {"template", "fields"}, "naming")
    base = _template(ctx, naming, "naming", None)
    per_site: dict[str, NameTemplate] = {}
    for site, raw in ctx.mapping(data.get("sites") or {}, "sites").items():
        if site not in sites:
            ctx.fail(f"sites.{site}", "is not a site of sites.yaml")
        raw = ctx.mapping(raw, f"sites.{site}")
        ctx.unknown(raw, {"template", "fields"}, f"sites.{site}")
        per_site[site] = _template(ctx, raw, f"sites.{site}", base)
    return DeliveryRules(
        code=code,
        label=ctx.text(pipeline, "label", "pipeline", required=False, default=DeliveryRules.label),
        uid_root=uid_root,
        destination=destination.strip("/"),
        naming=base,
        sites=per_site,
        pacs=_pacs(ctx, data.get("pacs_crosscheck"), staged),
    )


def load_recipients(path: Path, root: Path, problems: list[str], sites: set[str]) -> Recipients:
    """The e-mail recipients of `path` (nobody when the file does not exist)."""
    if not path.exists():
        return Recipients()
    ctx = Ctx(path, root, problems)
    data = read_yaml(path, ctx)
    try:
        recipients = parse_recipients(data, ctx.name)
    except RecipientsError as exc:
        problems.append(str(exc))
        return Recipients()
    for site in sorted(set(recipients.sites) - sites):
        ctx.fail(f"sites.{site}", "is not a site of sites.yaml")
    return recipients

"""Load and validate the YAML rules folder (sites, sources, vault), collecting every problem first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from medvault.platform.rules.delivery import load_delivery, load_recipients
from medvault.platform.rules.dicom import load_dicom
from medvault.platform.rules.marts import load_marts
from medvault.platform.rules.models import Rules
from medvault.platform.rules.reading import RulesError
from medvault.platform.rules.references import SITE_REFERENCE, site_reference
from medvault.platform.rules.sites import load_sites
from medvault.platform.rules.sources import load_source
from medvault.platform.rules.vault_rules import check_vault, vault_model

__all__ = ["RulesError", "load_rules", "load_sites", "load_source"]


def iter_source_files(root: Path) -> Iterator[Path]:
    yield from sorted((root / "sources").glob("*/*.yaml"))


def load_rules(root: Path | str) -> Rules:
    """Load and validate every rule file under `root`; raise RulesError listing all problems."""
    root = Path(root)
    problems: list[str] = []
    if not root.is_dir():
        raise RulesError([f"{root}: rules folder not found (set MEDVAULT_RULES)"])
    sites_file = root / "sites.yaml"
    sites = load_sites(sites_file, root, problems) if sites_file.exists() else {}
    if not sites_file.exists():
        problems.append(f"{sites_file}: missing (lists the sites: code, name, country, timezone)")
    sources = tuple(s for p in iter_source_files(root) if (s := load_source(p, root, problems)) is not None)
    seen: set[tuple[str, str]] = set()
    for s in sources:
        if (s.system, s.version) in seen:
            problems.append(f"{s.path}: {s.system}/{s.version} is declared twice")
        seen.add((s.system, s.version))
    model: dict[str, Any] = {
        "hubs": {},
        "links": {},
        "loads": [],
        "references": {},
        "bridges": [],
        "problems": problems,
    }
    for p in sorted((root / "vault").glob("*.yaml")):
        vault_model(p, root, problems, model)
    if SITE_REFERENCE in model["references"]:
        problems.append(f"rules/vault: {SITE_REFERENCE} is made from sites.yaml; do not declare it")
    model["references"][SITE_REFERENCE] = site_reference(sites)
    vault = check_vault(model, sources)
    staged = {f"{s.system}__{t.name}" for s in sources if s.format != "dicom" for t in s.tables}
    delivery = load_delivery(root / "delivery.yaml", root, problems, set(sites), staged)
    recipients = load_recipients(root / "recipients.yaml", root, problems, set(sites))
    dicom_tags = load_dicom(root / "dicom.yaml", root, problems)
    marts = load_marts(root / "marts", root, problems)
    if problems:
        raise RulesError(problems)
    return Rules(
        sites=sites,
        sources=sources,
        vault=vault,
        root=str(root),
        delivery=delivery,
        recipients=recipients,
        dicom_tags=dicom_tags,
        marts=marts,
    )

"""The deterministic site catalogue of the synthetic generator.

Why fixed: site codes, countries and schema versions must be the same on every run so the rules in
`rules/sites.yaml` match what `medvault generate` writes. The first sites come from a list of
plausible names; beyond it sites are `site_011`, `site_012`, ...
"""

from __future__ import annotations

from dataclasses import dataclass

PACS_VERSIONS = ("v1", "v2")


@dataclass(frozen=True)
class SiteSpec:
    index: int
    code: str
    name: str
    country: str
    timezone: str
    locale: str  # Faker locale of most patients
    second_locale: str  # Faker locale of a minority of patients (accented, latin-1 encodable names)
    prefix: str  # short upper-case tag used in station names, record ids and facility ids
    eye_share: float  # share of studies that are eye care (OP/OPT); the rest CT/MR

    @property
    def pacs_version(self) -> str:
        """Even sites run the older dcm4chee-style schema (v1), odd sites the renamed one (v2)."""
        return PACS_VERSIONS[self.index % 2]

    @property
    def has_his(self) -> bool:
        """Every second site (index 0, 2, 4, ...) also sends the MongoDB HIS export."""
        return self.index % 2 == 0

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "country": self.country,
            "timezone": self.timezone,
            "pacs_version": self.pacs_version,
            "his": self.has_his,
        }


_CATALOGUE = (
    ("aurora_eye", "Aurora Eye Centre", "GB", "Europe/London", "en_GB", "es_ES", "AUR", 0.95),
    ("kestrel_imaging", "Kestrel Imaging Dublin", "IE", "Europe/Dublin", "en_IE", "ga_IE", "KES", 0.6),
    ("lothian_general", "Lothian General Hospital", "GB", "Europe/London", "en_GB", "fr_FR", "LOT", 0.7),
    ("fjord_clinic", "Fjord Eye Clinic", "NO", "Europe/Oslo", "no_NO", "sv_SE", "FJO", 0.95),
    ("rhine_vision", "Rhine Vision Centre", "DE", "Europe/Berlin", "de_DE", "fr_FR", "RHI", 0.9),
    ("sierra_retina", "Sierra Retina Institute", "ES", "Europe/Madrid", "es_ES", "pt_PT", "SIE", 0.95),
    ("baltic_eye", "Baltic Eye Hospital", "FI", "Europe/Helsinki", "fi_FI", "sv_SE", "BAL", 0.9),
    ("loire_ophthalmology", "Loire Ophthalmology Clinic", "FR", "Europe/Paris", "fr_FR", "es_ES", "LOI", 0.9),
    ("tyne_infirmary", "Tyne Infirmary", "GB", "Europe/London", "en_GB", "de_DE", "TYN", 0.6),
    ("douro_clinic", "Douro Clinic", "PT", "Europe/Lisbon", "pt_PT", "es_ES", "DOU", 0.85),
)


def site_spec(index: int) -> SiteSpec:
    """The site at position `index` (0-based) of the catalogue, or a generic `site_NNN` beyond it."""
    if index < len(_CATALOGUE):
        code, name, country, tz, loc, loc2, prefix, eye = _CATALOGUE[index]
        return SiteSpec(index, code, name, country, tz, loc, loc2, prefix, eye)
    number = index + 1
    return SiteSpec(
        index,
        f"site_{number:03d}",
        f"Site {number:03d} Hospital",
        "GB",
        "Europe/London",
        "en_GB",
        "de_DE",
        f"S{number:03d}",
        0.8,
    )


def site_specs(count: int) -> list[SiteSpec]:
    if count < 1:
        raise ValueError("at least one site is required")
    return [site_spec(i) for i in range(count)]


def catalogue_size() -> int:
    return len(_CATALOGUE)

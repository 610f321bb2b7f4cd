"""Typed view of the YAML rules: sites, source definitions and Data Vault mappings.

Why dataclasses and not dicts: every later stage (identification, validation, staging, vault) reads
the same validated objects, so a typo in a rule fails once at load time with its file and key path,
never deep inside a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from medvault.platform.dicom.extra import ExtraTag
from medvault.platform.marts.models import MartDef
from medvault.platform.notify.recipients import Recipients
from medvault.platform.rules.delivery import DeliveryRules

# Rule column types and the DuckDB type each one is staged as (one map for ingest, staging and vault).
SQL_TYPES = {
    "varchar": "VARCHAR",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "json": "JSON",
}
COLUMN_TYPES = tuple(SQL_TYPES)
FORMATS = ("csv", "json", "ndjson", "parquet", "dicom")
CASES = ("upper", "lower", None)
FAMILIES = ("time", "person", "object", "location", "event")


@dataclass(frozen=True)
class Site:
    code: str
    name: str
    country: str
    timezone: str
    freshness_hours: float | None = None  # None: MEDVAULT_FRESHNESS_HOURS


@dataclass(frozen=True)
class ColumnDef:
    """One column of an extract: its canonical (staging) name and how it appears in the file."""

    name: str
    source: str
    type: str = "varchar"
    required: bool = False
    pii: bool = False
    pattern: str | None = None
    allowed: tuple[str, ...] | None = None
    min: str | None = None
    max: str | None = None
    case: str | None = None
    trim: bool = True
    description: str = ""
    quasi_identifier: bool = False  # identifies in combination (age, postcode district): no ranges shown


@dataclass(frozen=True)
class ChildDef:
    """An array column of a JSON extract exploded into its own child extract."""

    name: str
    array: str  # canonical name of the parent's json array column
    columns: tuple[ColumnDef, ...]
    description: str = ""


@dataclass(frozen=True)
class TableDef:
    """One extract (source table) of a system version."""

    name: str
    files: tuple[str, ...]
    columns: tuple[ColumnDef, ...]
    key: tuple[str, ...] = ()
    modified: str | None = None
    distinguishing: tuple[str, ...] = ()
    description: str = ""
    children: tuple[ChildDef, ...] = ()

    @property
    def source_columns(self) -> tuple[str, ...]:
        return tuple(c.source for c in self.columns)

    @property
    def required_sources(self) -> tuple[str, ...]:
        return tuple(c.source for c in self.columns if c.required)

    def column(self, name: str) -> ColumnDef:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


@dataclass(frozen=True)
class SourceDef:
    """One version of one source system, as in `rules/sources/<system>/<version>.yaml`."""

    system: str
    version: str
    format: str
    tables: tuple[TableDef, ...]
    description: str = ""
    path: str = ""

    def table(self, name: str) -> TableDef:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)


@dataclass(frozen=True)
class HubDef:
    name: str
    family: str
    business_key: tuple[str, ...]
    description: str = ""
    record_tracking: bool = False  # keep every partition each key appeared in (sat_<hub>_record_tracking)


def entry_hub(entry: str) -> str:
    """The hub a load's `hubs:` entry feeds: `hub_event` or, in a role, `hub_event.study`."""
    return entry.split(".", 1)[0]


@dataclass(frozen=True)
class LinkEnd:
    """One end of a link: a hub, in a role when the link names the hub more than once."""

    hub: str
    role: str | None = None

    @property
    def entry(self) -> str:
        """The name a load maps this end's business key under (`hub_event.study`)."""
        return f"{self.hub}.{self.role}" if self.role else self.hub


@dataclass(frozen=True)
class LinkDef:
    name: str
    hubs: tuple[str, ...]
    description: str = ""
    # one role per hub, required when a hub appears twice (an order and the study it asks for)
    roles: tuple[str, ...] = ()
    # a non-historised link (transactions: bill lines, lab results): the columns that tell two
    # transactions between the same hub keys apart, and the payload kept on the link row itself
    transaction_key: tuple[str, ...] = ()
    payload: tuple[str, ...] = ()
    transactional: bool = False
    # an effectivity satellite: the hub whose key drives the relationship (a bed has one patient at a
    # time; when it gets another, or none, the previous relationship ends)
    driving_key: str | None = None

    def ends(self) -> tuple[LinkEnd, ...]:
        roles = self.roles or (None,) * len(self.hubs)
        return tuple(LinkEnd(h, r) for h, r in zip(self.hubs, roles, strict=True))


@dataclass(frozen=True)
class SatelliteLoad:
    name: str
    parent: str  # a hub or link name
    columns: tuple[str, ...]
    # a multi-active satellite: the sub-sequence column(s) that tell a key's rows of one batch apart
    # (several phone numbers, several requested tests); the key's set of rows is then one version
    multi_active: tuple[str, ...] = ()


@dataclass(frozen=True)
class DerivedColumn:
    """A column a vault load computes from staged columns (rules `derive:`), usable as a staged one.

    `transform`: trim, upper, lower, date, map or concat; `columns`: its staged inputs (concat: several);
    `format`: strptime format for `date` on text; `mapping`: the code map of `map`; `sep`: concat's."""

    name: str
    transform: str
    columns: tuple[str, ...]
    format: str | None = None
    mapping: tuple[tuple[str, str], ...] = ()
    sep: str = ""


@dataclass(frozen=True)
class VaultLoad:
    """How one staged extract feeds hubs, links and satellites."""

    source: str  # "<system>.<table>"
    hubs: dict[str, tuple[str, ...]]  # hub name -> staged (or derived) columns forming its business key
    links: tuple[str, ...] = ()
    satellites: tuple[SatelliteLoad, ...] = ()
    path: str = ""
    derive: dict[str, DerivedColumn] = field(default_factory=dict)

    @property
    def system(self) -> str:
        return self.source.split(".", 1)[0]

    @property
    def table(self) -> str:
        return self.source.split(".", 1)[1]


@dataclass(frozen=True)
class ReferenceDef:
    """A code list kept as a vault reference table (values as text, `key` unique)."""

    name: str
    key: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    description: str = ""


@dataclass(frozen=True)
class BridgeDef:
    """A bridge table: the paths from an anchor hub through a chain of links (rules/bridges.py)."""

    name: str
    anchor: str
    path: tuple[str, ...]  # link names, each stepping from the hub reached so far to a new one
    description: str = ""


@dataclass(frozen=True)
class VaultModel:
    hubs: dict[str, HubDef] = field(default_factory=dict)
    links: dict[str, LinkDef] = field(default_factory=dict)
    loads: tuple[VaultLoad, ...] = ()
    references: dict[str, ReferenceDef] = field(default_factory=dict)
    bridges: dict[str, BridgeDef] = field(default_factory=dict)
    # a missing business key gets the zero key and every hub and satellite a ghost row (vault/ghosts.py),
    # so inner joins keep the row; off: the row is skipped for that hub or link
    ghost_records: bool = True

    def satellites(self) -> dict[str, SatelliteLoad]:
        """Each satellite name with its first declaration (all loads of one satellite share a parent)."""
        out: dict[str, SatelliteLoad] = {}
        for load in self.loads:
            for sat in load.satellites:
                out.setdefault(sat.name, sat)
        return out


@dataclass(frozen=True)
class Rules:
    sites: dict[str, Site]
    sources: tuple[SourceDef, ...]
    vault: VaultModel
    root: str = ""
    delivery: DeliveryRules = field(default_factory=DeliveryRules)
    recipients: Recipients = field(default_factory=Recipients)
    dicom_tags: tuple[ExtraTag, ...] = ()  # rules/dicom.yaml: extra columns of dicom.instances
    marts: tuple[MartDef, ...] = ()  # rules/marts/*.sql

    def source(self, system: str, version: str) -> SourceDef:
        for s in self.sources:
            if s.system == system and s.version == version:
                return s
        raise KeyError(f"{system}/{version}")

    def systems(self) -> dict[str, list[SourceDef]]:
        out: dict[str, list[SourceDef]] = {}
        for s in self.sources:
            out.setdefault(s.system, []).append(s)
        return out

    def staged_tables(self) -> dict[tuple[str, str], list[tuple[SourceDef, TableDef]]]:
        """(system, table) -> every version's definition of it: one staging table and asset each."""
        out: dict[tuple[str, str], list[tuple[SourceDef, TableDef]]] = {}
        for s in self.sources:
            if s.format == "dicom":
                continue
            for t in s.tables:
                out.setdefault((s.system, t.name), []).append((s, t))
        return out

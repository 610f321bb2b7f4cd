"""The vault model compiled once from the rules: every hub, link and satellite as a `VaultObject` with
its columns, the loads that feed it and the staged tables it reads.

Each object kind (hub, link, satellite, ...) is one module in `kinds/` that compiles its objects and
writes its load SQL; `compile_vault` asks every registered kind in its order. The asset graph, the DDL
and the loader all read this model, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from medvault.platform.rules.models import SQL_TYPES, ColumnDef, Rules, VaultLoad
from medvault.platform.staging.tables import staging_name
from medvault.platform.warehouse import quote_ident

SCHEMA = "vault"
# columns every vault table may carry besides its keys and payload
RESERVED = {"site", "load_ts", "record_source", "hashdiff", "effective_ts", "_site", "_date"}
# kinds stored as versions by effective_ts (a `__seen` table beside them, `__history`/`__current` views)
HISTORISED = ("satellite", "effectivity", "multi_active")
# historised kinds storing several rows per version (a multi-active satellite's set of rows)
MULTI_ROW = ("multi_active",)


def hash_column(name: str) -> str:
    """Hash-key column of a hub or link: hub_person -> hk_person, link_x -> hk_link_x."""
    return "hk_" + (name[4:] if name.startswith("hub_") else name)


def end_column(end) -> str:
    """A link's column for one end (rules.models.LinkEnd): hk_event, or in a role hk_event_study."""
    return hash_column(end.hub) + (f"_{end.role}" if end.role else "")


def table_name(name: str) -> str:
    return f"{SCHEMA}.{quote_ident(name)}"


def staging_table(load: VaultLoad) -> str:
    return f"staging.{quote_ident(staging_name(load.system, load.table))}"


@dataclass(frozen=True)
class VaultObject:
    """One vault table: what it is, its columns, and which rule loads feed it (indexes into the loads)."""

    name: str
    kind: str
    description: str
    columns: tuple[tuple[str, str], ...]
    feeds: tuple[int, ...]
    hash_key: str | None = None  # hubs and links: their own hash key column (the primary key)
    parent: str | None = None  # satellites: the hub or link they describe

    @property
    def not_null(self) -> tuple[str, ...]:
        return tuple(c for c in (self.hash_key, "hashdiff", "load_ts") if c and c in dict(self.columns))


@dataclass(frozen=True)
class VaultModel:
    rules: Rules
    objects: dict[str, VaultObject]  # in load order: every kind in its order

    def fed(self) -> list[VaultObject]:
        """Objects that at least one load feeds (the others exist as tables but have no asset)."""
        return [o for o in self.objects.values() if o.feeds]

    def sources(self, obj: VaultObject) -> list[str]:
        """The staged tables ("system.table") feeding an object, sorted."""
        return sorted({self.rules.vault.loads[i].source for i in obj.feeds})

    def load(self, i: int) -> VaultLoad:
        return self.rules.vault.loads[i]

    @property
    def ghosts(self) -> bool:
        """Ghost records on: a missing business key is the zero key, not a skipped row (ghosts.py)."""
        return self.rules.vault.ghost_records


def feeding(rules: Rules, fed) -> tuple[int, ...]:
    """Indexes of the rule loads `fed(load)` says feed an object: every kind's `feeds`."""
    return tuple(i for i, load in enumerate(rules.vault.loads) if fed(load))


def _column_defs(rules: Rules, source: str) -> list[tuple[str, ColumnDef, str | None]]:
    """(version, column, modified column) for every version that declares `source` (table or child)."""
    system, table = source.split(".", 1)
    out = []
    for s in rules.sources:
        if s.system != system:
            continue
        for t in s.tables:
            if t.name == table:
                out.extend((s.version, c, t.modified) for c in t.columns)
            for child in t.children:
                if child.name == table:  # staged with its parent's key and its position in the array
                    parent_key = [c for c in t.columns if c.name in t.key]
                    line = ColumnDef(name="line_no", source="line_no", type="integer")
                    out.extend((s.version, c, None) for c in [*parent_key, line, *child.columns])
    return out


def staged_type(rules: Rules, source: str, column: str) -> str:
    """SQL type of a staged column; VARCHAR when versions disagree or the column is unknown."""
    types = {c.type for _, c, _ in _column_defs(rules, source) if c.name == column}
    return SQL_TYPES[types.pop()] if len(types) == 1 else "VARCHAR"


def modified_column(rules: Rules, source: str) -> str | None:
    """The staged table's modified column (same canonical name in every version) or None."""
    system, table = source.split(".", 1)
    names = {
        t.modified
        for s in rules.sources
        if s.system == system
        for t in s.tables
        if t.name == table and t.modified
    }
    if len(names) > 1:
        raise ValueError(f"{source}: versions declare different modified columns {sorted(names)}")
    return names.pop() if names else None


def _check_hash_columns(rules: Rules) -> None:
    seen: dict[str, str] = {}
    for name in list(rules.vault.hubs) + list(rules.vault.links):
        col = hash_column(name)
        if col in seen:
            raise ValueError(f"{name} and {seen[col]} would share the hash column {col}")
        seen[col] = name


def compile_vault(rules: Rules) -> VaultModel:
    """Compile every object of every registered kind (raises ValueError naming the object at fault)."""
    from medvault.platform.vault.kinds import KINDS

    _check_hash_columns(rules)
    objects: dict[str, VaultObject] = {}
    for kind in KINDS:
        for obj in kind.compile(rules):
            objects[obj.name] = obj
    return VaultModel(rules, objects)

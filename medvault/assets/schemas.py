"""Column schemas (with descriptions) for every table asset, as the UI's Columns tab shows them."""

from __future__ import annotations

import dagster as dg

from medvault.platform.dicom.extra import ExtraTag, describe_extra
from medvault.platform.dicom.extract import COLUMN_DOCS, COLUMNS
from medvault.platform.rules.models import SQL_TYPES, ColumnDef
from medvault.platform.staging.tables import META_COLUMNS
from medvault.platform.vault.model import VaultObject

LINEAGE = {
    "_extras": "undeclared columns of the file, typed by inference (JSON)",
    "_site": "site of the drop the row came from",
    "_date": "drop date (partition) the row came from",
    "_sha256": "content hash of the file the row came from",
    "_source_key": "the file's key in its drop store",
    "_version": "source system version the file was identified as",
    "_row_number": "the row's position in its file",
    "_loaded_at": "when the row was loaded (UTC)",
}


def describe(col: ColumnDef) -> str | None:
    """The rule's description, marked when the column identifies a patient."""
    parts = [col.description] if col.description else []
    if col.pii:
        parts.append("patient identifier (pii)")
    return "; ".join(parts) or None


def _declared(columns: list[ColumnDef]) -> list[dg.TableColumn]:
    return [dg.TableColumn(c.name, SQL_TYPES[c.type], description=describe(c)) for c in columns]


def _lineage() -> list[dg.TableColumn]:
    return [dg.TableColumn(n, t, description=LINEAGE[n]) for n, t in META_COLUMNS]


def staging(columns: list[ColumnDef]) -> dg.TableSchema:
    return dg.TableSchema(columns=[*_declared(columns), *_lineage()])


def child(parent_columns: list[ColumnDef], key: tuple[str, ...], child_def) -> dg.TableSchema:
    """A child extract: the parent's key, the element's position, the element's columns, lineage."""
    by_name = {c.name: c for c in parent_columns}
    position = dg.TableColumn(
        "line_no", "INTEGER", description=f"position of the element in the parent's `{child_def.array}` array"
    )
    keys = _declared([by_name[k] for k in key])
    return dg.TableSchema(columns=[*keys, position, *_declared(list(child_def.columns)), *_lineage()])


def dicom(extras: tuple[ExtraTag, ...] = ()) -> dg.TableSchema:
    """`dicom.instances`: the header columns, the extra tags of rules/dicom.yaml, the lineage."""
    cols = [
        dg.TableColumn(n, t, description=COLUMN_DOCS.get(n) or LINEAGE.get(n)) for n, t in COLUMNS.items()
    ]
    cols += [dg.TableColumn(e.column, "VARCHAR", description=describe_extra(e)) for e in extras]
    cols += [
        dg.TableColumn(n, t, description=LINEAGE[n])
        for n, t in (("_site", "VARCHAR"), ("_date", "DATE"), ("_loaded_at", "TIMESTAMP"))
    ]
    return dg.TableSchema(columns=cols)


def dicom_aggregate(columns: dict[str, tuple[str, str]]) -> dg.TableSchema:
    """`dicom.series` / `dicom.studies`: their columns (type, doc) and the partition lineage."""
    cols = [dg.TableColumn(n, t.split()[0], description=d) for n, (t, d) in columns.items()]
    cols += [
        dg.TableColumn(n, t, description=LINEAGE[n])
        for n, t in (("_site", "VARCHAR"), ("_date", "DATE"), ("_loaded_at", "TIMESTAMP"))
    ]
    return dg.TableSchema(columns=cols)


VAULT_DOCS = {
    "site": "tenant: the site whose ids these are (part of every hash key)",
    "load_ts": "when this row was loaded (UTC)",
    "record_source": "the staged table and version the row came from",
    "hashdiff": "MD5 of the payload columns: a change is a new row",
    "effective_ts": "when the source says the payload became true (its modified time, else the drop date)",
    "_site": "site of the staged partition the row came from",
    "_date": "drop date of the staged partition the row came from",
}


def vault(obj: VaultObject) -> dg.TableSchema:
    def doc(name: str) -> str:
        if name in VAULT_DOCS:
            return VAULT_DOCS[name]
        if name == obj.hash_key:
            return f"hash key of this {obj.kind} (MD5 of site + business key)"
        if name.startswith("hk_"):
            return (
                "hash key of the "
                + (
                    "parent"
                    if obj.kind in ("satellite", "effectivity", "tracking", "multi_active")
                    else "linked"
                )
                + f" hub or link ({name})"
            )
        return "business key" if obj.kind == "hub" else "payload"

    return dg.TableSchema(columns=[dg.TableColumn(n, t, description=doc(n)) for n, t in obj.columns])


def table(columns: list[tuple[str, str, str]]) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(n, t, description=d) for n, t, d in columns])

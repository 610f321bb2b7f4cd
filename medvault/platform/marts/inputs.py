"""The tables a mart may read, and making sure each exists before a mart reads it.

A mart reads the vault (hubs, links, satellites and their `__current`/`__history` views, point-in-time
tables, reference tables), the DICOM tables, other marts and the ledger's views (`ops.drops_per_day`). On a warehouse where nothing was loaded yet
they are created empty, so a mart is then empty, not an error.
"""

from __future__ import annotations

from medvault.platform.dicom.tables import ensure_dicom_tables
from medvault.platform.ledger.schema import LEDGER_VIEWS, ensure_ops
from medvault.platform.marts.models import SCHEMA, MartDef
from medvault.platform.vault.bridge import bridges
from medvault.platform.vault.ddl import create_vault_tables
from medvault.platform.vault.model import HISTORISED, VaultModel
from medvault.platform.vault.pit import pits
from medvault.platform.vault.reference import load_reference
from medvault.platform.warehouse import ensure_table

DICOM_TABLES = ("instances", "series", "studies", "pacs_crosscheck")


def known_inputs(model: VaultModel, marts: tuple[MartDef, ...]) -> dict[str, str]:
    """Every readable "zone.table" -> the object whose asset produces it ("vault.sat_x__current" ->
    "vault.sat_x"), for the asset graph's dependencies."""
    out: dict[str, str] = {}
    for obj in model.objects.values():
        out[f"vault.{obj.name}"] = f"vault.{obj.name}"
        if obj.kind in HISTORISED:
            for view in ("__current", "__history"):
                out[f"vault.{obj.name}{view}"] = f"vault.{obj.name}"
    for pit in pits(model):
        out[f"vault.{pit.name}"] = f"vault.{pit.name}"
    for bridge in bridges(model):
        out[f"vault.{bridge.name}"] = f"vault.{bridge.name}"
    for ref in model.rules.vault.references:
        out[f"vault.{ref}"] = f"vault.{ref}"
    for table in DICOM_TABLES:
        out[f"dicom.{table}"] = f"dicom.{table}"
    for view in LEDGER_VIEWS:  # the ledger's bookkeeping, made by the receive step (raw/drops)
        out[view] = "raw.drops"
    for mart in marts:
        out[mart.table] = mart.table
    return out


def ensure_inputs(con, model: VaultModel) -> None:
    """Create (empty) whatever a mart may read and does not exist yet."""
    create_vault_tables(con, model)
    for pit in pits(model):
        ensure_table(con, "vault", pit.name, list(pit.columns))
    for bridge in bridges(model):
        ensure_table(con, "vault", bridge.name, list(bridge.columns))
    for ref in model.rules.vault.references.values():
        load_reference(con, ref)  # writes only when missing or changed
    con.execute("CREATE SCHEMA IF NOT EXISTS dicom")
    ensure_dicom_tables(con)
    ensure_ops(con)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")

"""Warehouse zones: one schema per zone. Each zone's tables are created by the module that owns it
(the ledger for `ops`, the staging, DICOM, vault and marts domains for theirs)."""

from __future__ import annotations

ZONES = ("staging", "dicom", "vault", "marts", "ops")


def ensure_zones(con) -> None:
    """Create the zone schemas if missing (safe to call on every connect)."""
    for zone in ZONES:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {zone}")

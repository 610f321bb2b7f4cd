"""Data Vault 2.0 in DuckDB: hashing convention, DDL from the rules, set-based hub/link/satellite loads."""

from medvault.platform.vault.ddl import create_vault_tables, hash_column, vault_ddl
from medvault.platform.vault.hashing import hash_key, hash_key_sql, hashdiff, hashdiff_sql
from medvault.platform.vault.loader import load_hub, load_link, load_partition, load_satellite

__all__ = [
    "create_vault_tables",
    "hash_column",
    "hash_key",
    "hash_key_sql",
    "hashdiff",
    "hashdiff_sql",
    "load_hub",
    "load_link",
    "load_partition",
    "load_satellite",
    "vault_ddl",
]

"""Data Vault 2.0 in DuckDB: the model compiled from the rules, DDL, one module per object kind
(`kinds/`), the hashing convention and set-based loads."""

from medvault.platform.vault.ddl import create_vault_tables, vault_ddl
from medvault.platform.vault.hashing import hash_key, hash_key_sql, hashdiff, hashdiff_sql
from medvault.platform.vault.loader import load_hub, load_link, load_object, load_partition, load_satellite
from medvault.platform.vault.model import VaultModel, VaultObject, compile_vault, hash_column, table_name

__all__ = [
    "VaultModel",
    "VaultObject",
    "compile_vault",
    "create_vault_tables",
    "hash_column",
    "hash_key",
    "hash_key_sql",
    "hashdiff",
    "hashdiff_sql",
    "load_hub",
    "load_link",
    "load_object",
    "load_partition",
    "load_satellite",
    "table_name",
    "vault_ddl",
]

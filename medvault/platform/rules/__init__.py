"""YAML rules as data: sites, source definitions, Data Vault mappings."""

from medvault.platform.rules.loader import RulesError, load_rules
from medvault.platform.rules.models import ColumnDef, Rules, Site, SourceDef, TableDef, VaultModel

__all__ = ["ColumnDef", "Rules", "RulesError", "Site", "SourceDef", "TableDef", "VaultModel", "load_rules"]

"""File-level ingestion engine: sniff -> identify -> load_file (+ profile). Pure Python + DuckDB SQL.

See docs/ingestion.md for the identification algorithm, encodings, validation rules and reason codes.
"""

from medvault.platform.ingest.faults import FILE_FAULTS, ROW_REASONS, FileFault
from medvault.platform.ingest.identify import Identification, identify
from medvault.platform.ingest.load import LoadResult, load_file
from medvault.platform.ingest.profile import profile
from medvault.platform.ingest.sniff import Sniff, sniff

__all__ = [
    "FILE_FAULTS",
    "ROW_REASONS",
    "FileFault",
    "Identification",
    "LoadResult",
    "Sniff",
    "identify",
    "load_file",
    "profile",
    "sniff",
]

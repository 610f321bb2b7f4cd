"""DICOM header extraction: checked header reads, batch extraction and the `dicom.instances` table."""

from medvault.platform.dicom.extract import COLUMNS, PII_COLUMNS, extract_rows, write_instances
from medvault.platform.dicom.header import FAULT_CODES, DicomFault, DicomHeader, read_header

__all__ = [
    "COLUMNS",
    "FAULT_CODES",
    "PII_COLUMNS",
    "DicomFault",
    "DicomHeader",
    "extract_rows",
    "read_header",
    "write_instances",
]

"""Assets by domain: ingest (raw, staging), dicom, vault, marts, ops (platform checks)."""

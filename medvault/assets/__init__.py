"""Assets by layer: raw, staging, dicom, vault, marts."""

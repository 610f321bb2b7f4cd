"""Per-partition pipeline steps (receive, stage, dicom, vault, marts) composed from the engine parts."""

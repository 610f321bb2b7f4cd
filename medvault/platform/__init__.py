"""The engine: plain Python, no Dagster imports, so it can run in a site agent, a script or a test."""

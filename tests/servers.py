"""Real loopback servers for tests (filled in by the ingestion work)."""

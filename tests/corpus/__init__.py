"""Bad-input corpus for the ingestion engine (files are generated at test time, never committed)."""

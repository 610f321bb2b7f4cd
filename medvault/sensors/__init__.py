"""Sensors by domain: ingest (one per enabled drop store, with run follow-up) and marts (refresh)."""

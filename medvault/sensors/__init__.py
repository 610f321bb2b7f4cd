"""Sensors: one per enabled drop store, and the mart refresh after ingest."""

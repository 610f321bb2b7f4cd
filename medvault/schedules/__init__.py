"""Schedules by domain: marts (nightly rebuild) and ops (hourly freshness)."""

"""Drops: the `<root>/<site>/<YYYY-MM-DD>/<file>` convention and the sensor's incremental scan."""

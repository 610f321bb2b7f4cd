"""Warehouse zones and the platform's own bookkeeping tables.

One DuckDB file, one schema per zone: staging, dicom, vault, marts, and ops. The DDL is idempotent so
every writer can call `ensure_schema` on connect.
"""

from __future__ import annotations

ZONES = ("staging", "dicom", "vault", "marts", "ops")

FILE_STATUSES = ("received", "loaded", "quarantined", "superseded")

OPS_DDL = """
CREATE TABLE IF NOT EXISTS ops.file_manifest (
    site            VARCHAR NOT NULL,
    date            DATE NOT NULL,
    store           VARCHAR NOT NULL,
    key             VARCHAR NOT NULL,
    sha256          VARCHAR NOT NULL,
    size            BIGINT NOT NULL,
    system          VARCHAR,
    version         VARCHAR,
    source_table    VARCHAR,
    status          VARCHAR NOT NULL CHECK (status IN ('received', 'loaded', 'quarantined', 'superseded')),
    reason_code     VARCHAR,
    reason          VARCHAR,
    rows_received   BIGINT,
    rows_loaded     BIGINT,
    rows_rejected   BIGINT,
    raw_path        VARCHAR,
    quarantine_path VARCHAR,
    run_id          VARCHAR,
    received_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_at      TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (site, date, store, key, sha256)
);
CREATE TABLE IF NOT EXISTS ops.rejected_rows (
    site         VARCHAR NOT NULL,
    date         DATE NOT NULL,
    sha256       VARCHAR NOT NULL,
    key          VARCHAR NOT NULL,
    source_table VARCHAR NOT NULL,
    row_number   BIGINT,
    "column"     VARCHAR,
    value        VARCHAR,
    reason_code  VARCHAR NOT NULL,
    reason       VARCHAR NOT NULL,
    rejected_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS ops.watermarks (
    site         VARCHAR NOT NULL,
    system       VARCHAR NOT NULL,
    source_table VARCHAR NOT NULL,
    watermark    TIMESTAMP,
    updated_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (site, system, source_table)
);
"""


def ensure_schema(con) -> None:
    """Create the zones and ops tables if missing (safe to call on every connect)."""
    for zone in ZONES:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {zone}")
    con.execute(OPS_DDL)

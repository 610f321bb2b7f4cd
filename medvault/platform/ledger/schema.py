"""The `ops` schema: the platform's bookkeeping, created and written by the ledger alone.

- `file_manifest`: one row per received file content (site, date, store, key, sha256), its current status;
- `file_events`: every status change of a file (from, to, reason, run, time), appended, never updated;
- `rejected_rows`: rows a validation rule refused, with the file, row, column and reason;
- `watermarks`: the newest modified time loaded per (site, system, table);
- `load_audit`: what each step wrote per target table and partition (rows in, rows inserted, rows the
  vault knew already, rows that took a ghost record's zero key, run, time);
- `pipeline`, `pipeline_file`, `pipeline_file_dicom`, `pipeline_file_events`: seed 004's delivery tracking
  (see `pipeline.py`);
- `mart_builds`: each build of a mart (full, by site, by month or unchanged), for incremental rebuilds;
- `staged_exports`: up to which stage load each staged slice's Parquet copy is written (`exports.py`);
- `drops_per_day` (a view, the one part of `ops` the marts may read: LEDGER_VIEWS): files per site and
  drop day, for seed 000's "no data" report.
"""

from __future__ import annotations

import weakref

import duckdb

from medvault.platform.ledger.statuses import FILE_STATUSES, PIPELINE_STATUSES

_STATUS_CHECK = ", ".join(f"'{s}'" for s in FILE_STATUSES)
_PIPELINE_CHECK = ", ".join(f"'{s}'" for s in PIPELINE_STATUSES)

OPS_DDL = f"""
CREATE SCHEMA IF NOT EXISTS ops;
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
    status          VARCHAR NOT NULL CHECK (status IN ({_STATUS_CHECK})),
    reason_code     VARCHAR,
    reason          VARCHAR,
    rows_received   BIGINT,
    rows_loaded     BIGINT,
    rows_rejected   BIGINT,
    content_modified TIMESTAMP,
    raw_path        VARCHAR,
    quarantine_path VARCHAR,
    run_id          VARCHAR,
    received_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_at      TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (site, date, store, key, sha256)
);
-- warehouses made before the column existed get it (the newest modified time among a file's loaded rows)
ALTER TABLE ops.file_manifest ADD COLUMN IF NOT EXISTS content_modified TIMESTAMP;
CREATE TABLE IF NOT EXISTS ops.file_events (
    site         VARCHAR NOT NULL,
    date         DATE NOT NULL,
    store        VARCHAR NOT NULL,
    key          VARCHAR NOT NULL,
    sha256       VARCHAR NOT NULL,
    from_status  VARCHAR,
    to_status    VARCHAR NOT NULL,
    reason_code  VARCHAR,
    reason       VARCHAR,
    run_id       VARCHAR,
    changed_at   TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS ops.rejected_rows (
    site         VARCHAR NOT NULL,
    date         DATE NOT NULL,
    sha256       VARCHAR NOT NULL,
    key          VARCHAR NOT NULL,
    system       VARCHAR NOT NULL,
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
CREATE TABLE IF NOT EXISTS ops.load_audit (
    run_id        VARCHAR,
    step          VARCHAR NOT NULL,
    target        VARCHAR NOT NULL,
    site          VARCHAR,
    date          DATE,
    rows_in       BIGINT,
    rows_inserted BIGINT NOT NULL,
    seconds       DOUBLE,
    recorded_at   TIMESTAMP NOT NULL DEFAULT current_timestamp
);
-- the vault's count of batch keys or versions it knew already (warehouses made before get the column)
ALTER TABLE ops.load_audit ADD COLUMN IF NOT EXISTS rows_known BIGINT;
-- the vault's staged rows whose missing business key resolved to the zero key (ghost records)
ALTER TABLE ops.load_audit ADD COLUMN IF NOT EXISTS rows_ghost BIGINT;
-- seed 004's delivery tracking (ledger/pipeline.py)
CREATE SEQUENCE IF NOT EXISTS ops.pipeline_file_ids START 1;
CREATE TABLE IF NOT EXISTS ops.pipeline (
    code        VARCHAR NOT NULL,
    label       VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS ops.pipeline_file (
    id              BIGINT NOT NULL,
    pipeline        VARCHAR NOT NULL,
    site            VARCHAR NOT NULL,
    date            DATE NOT NULL,
    store           VARCHAR NOT NULL,
    source_key      VARCHAR NOT NULL,
    sha256          VARCHAR NOT NULL,
    revision        INTEGER NOT NULL,
    file_name       VARCHAR,
    destination_key VARCHAR,
    status          VARCHAR NOT NULL CHECK (status IN ({_PIPELINE_CHECK})),
    has_error       BOOLEAN NOT NULL DEFAULT false,
    error_code      VARCHAR,
    error           VARCHAR,
    error_log       VARCHAR,
    run_id          VARCHAR,
    created_at      TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_at      TIMESTAMP NOT NULL DEFAULT current_timestamp,
    delivered_at    TIMESTAMP
);
CREATE TABLE IF NOT EXISTS ops.pipeline_file_dicom (
    file_id             BIGINT NOT NULL,
    scan_id             INTEGER NOT NULL,
    pipeline_uid        VARCHAR NOT NULL,
    study_uid           VARCHAR NOT NULL,
    series_uid          VARCHAR NOT NULL,
    series_number       BIGINT,
    number_of_instances BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS ops.pipeline_file_events (
    file_id     BIGINT NOT NULL,
    from_status VARCHAR,
    to_status   VARCHAR NOT NULL,
    has_error   BOOLEAN NOT NULL,
    error_code  VARCHAR,
    error       VARCHAR,
    run_id      VARCHAR,
    changed_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
);
-- each build of a mart: how (full, by_site, by_month, unchanged), which sites (and months), from which rules
CREATE TABLE IF NOT EXISTS ops.mart_builds (
    mart        VARCHAR NOT NULL,
    fingerprint VARCHAR NOT NULL,
    mode        VARCHAR NOT NULL,
    sites       VARCHAR[],
    run_id      VARCHAR,
    started_at  TIMESTAMP NOT NULL,
    built_at    TIMESTAMP NOT NULL DEFAULT current_timestamp
);
-- the staged slices' Parquet copies: the newest stage load (load_audit.recorded_at) each one holds
CREATE TABLE IF NOT EXISTS ops.staged_exports (
    target      VARCHAR NOT NULL,
    site        VARCHAR NOT NULL,
    date        DATE NOT NULL,
    staged_at   TIMESTAMP NOT NULL,
    exported_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
-- a by-month build's (site, month) pairs, "<site> <YYYY-MM>" (warehouses made before get the column)
ALTER TABLE ops.mart_builds ADD COLUMN IF NOT EXISTS months VARCHAR[];
CREATE VIEW IF NOT EXISTS ops.drops_per_day AS
    SELECT site, date, count(*) AS files,
           count(*) FILTER (WHERE status = 'loaded') AS loaded,
           count(*) FILTER (WHERE status = 'quarantined') AS quarantined
    FROM ops.file_manifest GROUP BY site, date;
"""

_READY: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


LEDGER_VIEWS = ("ops.drops_per_day",)


def ensure_ops(con) -> None:
    """Create the ops tables once per connection (idempotent DDL; read-only connections skip it)."""
    if _READY.get(con):
        return
    try:
        con.execute(OPS_DDL)
    except duckdb.Error as exc:
        if "read-only" not in str(exc):
            raise
    _READY[con] = True

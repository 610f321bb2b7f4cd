"""The catalogue of settings: every environment variable medvault reads, its default and what it is for.

Kept apart from the parsing (`config/__init__.py`) because it is data: the README's configuration table
and `medvault config` are checked against it (tests/test_definitions.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, default (as text) and what it is for."""

    env: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "MEDVAULT_HOME",
        "$PROJECT/.medvault",
        "Root of the embedded default: drops/, lake/, quarantine/, warehouse.duckdb.",
    ),
    Setting(
        "MEDVAULT_RULES",
        "$PROJECT/rules",
        "Folder of YAML rules: sites.yaml, sources/<system>/<version>.yaml, vault/.",
    ),
    Setting("MEDVAULT_DROPS", "$MEDVAULT_HOME/drops", "Local drop folder watched by the local store sensor."),
    Setting(
        "MEDVAULT_LAKE",
        "$MEDVAULT_HOME/lake",
        "Lake root (a folder, s3://bucket/prefix or sftp://host/path): landing/ and immutable raw/ copies.",
    ),
    Setting(
        "MEDVAULT_QUARANTINE",
        "$MEDVAULT_HOME/quarantine",
        "Quarantined files and their JSON reasons (a folder, s3:// or sftp:// location).",
    ),
    Setting(
        "MEDVAULT_WAREHOUSE", "$MEDVAULT_HOME/warehouse.duckdb", "The DuckDB warehouse file (one writer)."
    ),
    Setting("MEDVAULT_START_DATE", "2026-01-01", "First day of the daily partition dimension."),
    Setting("MEDVAULT_STORES", "local", "Comma-separated drop stores with a sensor each: local, s3, sftp."),
    Setting(
        "MEDVAULT_LOOKBACK_DAYS",
        "3",
        "Sensor look-back window in days, counted back from each site's newest drop.",
    ),
    Setting(
        "MEDVAULT_FRESHNESS_HOURS",
        "36",
        "A site with no new file for longer fails the sites_fresh check (warning).",
    ),
    Setting(
        "MEDVAULT_SETTLE_SECONDS",
        "60",
        "Backfill/manual runs take a file without a completion marker once unchanged this long.",
    ),
    Setting(
        "MEDVAULT_RERUN_DELAY_SECONDS",
        "600",
        "A drop sensor asks again for a failed ingest run after this long (up to 10 times).",
    ),
    Setting("MEDVAULT_SENSOR_INTERVAL", "30", "Seconds between sensor ticks in the daemon."),
    Setting(
        "MEDVAULT_POOL_WAIT_SECONDS",
        "3600",
        "`medvault run`/`backfill` stop with a message naming the holder when a step waits longer for the "
        "warehouse pool behind another live run (0: no bound).",
    ),
    Setting(
        "MEDVAULT_BACKFILL_PER_RUN",
        "10",
        "Partitions (dates of one site) per run of `medvault backfill`, and of a drop sensor's run when a tick "
        "finds several dates of one site: each run holds the warehouse pool, so sensor runs wait at most one batch.",
    ),
    Setting(
        "MEDVAULT_REJECTED_VALUES",
        "keep",
        "What ops.rejected_rows keeps of a rejected value of a column not marked pii: keep (the value, cut to "
        "200 characters), hash (a hash and the length, as always for pii columns and whole lines) or none.",
    ),
    Setting(
        "MEDVAULT_DUCKDB_MEMORY_LIMIT",
        "1GB",
        "Memory one warehouse connection may use before DuckDB spills to disk (next to the warehouse file): "
        "staging a large file stays within it.",
    ),
    Setting(
        "MEDVAULT_DELIVERY",
        "$MEDVAULT_HOME/delivery",
        "Delivery store of the DICOM image pipeline (a folder, s3://bucket/prefix or sftp://host/path): "
        "stamped, renamed copies under <destination>/<form><field>/, error logs under error_logs/.",
    ),
    Setting(
        "MEDVAULT_PSEUDONYM_KEY",
        "",
        "Secret of the keyed pseudonyms (HMAC-SHA256) in delivery names; empty: a random key kept in "
        "$MEDVAULT_HOME/secrets/pseudonym.key (owner-only), made on first use.",
    ),
    Setting(
        "MEDVAULT_UI_URL",
        "http://127.0.0.1:3000",
        "Base address of the Dagster UI, for the run links in admin e-mails.",
    ),
    Setting(
        "MEDVAULT_SMTP_HOST",
        "",
        "SMTP server for admin and user e-mails; empty: every e-mail is written to MEDVAULT_MAIL_OUTBOX.",
    ),
    Setting("MEDVAULT_SMTP_PORT", "", "SMTP port; empty: 25 (none), 587 (starttls) or 465 (ssl)."),
    Setting("MEDVAULT_SMTP_SECURITY", "starttls", "SMTP transport security: none, starttls or ssl."),
    Setting("MEDVAULT_SMTP_USER", "", "SMTP login user (no login when empty)."),
    Setting(
        "MEDVAULT_SMTP_PASSWORD",
        "",
        "SMTP password (environment only; read by the SMTP resource as dg.EnvVar).",
    ),
    Setting(
        "MEDVAULT_SMTP_CA_FILE",
        "",
        "CA bundle to verify the SMTP server's certificate (default: the system's).",
    ),
    Setting("MEDVAULT_MAIL_FROM", "medvault@localhost", "Sender address of medvault's e-mails."),
    Setting(
        "MEDVAULT_MAIL_OUTBOX",
        "$MEDVAULT_HOME/outbox",
        "Folder the e-mails are written to (.eml) when no SMTP host is set.",
    ),
    Setting(
        "MEDVAULT_DIGEST_CRON", "0 6 * * *", "When the users' digest of delivered images is sent (cron, UTC)."
    ),
    Setting(
        "MEDVAULT_REPORTS",
        "$MEDVAULT_HOME/reports",
        "Where seed 000's CSV reports go (a folder, s3://bucket/prefix or sftp://host/path): "
        "<site>/<report>/<report>_<Mon-DD-YYYY>.csv and combined/<report>/... .",
    ),
    Setting(
        "MEDVAULT_PUBLISH_POSTGRES",
        "",
        "libpq URL of the PostgreSQL database the marts are published to (postgresql://user@host/db; a "
        "password in PGPASSWORD or ~/.pgpass); empty: not published.",
    ),
    Setting(
        "MEDVAULT_PUBLISH_READER",
        "",
        "PostgreSQL role granted SELECT on the published marts (e.g. the BI tool's); empty: no grant.",
    ),
    Setting(
        "MEDVAULT_SMALL_COUNT",
        "5",
        "Counts below this (and above 0) are suppressed (NULL) in every published output: Parquet, CSV, "
        "PostgreSQL, dashboard (statistical disclosure control). 1 turns suppression off.",
    ),
    Setting(
        "MEDVAULT_ARCHIVE_MAX_MEMBERS",
        "20000",
        "A .zip upload with more files is refused whole (`zip_bomb`); its members are never extracted.",
    ),
    Setting(
        "MEDVAULT_ARCHIVE_MAX_BYTES",
        "16GB",
        "A .zip upload that inflates to more bytes is refused whole (`zip_bomb`), counted while inflating.",
    ),
    Setting(
        "MEDVAULT_ARCHIVE_MAX_RATIO",
        "200",
        "A .zip member (over 1 MB) that inflates more than this many times its compressed size is refused.",
    ),
    Setting("MEDVAULT_S3_BUCKET", "", "S3 drop bucket (s3 store)."),
    Setting("MEDVAULT_S3_PREFIX", "", "Key prefix of the drop root inside the bucket."),
    Setting("MEDVAULT_S3_ENDPOINT_URL", "", "S3 endpoint for MinIO/Ceph/moto; empty for AWS."),
    Setting("MEDVAULT_S3_REGION", "us-east-1", "S3 region."),
    Setting("AWS_ACCESS_KEY_ID", "", "S3 credentials (standard AWS variables; never in files)."),
    Setting("AWS_SECRET_ACCESS_KEY", "", "S3 credentials (standard AWS variables; never in files)."),
    Setting("MEDVAULT_SFTP_HOST", "", "SFTP drop server host (sftp store)."),
    Setting("MEDVAULT_SFTP_PORT", "22", "SFTP port."),
    Setting("MEDVAULT_SFTP_USER", "", "SFTP user (key-only auth)."),
    Setting("MEDVAULT_SFTP_KEY_FILE", "", "Private key file for SFTP key auth."),
    Setting("MEDVAULT_SFTP_KEY_PASSPHRASE", "", "Passphrase of the private key, if any."),
    Setting(
        "MEDVAULT_SFTP_KNOWN_HOSTS", "", "known_hosts file pinning the server's host key (RejectPolicy)."
    ),
    Setting("MEDVAULT_SFTP_ROOT", "/", "Drop root folder on the SFTP server."),
    # -- the site agent (`medvault agent`, docs/agent.md); a command-line option wins over its variable
    Setting("MEDVAULT_AGENT_SITE", "", "Site agent: the site code it pushes as (its drop folder)."),
    Setting(
        "MEDVAULT_AGENT_DB",
        "",
        "Site agent: PACS database URL without password (mysql://user@host:3306/db, postgresql://...).",
    ),
    Setting("MEDVAULT_AGENT_DB_PASSWORD", "", "Site agent: the database password (never in the URL)."),
    Setting(
        "MEDVAULT_AGENT_TO",
        "",
        "Site agent: where drops go: sftp://user@host:port/path, s3://bucket/prefix or a folder.",
    ),
    Setting("MEDVAULT_AGENT_SYSTEM", "harmony_pacs", "Site agent: the source system it extracts."),
    Setting(
        "MEDVAULT_AGENT_VERSION",
        "auto",
        "Site agent: schema version (v1, v2) or auto (detected from the database).",
    ),
    Setting("MEDVAULT_AGENT_RULES", "$PROJECT/rules/agent", "Site agent: folder of extraction rules."),
    Setting(
        "MEDVAULT_AGENT_STATE",
        "$MEDVAULT_HOME/agent",
        "Site agent: its state folder (watermarks, the outbox of a push not yet complete, a lock).",
    ),
    Setting("MEDVAULT_AGENT_FORMAT", "csv.gz", "Site agent: file format sent: csv.gz or parquet."),
    Setting("MEDVAULT_AGENT_FILE_ROWS", "500000", "Site agent: at most this many rows per file sent."),
    Setting("MEDVAULT_AGENT_EVERY", "1h", "Site agent: interval of `medvault agent schedule` (30m, 1h, 1d)."),
    Setting("MEDVAULT_AGENT_RETRIES", "5", "Site agent: retries of a failed connection or transfer."),
    Setting("MEDVAULT_AGENT_BACKOFF_SECONDS", "2", "Site agent: first retry delay; doubles on each retry."),
    Setting("MEDVAULT_AGENT_TIMEOUT_SECONDS", "30", "Site agent: network timeout of each connection."),
    Setting("MEDVAULT_AGENT_SFTP_KEY_FILE", "", "Site agent: private key file for the SFTP server."),
    Setting("MEDVAULT_AGENT_SFTP_KEY_PASSPHRASE", "", "Site agent: passphrase of that key, if any."),
    Setting(
        "MEDVAULT_AGENT_SFTP_KNOWN_HOSTS",
        "",
        "Site agent: known_hosts file pinning the central server's host key.",
    ),
    Setting("MEDVAULT_AGENT_S3_ENDPOINT_URL", "", "Site agent: S3 endpoint for MinIO/Ceph; empty for AWS."),
    Setting("MEDVAULT_AGENT_S3_REGION", "us-east-1", "Site agent: S3 region."),
    Setting(
        "DAGSTER_HOME",
        "$MEDVAULT_HOME/dagster",
        "Dagster instance folder: run history, sensor cursors, partitions.",
    ),
)

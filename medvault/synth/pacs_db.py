"""The generator's PACS as a database: a Harmony-like schema (dcm4chee's pk/fk tables) on MariaDB, MySQL
or PostgreSQL, filled with the same rows the generator writes as CSV, so the site agent can be tested
against a real server: its extraction must give back exactly what `medvault generate` writes.

v1 keeps the dcm4chee names (`device`, `pat_id`, `study_iuid`, `updated_time`, a `files` table holding
each instance's size); v2 renames them (`station`, `patient_id`, `modified_at`...) and adds
`referring_physician`, `transfer_syntax` and `ae_title`, like the two CSV header versions.

Safety: the writer only ever drops tables of a database it created itself (marked by the table
`medvault_synthetic`), so a URL pointing at a real PACS is refused, never emptied.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from medvault.platform.agent.database import DatabaseError, DatabaseUrl, dbapi_connect

MARKER = "medvault_synthetic"

# table -> version -> (db table, [(canonical column or parent, db column, type)]); `@x` = a parent's pk
SCHEMA: dict[str, dict[str, tuple[str, list[tuple[str, str, str]]]]] = {
    "stations": {
        "v1": (
            "device",
            [
                ("station_name", "station_name", "name"),
                ("manufacturer", "manufacturer", "name"),
                ("model", "model_name", "name"),
                ("device_serial", "device_serial_no", "name"),
                ("department", "department", "name"),
                ("modality", "modality", "code"),
                ("modified_at", "updated_time", "ts"),
            ],
        ),
        "v2": (
            "station",
            [
                ("station_name", "station_name", "name"),
                ("ae_title", "ae_title", "code"),
                ("manufacturer", "manufacturer", "name"),
                ("model", "model", "name"),
                ("device_serial", "device_serial", "name"),
                ("department", "department", "name"),
                ("modality", "modality", "code"),
                ("modified_at", "modified_at", "ts"),
            ],
        ),
    },
    "patients": {
        "v1": (
            "patient",
            [
                ("patient_id", "pat_id", "id"),
                ("patient_name", "pat_name", "text"),
                ("birth_date", "pat_birthdate", "date"),
                ("sex", "pat_sex", "code"),
                ("modified_at", "updated_time", "ts"),
            ],
        ),
        "v2": (
            "patient",
            [
                ("patient_id", "patient_id", "id"),
                ("patient_name", "patient_name", "text"),
                ("birth_date", "birth_date", "date"),
                ("sex", "sex", "code"),
                ("modified_at", "modified_at", "ts"),
            ],
        ),
    },
    "studies": {
        "v1": (
            "study",
            [
                ("@patient", "patient_fk", "fk"),
                ("study_uid", "study_iuid", "uid"),
                ("study_date", "study_date", "date"),
                ("accession_number", "accession_no", "id"),
                ("study_description", "study_desc", "text"),
                ("modality", "mods_in_study", "code"),
                ("modified_at", "updated_time", "ts"),
            ],
        ),
        "v2": (
            "study",
            [
                ("@patient", "patient_fk", "fk"),
                ("study_uid", "study_instance_uid", "uid"),
                ("study_date", "study_date", "date"),
                ("accession_number", "accession_number", "id"),
                ("study_description", "study_description", "text"),
                ("modality", "modality", "code"),
                ("referring_physician", "referring_physician", "text"),
                ("modified_at", "modified_at", "ts"),
            ],
        ),
    },
    "series": {
        "v1": (
            "series",
            [
                ("@study", "study_fk", "fk"),
                ("series_uid", "series_iuid", "uid"),
                ("series_number", "series_no", "int"),
                ("modality", "modality", "code"),
                ("body_part", "body_part", "code"),
                ("laterality", "laterality", "code"),
                ("station_name", "station_name", "name"),
                ("department", "department", "name"),
                ("institution", "institution", "text"),
                ("modified_at", "updated_time", "ts"),
            ],
        ),
        "v2": (
            "series",
            [
                ("@study", "study_fk", "fk"),
                ("series_uid", "series_instance_uid", "uid"),
                ("series_number", "series_number", "int"),
                ("modality", "modality", "code"),
                ("body_part", "body_part_examined", "code"),
                ("laterality", "laterality", "code"),
                ("station_name", "station_name", "name"),
                ("department", "department", "name"),
                ("institution", "institution_name", "text"),
                ("modified_at", "modified_at", "ts"),
            ],
        ),
    },
    "instances": {
        "v1": (
            "instance",
            [
                ("@series", "series_fk", "fk"),
                ("sop_instance_uid", "sop_iuid", "uid"),
                ("sop_class_uid", "sop_cuid", "uid"),
                ("instance_number", "inst_no", "int"),
                ("modified_at", "updated_time", "ts"),
            ],
        ),
        "v2": (
            "instance",
            [
                ("@series", "series_fk", "fk"),
                ("sop_instance_uid", "sop_instance_uid", "uid"),
                ("sop_class_uid", "sop_class_uid", "uid"),
                ("instance_number", "instance_number", "int"),
                ("transfer_syntax", "transfer_syntax", "uid"),
                ("modified_at", "modified_at", "ts"),
            ],
        ),
    },
    "files": {  # not a CSV table: the stored object of each instance, with its size
        "v1": (
            "files",
            [
                ("@instance", "instance_fk", "fk"),
                ("file_size", "file_size", "big"),
                ("modified_at", "created_time", "ts"),
            ],
        ),
        "v2": (
            "files",
            [
                ("@instance", "instance_fk", "fk"),
                ("file_size", "file_size", "big"),
                ("modified_at", "created_at", "ts"),
            ],
        ),
    },
    "orders": {
        "v1": (
            "orders",
            [
                ("order_id", "order_no", "id"),
                ("@patient", "patient_fk", "fk"),
                ("@study?", "study_fk", "fk?"),
                ("order_type", "order_type", "code"),
                ("status", "order_status", "code"),
                ("created_at", "created_time", "ts?"),
                ("modified_at", "updated_time", "ts"),
            ],
        ),
        "v2": (
            "orders",
            [
                ("order_id", "order_id", "id"),
                ("@patient", "patient_fk", "fk"),
                ("@study?", "study_fk", "fk?"),
                ("order_type", "order_type", "code"),
                ("status", "status", "code"),
                ("created_at", "created_at", "ts?"),
                ("modified_at", "modified_at", "ts"),
            ],
        ),
    },
}
ORDER = ("stations", "patients", "studies", "orders", "series", "instances", "files")
PARENTS = {
    "@patient": "patients",
    "@study": "studies",
    "@study?": "studies",
    "@series": "series",
    "@instance": "instances",
}
PARENT_KEY = {
    "@patient": "patient_id",
    "@study": "study_uid",
    "@study?": "study_uid",
    "@series": "series_uid",
    "@instance": "sop_instance_uid",
}
NATURAL = {
    "stations": "station_name",
    "patients": "patient_id",
    "studies": "study_uid",
    "series": "series_uid",
    "instances": "sop_instance_uid",
    "orders": "order_id",
}


def _type(kind: str, dialect: str) -> str:
    ts = "DATETIME" if dialect == "mysql" else "TIMESTAMP"
    return {
        "name": "VARCHAR(64)",
        "code": "VARCHAR(16)",
        "id": "VARCHAR(64) NOT NULL",
        "uid": "VARCHAR(64)",
        "text": "VARCHAR(255)",
        "date": "DATE",
        "int": "INTEGER",
        "big": "BIGINT",
        "fk": "BIGINT NOT NULL",
        "fk?": "BIGINT",
        "ts": f"{ts} NOT NULL",
        "ts?": ts,
    }[kind]


def ddl(version: str, dialect: str) -> list[str]:
    """CREATE TABLE statements of one schema version; every table has `pk` and a (watermark, pk) index."""
    out = [f"CREATE TABLE {MARKER} (note VARCHAR(255))"]
    for table in ORDER:
        name, cols = SCHEMA[table][version]
        body = ", ".join(f"{c} {_type(k, dialect)}" for _, c, k in cols)
        out.append(f"CREATE TABLE {name} (pk BIGINT PRIMARY KEY, {body})")
        watermark = cols[-1][1]
        out.append(f"CREATE INDEX {name}_changed ON {name} ({watermark}, pk)")
        for src, col, _ in cols:
            if src.startswith("@"):
                out.append(f"CREATE INDEX {name}_{col} ON {name} ({col})")
    return out


def _value(kind: str, text: str):
    if text in ("", None):
        return None
    if kind.startswith("ts"):
        return datetime.fromisoformat(text)
    if kind == "date":
        return date.fromisoformat(text)
    if kind in ("int", "big"):
        return int(text)
    return text


@dataclass
class SiteDatabase:
    """One site's PACS database: `day()` inserts a generated day's rows (or only counts their keys)."""

    url: DatabaseUrl
    version: str
    con: object
    pks: dict[str, dict[str, int]]

    def day(self, rows: dict[str, list[dict[str, str]]], insert: bool = True) -> None:
        rows = {
            **rows,
            "files": [
                {
                    "sop_instance_uid": r["sop_instance_uid"],
                    "file_size": r["file_size"],
                    "modified_at": r["modified_at"],
                }
                for r in rows.get("instances", [])
            ],
        }
        with self.con.cursor() as cur:
            for table in ORDER:
                name, cols = SCHEMA[table][self.version]
                values = []
                for row in rows.get(table, []):
                    keys = self.pks.setdefault(table, {})
                    natural = row[NATURAL[table]] if table in NATURAL else row["sop_instance_uid"]
                    pk = keys.setdefault(natural, len(keys) + 1)
                    record = [pk]
                    for src, _col, kind in cols:
                        if src.startswith("@"):
                            parent = row.get(PARENT_KEY[src], "")
                            record.append(self.pks[PARENTS[src]][parent] if parent else None)
                        else:
                            record.append(_value(kind, row.get(src, "")))
                    values.append(tuple(record))
                if insert and values:
                    marks = ", ".join(["%s"] * (len(cols) + 1))
                    names = ", ".join(["pk", *(c for _, c, _ in cols)])
                    cur.executemany(f"INSERT INTO {name} ({names}) VALUES ({marks})", values)
        self.con.commit()

    def close(self) -> None:
        self.con.close()


def _tables(cur, dialect: str, database: str) -> set[str]:
    if dialect == "mysql":
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (database,))
    else:
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
    return {r[0].lower() for r in cur.fetchall()}


def open_site_database(
    url_text: str, site: str, version: str, password: str = "", fresh: bool = True
) -> SiteDatabase:
    """Create (or, with `fresh`, recreate) the schema of `url_text` with `{site}` replaced by the site code."""
    url = DatabaseUrl.parse(url_text.replace("{site}", site))
    try:
        admin = dbapi_connect(url, password, database="" if url.dialect == "mysql" else "postgres")
    except Exception as exc:
        raise DatabaseError(f"cannot connect to {url}: {type(exc).__name__}: {exc}") from None
    try:
        if url.dialect == "mysql":
            with admin.cursor() as cur:
                cur.execute(f"CREATE DATABASE IF NOT EXISTS `{url.database}` CHARACTER SET utf8mb4")
            admin.commit()
        else:
            admin.autocommit = True
            with admin.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (url.database,))
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{url.database}"')
    finally:
        admin.close()
    con = dbapi_connect(url, password)
    with con.cursor() as cur:
        existing = _tables(cur, url.dialect, url.database)
        if existing and MARKER not in existing:
            con.close()
            raise DatabaseError(
                f"{url} already holds tables and was not made by `medvault generate`: refusing to touch it"
            )
        if fresh or not existing:
            for table in sorted(existing):
                cur.execute(
                    f"DROP TABLE IF EXISTS {table} CASCADE"
                    if url.dialect == "postgresql"
                    else f"DROP TABLE IF EXISTS `{table}`"
                )
            for statement in ddl(version, url.dialect):
                cur.execute(statement)
    con.commit()
    return SiteDatabase(url, version, con, {})

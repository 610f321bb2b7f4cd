"""Publishing the marts to PostgreSQL for BI tools (seed 001's import into PostgreSQL).

Each mart becomes `marts.<name>` in the target database, bulk loaded with COPY from the published
(suppressed) copy, in one transaction per table: the new table is built beside the old one and
renamed over it, so a reader sees the old rows or the new ones. The content hash of what was
published is kept in `medvault_publish.published`; an unchanged mart is not written again. With a
reader role configured, it is granted USAGE on the schema and SELECT on each table.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

from medvault.platform.marts.models import MartDef
from medvault.platform.publish.suppress import published_select
from medvault.platform.warehouse import quote_ident as q
from medvault.platform.warehouse import quote_literal

SCHEMA = "marts"
STATE = "medvault_publish.published"
_TYPES = {
    "VARCHAR": "text",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "SMALLINT": "smallint",
    "HUGEINT": "numeric",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "BLOB": "bytea",
}


@dataclass(frozen=True)
class Published:
    table: str
    rows: int
    written: bool  # False: unchanged since the last publish, nothing written


def pg_type(duckdb_type: str) -> str:
    if duckdb_type.startswith("DECIMAL"):
        return duckdb_type.replace("DECIMAL", "numeric")
    return _TYPES.get(duckdb_type, "text")


def _csv(con, mart: MartDef, threshold: int) -> tuple[bytes, list[tuple[str, str]], int]:
    select = published_select(mart, threshold)
    with tempfile.TemporaryDirectory(prefix="medvault-pg-") as tmp:
        path = Path(tmp) / "mart.csv"
        con.execute(f"COPY ({select}) TO {quote_literal(str(path))} (FORMAT csv, HEADER false)")
        data = path.read_bytes()
    cols = [(r[0], r[1]) for r in con.execute(f"DESCRIBE ({select})").fetchall()]
    rows = int(con.execute(f"SELECT count(*) FROM ({select})").fetchone()[0])
    return data, cols, rows


def _ensure_state(pg) -> None:
    pg.execute("CREATE SCHEMA IF NOT EXISTS medvault_publish")
    pg.execute(
        f"CREATE TABLE IF NOT EXISTS {STATE} (table_name text PRIMARY KEY, sha256 text NOT NULL, "
        "rows bigint NOT NULL, published_at timestamptz NOT NULL DEFAULT now())"
    )


def publish_mart(con, pg, mart: MartDef, threshold: int, reader: str = "") -> Published:
    """Publish one mart over the open psycopg connection `pg`; commits its own transaction."""
    data, cols, rows = _csv(con, mart, threshold)
    sha = hashlib.sha256(repr(cols).encode() + data).hexdigest()
    table = f"{SCHEMA}.{mart.name}"
    with pg.transaction():
        _ensure_state(pg)
        found = pg.execute(f"SELECT sha256 FROM {STATE} WHERE table_name = %s", [table]).fetchone()
        exists = pg.execute("SELECT to_regclass(%s)", [f"{q(SCHEMA)}.{q(mart.name)}"]).fetchone()[0]
        if found and found[0] == sha and exists:
            return Published(table, rows, False)
        new = q(f"{mart.name}__new")
        pg.execute(f"CREATE SCHEMA IF NOT EXISTS {q(SCHEMA)}")
        pg.execute(f"DROP TABLE IF EXISTS {q(SCHEMA)}.{new}")
        pg.execute(f"CREATE TABLE {q(SCHEMA)}.{new} ({', '.join(f'{q(c)} {pg_type(t)}' for c, t in cols)})")
        with pg.cursor().copy(f"COPY {q(SCHEMA)}.{new} FROM STDIN (FORMAT csv)") as copy:
            buffer = io.BytesIO(data)
            while chunk := buffer.read(1 << 20):
                copy.write(chunk)
        pg.execute(f"DROP TABLE IF EXISTS {q(SCHEMA)}.{q(mart.name)}")
        pg.execute(f"ALTER TABLE {q(SCHEMA)}.{new} RENAME TO {q(mart.name)}")
        if reader:
            pg.execute(f"GRANT USAGE ON SCHEMA {q(SCHEMA)} TO {q(reader)}")
            pg.execute(f"GRANT SELECT ON {q(SCHEMA)}.{q(mart.name)} TO {q(reader)}")
        pg.execute(
            f"INSERT INTO {STATE} (table_name, sha256, rows) VALUES (%s, %s, %s) ON CONFLICT (table_name) "
            "DO UPDATE SET sha256 = excluded.sha256, rows = excluded.rows, published_at = now()",
            [table, sha, rows],
        )
    return Published(table, rows, True)


def connect(url: str):
    """A psycopg connection in autocommit mode (each mart opens its own transaction)."""
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=10)

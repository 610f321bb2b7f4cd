"""The PACS database, read-only: a URL without secrets, a consistent snapshot, rows streamed in chunks.

Why a server-side cursor: a PACS `instance` table has tens of millions of rows; a client-side cursor
(`pandas.read_sql`, pymysql's default) holds the whole result in memory before the first row is written.
pymysql's `SSCursor` and psycopg's named cursor hand rows over as the server sends them.

Why one snapshot: every table of a push is read in one read-only transaction (`WITH CONSISTENT SNAPSHOT`
on MariaDB/MySQL, `REPEATABLE READ READ ONLY` on PostgreSQL), so an instance never arrives without the
series it belongs to, and nothing the agent runs can write.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

DIALECTS = {
    "mysql": "mysql",
    "mariadb": "mysql",
    "mysql+pymysql": "mysql",
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "postgresql+psycopg": "postgresql",
}
DEFAULT_PORTS = {"mysql": 3306, "postgresql": 5432}
TEXT_STAMP_TYPES = (7, 12)  # pymysql FIELD_TYPE.TIMESTAMP, FIELD_TYPE.DATETIME


class DatabaseError(RuntimeError):
    """The database cannot be reached or answered with an error; the message names the database, never
    a password or a row."""


@dataclass(frozen=True)
class DatabaseUrl:
    dialect: str  # mysql | postgresql
    user: str
    host: str
    port: int
    database: str

    @classmethod
    def parse(cls, url: str) -> DatabaseUrl:
        """`mysql://user@host:3306/db` or `postgresql://user@host:5432/db`; a password in the URL is refused
        (it would show in `ps`, shell history and logs): it comes from MEDVAULT_AGENT_DB_PASSWORD."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise DatabaseError(f"database URL {url!r} is not a URL: {exc}") from None
        dialect = DIALECTS.get(parts.scheme.lower())
        if dialect is None:
            raise DatabaseError(
                f"database URL scheme {parts.scheme!r} is not supported: use mysql:// (MariaDB, MySQL) or "
                "postgresql://"
            )
        if parts.password is not None:
            raise DatabaseError(
                "the database URL holds a password: remove it and set MEDVAULT_AGENT_DB_PASSWORD instead"
            )
        database = parts.path.lstrip("/")
        if not parts.hostname or not database or "/" in database:
            raise DatabaseError(
                f"database URL needs a host and a database name: {dialect}://user@host:port/db"
            )
        return cls(
            dialect,
            unquote(parts.username or ""),
            parts.hostname,
            port or DEFAULT_PORTS[dialect],
            unquote(database),
        )

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        return f"{self.dialect}://{user}{self.host}:{self.port}/{self.database}"


def _text_timestamps():
    """pymysql's converters without DATETIME/TIMESTAMP: those arrive as the server's text
    (`YYYY-MM-DD HH:MM:SS`), which is what is sent anyway; parsing every value into a datetime only to
    format it back was a fifth of the agent's time (benchmarks/agent.py)."""
    from pymysql.converters import conversions

    conv = dict(conversions)
    for field in TEXT_STAMP_TYPES:
        conv.pop(field, None)
    return conv


def dbapi_connect(
    url: DatabaseUrl,
    password: str = "",
    timeout: float = 30,
    database: str | None = None,
    text_timestamps: bool = False,
):
    """A plain DB-API connection (pymysql or psycopg) to `database` (default: the URL's), autocommit off.
    `text_timestamps`: MariaDB/MySQL timestamps come as text (see `_text_timestamps`)."""
    dbname = url.database if database is None else database
    if url.dialect == "mysql":
        import pymysql

        extra = {"conv": _text_timestamps()} if text_timestamps else {}
        return pymysql.connect(
            **extra,
            host=url.host,
            port=url.port,
            user=url.user or None,
            password=password or "",
            database=dbname or None,
            connect_timeout=timeout,
            charset="utf8mb4",
            autocommit=False,
        )
    import psycopg

    return psycopg.connect(
        host=url.host,
        port=url.port,
        user=url.user or None,
        password=password or None,
        dbname=dbname,
        connect_timeout=max(1, int(timeout)),
        application_name="medvault-agent",
    )


def _transient(url: DatabaseUrl, exc: BaseException) -> bool:
    """Worth a retry: the server could not be reached. A refused login or an unknown database is not."""
    if url.dialect == "mysql":
        import pymysql

        # 2003 can't connect, 2006 gone away, 2013 lost connection; 1045 access denied, 1049 unknown db
        code = exc.args[0] if isinstance(exc, pymysql.err.OperationalError) and exc.args else None
        return code in (2003, 2006, 2013)
    text = str(exc).lower()
    return "connection refused" in text or "timeout" in text or "could not connect" in text


def _reason(exc: BaseException) -> str:
    text = " ".join(str(a) for a in getattr(exc, "args", ()) if a) or type(exc).__name__
    return f"{type(exc).__name__}: {text.strip()}"


class Database:
    """One connection, used for one push; `snapshot()` then `stream()` per table."""

    def __init__(self, url: DatabaseUrl, connection):
        self.url = url
        self._con = connection
        self._cursors = 0

    @classmethod
    def connect(
        cls, url: DatabaseUrl, password: str = "", timeout: float = 30, retries: int = 5, backoff: float = 2
    ) -> Database:
        """Connect, retrying an unreachable server with exponential backoff (seed 000's retry loop)."""
        for attempt in range(retries + 1):
            try:
                return cls(url, dbapi_connect(url, password, timeout, text_timestamps=True))
            except ImportError as exc:
                raise DatabaseError(
                    f"{url}: the driver is not installed ({exc.name}); pip install medvault[agent]"
                ) from None
            except Exception as exc:
                if attempt == retries or not _transient(url, exc):
                    raise DatabaseError(
                        f"cannot connect to {url} after {attempt + 1} attempt(s): {_reason(exc)}"
                    ) from None
                time.sleep(backoff * 2**attempt)
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Database]:
        """A read-only transaction over one consistent snapshot; always rolled back (nothing to keep)."""
        try:
            self._con.rollback()  # end what a schema probe began: the snapshot starts here
            if self.url.dialect == "mysql":
                with self._con.cursor() as cur:
                    cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                    cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            else:
                import psycopg

                self._con.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                self._con.read_only = True
        except Exception as exc:
            raise DatabaseError(f"{self.url}: cannot open a read-only snapshot: {_reason(exc)}") from None
        try:
            yield self
        finally:
            with contextlib.suppress(Exception):
                self._con.rollback()

    def _cursor(self):
        if self.url.dialect == "mysql":
            import pymysql

            return self._con.cursor(pymysql.cursors.SSCursor)
        self._cursors += 1
        return self._con.cursor(name=f"medvault_agent_{self._cursors}")

    def stream(
        self, sql: str, params: tuple, chunk_rows: int, what: str
    ) -> tuple[list[str], Iterator[list[tuple]], frozenset[str]]:
        """(column names, chunks of rows, the columns whose timestamps arrive as text) of `sql`; the rows
        are never all in memory at once."""
        cur = self._cursor()
        try:
            if self.url.dialect == "postgresql":
                cur.itersize = chunk_rows
            cur.execute(sql, params)
            columns = [d[0] for d in cur.description]
            stamps = frozenset(
                d[0] for d in cur.description if self.url.dialect == "mysql" and d[1] in TEXT_STAMP_TYPES
            )
        except Exception as exc:
            with contextlib.suppress(Exception):
                cur.close()
            raise DatabaseError(f"{self.url}: the query of {what} failed: {_reason(exc)}") from None

        def chunks() -> Iterator[list[tuple]]:
            try:
                while True:
                    try:
                        rows = cur.fetchmany(chunk_rows)
                    except Exception as exc:
                        raise DatabaseError(f"{self.url}: reading {what} failed: {_reason(exc)}") from None
                    if not rows:
                        return
                    yield rows
            finally:
                with contextlib.suppress(Exception):
                    cur.close()

        return columns, chunks(), stamps

    def scalar(self, sql: str, params: tuple, what: str):
        with self._con.cursor() as cur:
            try:
                cur.execute(sql, params)
                row = cur.fetchone()
            except Exception as exc:
                raise DatabaseError(f"{self.url}: {what} failed: {_reason(exc)}") from None
        return row[0] if row else None

    def columns_of(self, sql: str, what: str) -> list[str]:
        """The column names a query returns, without reading a row (a schema probe)."""
        with self._con.cursor() as cur:
            try:
                cur.execute(f"SELECT * FROM ({sql}) AS probe WHERE 1 = 0")
                cols = [d[0] for d in cur.description]
                cur.fetchall()
            except Exception as exc:
                with contextlib.suppress(Exception):
                    self._con.rollback()  # PostgreSQL aborts the transaction on an error
                raise DatabaseError(f"{self.url}: {what} failed: {_reason(exc)}") from None
        return cols

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._con.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

"""What the site-agent tests share: throwaway PACS databases on the local MariaDB and PostgreSQL, agent
settings for tests, and readers of what the agent sent."""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import uuid
from collections import Counter
from pathlib import Path

import pytest

from medvault.platform.agent.database import DatabaseUrl, dbapi_connect
from medvault.platform.config.agent import AgentSettings

ROOT = Path(__file__).resolve().parents[1]
MARIADB = "mysql://root@127.0.0.1:3306"
POSTGRES = "postgresql://postgres@127.0.0.1:5432"


def agent_settings(**kw) -> AgentSettings:
    """Settings as a site would give them, with short timeouts and retries for tests."""
    base = AgentSettings(rules=ROOT / "rules" / "agent", retries=1, backoff=0.05, timeout=5)
    return base.override(**kw)


def drop_database(url: str) -> None:
    parsed = DatabaseUrl.parse(url)
    admin = "" if parsed.dialect == "mysql" else "postgres"
    with contextlib.closing(dbapi_connect(parsed, database=admin)) as con:
        if parsed.dialect == "postgresql":
            con.autocommit = True
        with con.cursor() as cur:
            if parsed.dialect == "mysql":
                cur.execute(f"DROP DATABASE IF EXISTS `{parsed.database}`")
            else:
                cur.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        if parsed.dialect == "mysql":
            con.commit()


class Databases:
    """Database URLs with a unique prefix (`{site}` left in for the generator); all dropped at the end."""

    def __init__(self, server: str):
        self.server = server
        self.prefix = f"mvtest_{uuid.uuid4().hex[:8]}"
        self.used: set[str] = set()

    def template(self) -> str:
        return f"{self.server}/{self.prefix}_{{site}}"

    def url(self, site: str) -> str:
        url = f"{self.server}/{self.prefix}_{site}"
        self.used.add(url)
        return url

    def execute(self, site: str, sql: str, params: tuple = ()) -> list[tuple]:
        with contextlib.closing(dbapi_connect(DatabaseUrl.parse(self.url(site)))) as con:
            with con.cursor() as cur:
                cur.execute(sql, params or None)
                rows = list(cur.fetchall()) if cur.description else []
            con.commit()
        return rows

    def cleanup(self, sites) -> None:
        for site in sites:
            self.used.add(f"{self.server}/{self.prefix}_{site}")
        for url in self.used:
            with contextlib.suppress(Exception):
                drop_database(url)


@pytest.fixture
def mariadb():
    dbs = Databases(MARIADB)
    yield dbs
    dbs.cleanup(["aurora_eye", "kestrel_imaging", "lothian_general", "fjord_clinic"])


@pytest.fixture
def postgres():
    dbs = Databases(POSTGRES)
    yield dbs
    dbs.cleanup(["aurora_eye", "kestrel_imaging", "lothian_general", "fjord_clinic"])


def read_csv_gz(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(gzip.decompress(data).decode("utf-8"))))


def sent_rows(root: Path, site: str, table: str) -> tuple[list[str], Counter]:
    """(header, multiset of rows) of every `<table>_*.csv.gz` the agent put under `root/site/`."""
    header: list[str] = []
    rows: Counter = Counter()
    for path in sorted((root / site).glob(f"*/{table}_*.csv.gz")):
        header, *body = read_csv_gz(path.read_bytes())
        rows.update(tuple(r) for r in body)
    return header, rows


def generated_rows(out: Path, site: str, table: str) -> tuple[list[str], Counter]:
    """(header, multiset of rows) of the generator's `<table>_<date>.csv` files of one site."""
    header: list[str] = []
    rows: Counter = Counter()
    for path in sorted((out / site).glob(f"*/{table}_*.csv")):
        with open(path, newline="", encoding="utf-8") as fh:
            header, *body = list(csv.reader(fh))
        rows.update(tuple(r) for r in body)
    return header, rows

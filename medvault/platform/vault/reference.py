"""Reference tables: the rules' code lists (rules/vault `references:`) as `vault.ref_<name>` tables.

A reference table is the rules' content, so it is replaced (in one transaction) when that content
changes and left alone otherwise; `rules_sha256` says which content it holds. Values are text.
"""

from __future__ import annotations

import hashlib
import json

from medvault.platform.rules.models import ReferenceDef
from medvault.platform.vault.model import SCHEMA, table_name
from medvault.platform.warehouse import quote_ident as q
from medvault.platform.warehouse import table_exists, transaction


def content_sha(ref: ReferenceDef) -> str:
    return hashlib.sha256(json.dumps([ref.columns, ref.rows]).encode()).hexdigest()


def load_reference(con, ref: ReferenceDef) -> int | None:
    """Write the table when its content changed; returns its rows, or None when it was current."""
    sha = content_sha(ref)
    target = table_name(ref.name)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    if table_exists(con, SCHEMA, ref.name):
        stored = con.execute(f"SELECT any_value(rules_sha256) FROM {target}").fetchone()[0]
        if stored == sha:
            return None
    columns = ", ".join(f"{q(c)} VARCHAR" for c in ref.columns)
    marks = ", ".join("?" for _ in ref.columns)
    with transaction(con):
        con.execute(
            f"CREATE OR REPLACE TABLE {target} ({columns}, rules_sha256 VARCHAR NOT NULL, loaded_at TIMESTAMP)"
        )
        con.executemany(
            f"INSERT INTO {target} VALUES ({marks}, ?, CAST(now() AS TIMESTAMP))",
            [[*row, sha] for row in ref.rows],
        )
    return len(ref.rows)

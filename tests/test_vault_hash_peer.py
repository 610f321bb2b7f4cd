"""medvault's hash keys equal AutomateDV's for values that need no escaping: the expected hashes come
from an independent Python implementation of AutomateDV's documented formula (its `hash` macro with
the default `concat_string: '||'`, `null_placeholder_string: '^^'`, upper-casing, MD5 as binary).

The tenant is the first column: medvault's `hash(site, bk...)` is AutomateDV's hash of the composite
key (site, bk...). Two documented differences, outside this equality: medvault escapes `\\`, `|` and `^`
(so delimiter-like values cannot collide), and a key whose business columns are all NULL is NULL in
medvault whatever the site (AutomateDV hashes the site alone)."""

from __future__ import annotations

import hashlib

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from medvault.platform.vault.hashing import hash_key, hash_key_sql

SAFE = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="|\\^"), max_size=12
)
VALUE = st.one_of(st.none(), SAFE)


def automatedv_hash(columns: list) -> bytes | None:
    """AutomateDV: CONCAT_WS('||', IFNULL(NULLIF(UPPER(TRIM(CAST(c AS VARCHAR))), ''), '^^') ...),
    NULL when every column is the placeholder, then MD5 as 16 bytes."""
    parts = []
    for value in columns:
        text = None if value is None else str(value).strip(" ").upper()
        parts.append(text or "^^")
    joined = "||".join(parts)
    if joined == "||".join(["^^"] * len(columns)):
        return None
    return hashlib.md5(joined.encode()).digest()


@settings(max_examples=200, deadline=None)
@given(site=SAFE.filter(lambda s: s.strip(" ")), keys=st.lists(VALUE, min_size=1, max_size=3))
def test_hash_keys_equal_automatedv_for_unescaped_values(site, keys):
    if all(k is None or not k.strip(" ") for k in keys):
        keys = [*keys[:-1], "K"]  # medvault's all-NULL key is NULL by design (see the module docstring)
    expected = automatedv_hash([site, *keys])
    assert hash_key(keys, tenant=site) == expected
    cols = [f"c{i}" for i in range(len(keys))]
    select = ", ".join(f"?::VARCHAR AS c{i}" for i in range(len(keys)))
    sql = hash_key_sql(cols, tenant="t")
    row = duckdb.execute(f"SELECT {sql} FROM (SELECT {select}, ?::VARCHAR AS t)", [*keys, site]).fetchone()
    assert bytes(row[0]) == expected

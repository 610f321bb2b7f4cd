"""SQL functions the marts may call besides DuckDB's own, registered on the connection that builds them.

`pseudonym(site, key)`: a keyed pseudonym (HMAC-SHA256 over site and key with MEDVAULT_PSEUDONYM_KEY,
32 hex digits), so that a mart can give a patient a stable code without ever holding the identifier;
without the key nobody can go back from the code to the patient, or make the code from a known id.

`is_ghost(key)`: the vault hash key is the zero key of a missing business key (vault/ghosts.py), whose
ghost rows a mart must not count (false for NULL, so it also reads a LEFT JOIN's missing side).
"""

from __future__ import annotations

import contextlib

from medvault.platform.delivery.naming import pseudonym
from medvault.platform.vault.hashing import ZERO_KEY_SQL

PSEUDONYM_DIGITS = 32


def register_functions(con, secret: bytes) -> None:
    """Make the functions callable in this connection's SQL (registering again replaces them)."""
    with contextlib.suppress(Exception):  # not registered yet on this connection
        con.remove_function("pseudonym")
    con.create_function(
        "pseudonym",
        lambda site, key: pseudonym(secret, site, key, PSEUDONYM_DIGITS),
        ["VARCHAR", "VARCHAR"],
        "VARCHAR",
        side_effects=False,
    )
    con.execute(f"CREATE OR REPLACE TEMP MACRO is_ghost(k) AS coalesce(k = {ZERO_KEY_SQL}, false)")

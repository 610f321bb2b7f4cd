"""Files outside the drop convention (at the store root, beside site folders, in non-date folders).

They belong to no (site, date) partition, so they are quarantined on their own, under the pseudo-site
`_strays` and the day they were found, with the sensor's reason. Each content is recorded once.
"""

from __future__ import annotations

import logging

import duckdb

from medvault.platform.pipeline import manifest
from medvault.platform.pipeline.receive import display_key
from medvault.platform.pipeline.zones import QuarantineZone, Reason, local_file, sha256_file
from medvault.platform.stores.base import ObjectStore

STRAYS_SITE = "_strays"
log = logging.getLogger(__name__)


def quarantine_strays(
    con: duckdb.DuckDBPyConnection,
    store: ObjectStore,
    store_name: str,
    quarantine: QuarantineZone,
    strays: list[tuple[str, str, str]],
    found_on: str,
    run_id: str | None = None,
) -> int:
    """Quarantine each (key, code, message) not yet recorded with the same content; return how many were new."""
    new = 0
    for key, code, message in strays:
        obj = store.stat(key)
        if obj is None:
            continue  # gone since the sensor saw it
        shown = display_key(key)
        with local_file(store, key) as path:
            sha = sha256_file(path)
            seen = con.execute(
                "SELECT count(*) FROM ops.file_manifest WHERE site = ? AND store = ? AND key = ? AND sha256 = ?",
                [STRAYS_SITE, store_name, shown, sha],
            ).fetchall()[0][0]
            if seen:
                continue
            manifest.record_quarantined(
                con,
                quarantine,
                path,
                site=STRAYS_SITE,
                date=found_on,
                store=store_name,
                key=shown,
                sha256=sha,
                size=obj.size,
                run_id=run_id,
                reason=Reason(code=code, message=message, file=shown),
            )
        log.warning("quarantined stray %s: %s", shown, code)
        new += 1
    return new

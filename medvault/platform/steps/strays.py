"""Files outside the drop convention (at the store root, beside site folders, in non-date folders).

They belong to no (site, date) partition, so they are quarantined on their own, under the pseudo-site
`_strays` and the day they were found, with the scan's reason. Each content is recorded once.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from medvault.platform.drops.layout import STRAYS_SITE, display_key, partition_range
from medvault.platform.drops.scan import scan
from medvault.platform.ledger import QUARANTINED, FileEntry, Ledger
from medvault.platform.steps.context import StepContext
from medvault.platform.stores.base import ObjectStore
from medvault.platform.warehouse import transaction
from medvault.platform.zones import Reason, local_file, sha256_file

Stray = tuple[str, str, str]  # (store key, reason code, message)


def quarantine_strays(
    ctx: StepContext, store: ObjectStore, store_name: str, strays: list[Stray], found_on: str
) -> int:
    """Quarantine each stray not yet recorded with the same content; return how many were new."""
    new = 0
    with ctx.connect() as con:
        ledger = Ledger(con)
        for key, code, message in strays:
            obj = store.stat(key)
            if obj is None:
                continue  # gone since the sensor saw it
            shown = display_key(key)
            if obj.kind != "file":  # a pipe, socket or device: recorded by name, never opened
                code = "not_a_regular_file"
                message = f"{shown!r} is a {obj.kind}, not a regular file; it was not read"
                if ledger.files.contains(STRAYS_SITE, store_name, shown, ""):
                    continue
                tag = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()
                _record(ctx, ledger, con, None, store_name, shown, "", tag, obj.size, found_on, code, message)
            else:
                with local_file(store, key) as path:
                    sha = sha256_file(path)
                    if ledger.files.contains(STRAYS_SITE, store_name, shown, sha):
                        continue
                    # one quarantine entry per stray path: the same bytes under two names keep both reasons
                    tag = hashlib.sha256(
                        f"{store_name}\n{key}\n{sha}".encode("utf-8", "surrogateescape")
                    ).hexdigest()
                    _record(
                        ctx, ledger, con, path, store_name, shown, sha, tag, obj.size, found_on, code, message
                    )
            ctx.log.warning(f"quarantined stray {shown}: {code}")
            new += 1
    return new


def _record(ctx, ledger, con, path, store_name, key, sha, tag, size, found_on, code, message) -> None:
    reason = Reason(code=code, message=message, file=key)
    qkey = ctx.quarantine.put(path, STRAYS_SITE, found_on, tag, key.rsplit("/", 1)[-1], reason)
    with transaction(con):
        ledger.files.add(
            FileEntry(STRAYS_SITE, found_on, store_name, key, sha, size, None, None, None, QUARANTINED, None),
            ctx.run_id,
            reason_code=code,
            reason=message,
            quarantine_path=qkey,
        )


def run(ctx: StepContext, stores: list[str], given: dict[str, list[Stray]] | None = None) -> int:
    """Quarantine the strays the sensor reported (`given`, per store), or rescan every store for them."""
    today = datetime.now(UTC).date().isoformat()
    new = 0
    for name in stores:
        with ctx.stores.drops(name) as store:
            dates = partition_range(ctx.settings.start_date, datetime.now(UTC).date())
            strays = given[name] if given else scan(store, None, full=True, dates=dates).strays
            new += quarantine_strays(ctx, store, name, strays, today)
    return new

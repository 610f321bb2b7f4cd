"""Sending a sealed batch: each file through `<file>.part` and a rename (SFTP) or as one atomic object
(S3), then the folder's `_DONE` marker last, so the central sensor never reads a half file.

A resumed batch skips files already in place with the right size and continues a `.part` from the byte
where it stopped. `_DONE` lists the batch's files with their rows, bytes and sha256 (no values).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from medvault.platform.agent.outbox import Batch
from medvault.platform.drops.layout import DROP_DONE_MARKER
from medvault.platform.stores.base import ObjectStore


@dataclass
class Pushed:
    batch: str
    folder: str
    files: int
    rows: int
    bytes_sent: int
    skipped: int  # files already complete at the destination (a resumed push)
    seconds: float


def push_batch(store: ObjectStore, batch: Batch, agent_version: str) -> Pushed:
    began = time.monotonic()
    sent = skipped = 0
    for f in batch.files:
        key = f"{batch.drop_folder}/{f['name']}"
        there = store.stat(key)
        if there is not None and there.size == f["bytes"]:
            skipped += 1
            continue
        sent += store.resume_upload(batch.folder / f["name"], key)
    marker = {
        "agent": f"medvault {agent_version}",
        "batch": batch.id,
        "system": batch.manifest["system"],
        "version": batch.manifest["version"],
        "files": batch.files,
    }
    store.put_bytes(f"{batch.drop_folder}/{DROP_DONE_MARKER}", json.dumps(marker, indent=1).encode())
    rows = sum(t["rows"] for t in batch.manifest["tables"].values())
    return Pushed(
        batch.id, batch.drop_folder, len(batch.files), rows, sent, skipped, time.monotonic() - began
    )

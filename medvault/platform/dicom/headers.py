"""Parsed DICOM headers kept in the lake, so images are parsed once, where they are fetched.

The receive step parses every image it fetches (it holds the bytes then) and saves the headers of one
fetch as `headers/<site>/<date>/<landing id>.json`, keyed by content hash: a header is a function of
the bytes. The DICOM step later reads these small files instead of the images, and parses an image
itself only when no saved header covers it (data received before headers were kept).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from medvault.platform.dicom import pool
from medvault.platform.dicom.extra import ExtraTag, read_extra
from medvault.platform.dicom.header import DicomFault, read_header, read_header_ranged
from medvault.platform.stores.base import ObjectStore, join_key
from medvault.platform.stores.local import LocalStore
from medvault.platform.stores.ranged import RangedFile


def parse(path: Path, name: str, extras: tuple[ExtraTag, ...] = ()) -> dict:
    """{"row": header fields and the `extras` columns} or {"fault": {"code", "message", "tag"}} for one
    file. Pixel data is checked too: an image cut short in its pixels (or without them) is a
    `truncated_pixels` fault, not a row."""
    try:
        row = read_header(path, check_pixels=True, name=name).as_dict()  # the whole file is here anyway
        row.update(read_extra(path, extras))
    except DicomFault as fault:
        return {"fault": {"code": fault.code, "message": fault.message, "tag": fault.tag}}
    except Exception as exc:  # one odd file never stops the others
        return {"fault": {"code": "unreadable", "message": f"{name}: {type(exc).__name__}", "tag": None}}
    return {"row": {k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()}}


def parse_stored(store: ObjectStore, key: str, name: str, extras: tuple[ExtraTag, ...] = ()) -> dict:
    """`parse` of an object in any store, by ranged reads where it is remote: the header's blocks (and
    the pixel data's end, to check its length), not the whole image. Only a file the fast path does not
    read (big endian, deflated) is fetched whole for pydicom."""
    if isinstance(store, LocalStore):
        return parse(store.local_path(key), name, extras)
    found = store.stat(key)
    if found is None:
        return {"fault": {"code": "unreadable", "message": f"{name}: the kept copy is missing", "tag": None}}
    fh = RangedFile(store, key, found.size)
    try:
        row = read_header_ranged(fh.read_range, found.size, name, check_pixels=True).as_dict()
        row.update(read_extra(fh, extras))
    except DicomFault as fault:
        return {"fault": {"code": fault.code, "message": fault.message, "tag": fault.tag}}
    except Exception as exc:
        return {"fault": {"code": "unreadable", "message": f"{name}: {type(exc).__name__}", "tag": None}}
    return {"row": {k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()}}


def parse_stored_many(
    store: ObjectStore, items: list[tuple[str, str]], extras: tuple[ExtraTag, ...] = ()
) -> list[dict]:
    """`parse_stored` of each (key, name), in order: on every core for a local lake (forked workers,
    pool.py; with extra tags, which pydicom reads at ~30x the cost of a native header read, from a tenth
    of the batch size), one by one over a remote store (a forked worker would share the parent's
    network client)."""
    if isinstance(store, LocalStore):
        threshold = pool.FORK_THRESHOLD // 10 if extras else pool.FORK_THRESHOLD
        return pool.map_forked(
            lambda item: parse(store.local_path(item[0]), item[1], extras), items, threshold=threshold
        )
    return [parse_stored(store, key, name, extras) for key, name in items]


def covers(parsed: dict, extras: tuple[ExtraTag, ...]) -> bool:
    """A saved header answers for the rules: a fault, or a row with every extra column asked for now
    (an extra tag added since the image arrived makes the image be read again)."""
    return "fault" in parsed or all(e.column in parsed["row"] for e in extras)


class HeaderStore:
    def __init__(self, lake: ObjectStore):
        self.store = lake

    @staticmethod
    def prefix(site: str, date: str) -> str:
        return join_key("headers", site, date)

    def save(self, site: str, date: str, landing_id: str, headers: dict[str, dict]) -> None:
        if headers:
            key = join_key(self.prefix(site, date), f"{landing_id}.json")
            self.store.put_bytes(key, json.dumps(headers, sort_keys=True).encode())

    def load(self, site: str, date: str) -> dict[str, dict]:
        """Every saved header of the partition, by content hash (later fetches win; they are identical)."""
        out: dict[str, dict] = {}
        for obj in sorted(self.store.list_objects(self.prefix(site, date)), key=lambda o: o.key):
            if obj.key.endswith(".json"):
                out.update(json.loads(self.store.read_bytes(obj.key)))
        return out

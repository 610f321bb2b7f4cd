"""Write the pipeline UID into an image: a private block of creator `MEDVAULT` in group 0009.

Why not pydicom's read-modify-write: it decodes and re-encodes the whole data set, a multiple of a plain
copy's cost. For little-endian files (explicit or implicit VR, native or compressed pixels) the private
elements go between the last element of groups below 000A and the first one after, so the file is the
original bytes up to there, the new group 0009, and the rest of the original streamed unchanged: the pixel
data element stays byte-identical. An existing MEDVAULT block is updated in place (a re-stamp); another
creator's block is kept and a free block number taken. Big-endian and deflated files go through pydicom.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

from medvault.platform.dicom.walk import NeedMore, Unsupported, iter_elements, parse_preamble_and_meta

CREATOR = "MEDVAULT"
GROUP = 0x0009
ELEMENT = 0x00  # the UID's element offset inside the block: (0009,xx00)
FIRST_READ = 1 << 16
IMPLICIT_LE = "1.2.840.10008.1.2"
STREAMED_NOT = {"1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"}  # big endian, deflated: pydicom


class StampError(RuntimeError):
    """The UID could not be written; the message names no value from the file."""


def _encode(tag: int, vr: str, value: bytes, explicit: bool) -> bytes:
    if len(value) % 2:
        value += b"\x00" if vr == "UI" else b" "
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
    if explicit:
        return head + vr.encode() + struct.pack("<H", len(value)) + value
    return head + struct.pack("<I", len(value)) + value


def _group_elements(head: bytes, offset: int, explicit: bool, size: int):
    """(elements of group 0009, offset where group 000A+ starts) among the top-level elements."""
    group = []
    for el in iter_elements(head, offset, explicit=explicit, stop_tag=(GROUP + 1) << 16):
        if el.tag >= (GROUP + 1) << 16:
            return group, el.start
        if el.tag >> 16 == GROUP:
            group.append(el)
    if len(head) < size:
        raise NeedMore(min(size, 2 * len(head)))
    return group, len(head)


def plan(head: bytes, size: int, uid: str) -> tuple[int, int, bytes]:
    """(start, end, new bytes): replace head[start:end] with the new group 0009 to stamp `uid`."""
    meta = parse_preamble_and_meta(head)
    if meta.transfer_syntax in STREAMED_NOT:
        raise Unsupported(f"transfer syntax {meta.transfer_syntax} is not streamed")
    explicit = meta.transfer_syntax != IMPLICIT_LE
    group, insert_at = _group_elements(head, meta.dataset_offset, explicit, size)
    raw = {el.tag: head[el.start : el.end] for el in group}
    slot = None
    used = set()
    for el in group:
        if 0x10 <= (el.tag & 0xFFFF) <= 0xFF:
            used.add(el.tag & 0xFF)
            if head[el.value_start : el.value_start + el.length].decode("latin-1").strip(" \x00") == CREATOR:
                slot = el.tag & 0xFF
    if slot is None:
        free = [b for b in range(0x10, 0x100) if b not in used]
        if not free:
            raise StampError("group 0009 has no free private block")
        slot = free[0]
        raw[(GROUP << 16) | slot] = _encode((GROUP << 16) | slot, "LO", CREATOR.encode(), explicit)
    data_tag = (GROUP << 16) | (slot << 8) | ELEMENT
    raw[data_tag] = _encode(data_tag, "UI", uid.encode("ascii"), explicit)
    length_tag = GROUP << 16
    if length_tag in raw:  # a (retired) group length: keep it true
        body = sum(len(v) for t, v in raw.items() if t != length_tag)
        raw[length_tag] = _encode(length_tag, "UL", struct.pack("<I", body), explicit)
    start = group[0].start if group else insert_at
    return start, insert_at, b"".join(raw[t] for t in sorted(raw))


def _stamp_with_pydicom(src: Path, dst: Path, uid: str) -> None:
    import pydicom

    ds = pydicom.dcmread(src, force=True)
    block = ds.private_block(GROUP, CREATOR, create=True)
    block.add_new(ELEMENT, "UI", uid)
    ds.save_as(dst, enforce_file_format=False)


def stamp_file(src: Path, dst: Path, uid: str) -> str:
    """Write `src` to `dst` with `uid` in the MEDVAULT block; how it was written ("streamed" or "pydicom")."""
    try:
        size = src.stat().st_size
        with open(src, "rb") as fh:
            head = fh.read(FIRST_READ)
            while True:
                try:
                    start, end, region = plan(head, size, uid)
                    break
                except NeedMore as more:
                    wanted = min(size, max(more.needed, 2 * len(head)))
                    if wanted <= len(head):
                        raise StampError("the header ends before its elements do") from None
                    fh.seek(0)
                    head = fh.read(wanted)
                except Unsupported:
                    _stamp_with_pydicom(src, dst, uid)
                    return "pydicom"
            with open(dst, "wb") as out:
                out.write(head[:start] if start <= len(head) else b"")
                out.write(region)
                fh.seek(end)
                shutil.copyfileobj(fh, out, 1 << 20)
        return "streamed"
    except StampError:
        raise
    except Exception as exc:
        raise StampError(f"cannot write the pipeline UID ({type(exc).__name__})") from None

"""A read-only file object over ranged reads of a store's object, for readers that want a file.

Why: pydicom reads a header from a file object and stops at the pixel data; given this object it
fetches the header's blocks from S3 or SFTP, not the whole image. Blocks are fetched once and kept
(a header spans a few of them).
"""

from __future__ import annotations

import io

from medvault.platform.stores.base import ObjectStore

BLOCK = 65536


class RangedFile(io.RawIOBase):
    def __init__(self, store: ObjectStore, key: str, size: int, block: int = BLOCK):
        super().__init__()
        self.store, self.key, self.size, self.block = store, key, size, block
        self.pos = 0
        self.bytes_read = 0
        self._blocks: dict[int, bytes] = {}

    def read_range(self, offset: int, length: int) -> bytes:
        """`length` bytes from `offset` (fewer at the end), from kept blocks where they cover it."""
        end = min(offset + max(length, 0), self.size)
        if offset >= end:
            return b""
        first, last = offset // self.block, (end - 1) // self.block
        missing = [n for n in range(first, last + 1) if n not in self._blocks]
        if missing:  # one request for the run of missing blocks
            start = missing[0] * self.block
            data = self.store.read_range(self.key, start, (missing[-1] + 1) * self.block - start)
            self.bytes_read += len(data)
            for n in missing:
                self._blocks[n] = data[(n - missing[0]) * self.block : (n - missing[0] + 1) * self.block]
        joined = b"".join(self._blocks[n] for n in range(first, last + 1))
        return joined[offset - first * self.block : end - first * self.block]

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def readinto(self, buffer) -> int:
        data = self.read_range(self.pos, len(buffer))
        buffer[: len(data)] = data
        self.pos += len(data)
        return len(data)

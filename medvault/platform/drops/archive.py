"""Open a `.zip` upload into its member files, refusing what could harm the platform.

Why: a site often sends one upload holding several scans (seed 004), sometimes a CD export with a
DICOMDIR index. Each member is then a file of the drop like any other (identified, kept, loaded or
quarantined on its own); the archive itself is only the envelope. What is refused, before a byte is
written, makes the whole upload a quarantined file with its reason:

* `unsafe_member`: a member path that is absolute, has `..`, a drive letter, a backslash or a control
  character, or is a symbolic link (a "zip slip" would write outside the landing folder);
* `zip_bomb`: more members, more uncompressed bytes, or a higher compression ratio than the limits;
  sizes are counted while inflating, so a header that lies about a size cannot get past them;
* `bad_archive`: not a readable zip (cut short, bad CRC, encrypted or an unknown compression method).

A DICOMDIR member is read as the index it is, not as an image: every file it lists must be a member
(a listed image the upload lacks is reported by name as `missing_member`), and it is not itself a file
of the drop, just as a `_DONE` marker is not.
"""

from __future__ import annotations

import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header; an empty archive's end record
DICOMDIR_NAME = "DICOMDIR"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ArchiveLimits:
    """How much one upload may hold once inflated (the settings MEDVAULT_ARCHIVE_*)."""

    max_members: int = 20_000
    max_bytes: int = 16 * 1024**3
    max_ratio: float = 200.0  # uncompressed / compressed bytes of one member (DICOM rarely passes 10)


class ArchiveFault(Exception):
    """Why an upload was not opened: `code` (unsafe_member, zip_bomb, bad_archive) and a message naming
    the archive and, where there is one, the member."""

    def __init__(self, code: str, message: str):
        super().__init__(code, message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Member:
    """One member written out: its path inside the archive and the local copy of its bytes; `missing`
    members (listed by a DICOMDIR, absent from the upload) have no copy."""

    path: str
    local: Path | None
    size: int
    missing: bool = False


def is_archive(path: Path) -> bool:
    """A zip by its first bytes, whatever its name."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4) in ZIP_MAGIC
    except OSError:
        return False


def unsafe_reason(member: str) -> str | None:
    """Why a member path may not be written under a folder, or None when it may."""
    if not member or member.startswith(("/", "\\")) or (len(member) > 1 and member[1] == ":"):
        return "is an absolute path"
    if "\\" in member or any(ord(ch) < 32 for ch in member):
        return "has a backslash or a control character"
    if any(part in ("..", ".") for part in member.split("/")):
        return "climbs out of the archive with '..'"
    return None


def _is_link(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def _check(zf: zipfile.ZipFile, name: str, limits: ArchiveLimits) -> list[zipfile.ZipInfo]:
    """The file members, once every member path and declared size is within the rules."""
    infos = zf.infolist()
    files = [i for i in infos if not i.is_dir()]
    if len(files) > limits.max_members:
        raise ArchiveFault(
            "zip_bomb", f"{name}: {len(files)} members, more than the limit of {limits.max_members}"
        )
    declared = 0
    for info in infos:
        reason = unsafe_reason(info.filename)
        if reason:
            raise ArchiveFault(
                "unsafe_member", f"{name}: member {info.filename!r} {reason}; nothing was extracted"
            )
        if _is_link(info):
            raise ArchiveFault(
                "unsafe_member", f"{name}: member {info.filename!r} is a symbolic link; nothing was extracted"
            )
        if info.flag_bits & 0x1:
            raise ArchiveFault("bad_archive", f"{name}: member {info.filename!r} is encrypted")
        declared += info.file_size
        _ratio(name, info.filename, info.file_size, info.compress_size, limits)
    if declared > limits.max_bytes:
        raise ArchiveFault(
            "zip_bomb", f"{name}: {declared} bytes once inflated, more than the limit of {limits.max_bytes}"
        )
    return files


def _ratio(name: str, member: str, size: int, compressed: int, limits: ArchiveLimits) -> None:
    if size > _CHUNK and size > limits.max_ratio * max(compressed, 1):
        raise ArchiveFault(
            "zip_bomb",
            f"{name}: member {member!r} inflates {size / max(compressed, 1):.0f}-fold, more than the limit of "
            f"{limits.max_ratio:g}",
        )


def _write(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, name: str, budget: int, limits) -> int:
    """Inflate one member to `dest`, counting bytes as they come (sizes in headers can lie)."""
    written = 0
    with zf.open(info) as src, open(dest, "wb") as out:
        while chunk := src.read(_CHUNK):
            written += len(chunk)
            if written > info.file_size or written > budget:
                raise ArchiveFault(
                    "zip_bomb",
                    f"{name}: member {info.filename!r} inflates past its declared size or the limit",
                )
            _ratio(name, info.filename, written, info.compress_size, limits)
            out.write(chunk)
    return written


def expand(path: Path, name: str, into: Path, limits: ArchiveLimits | None = None) -> list[Member]:
    """Every member of the archive at `path` written under `into` (one numbered file each, so that no
    member name decides where bytes go), in archive order; raise ArchiveFault and write nothing usable
    when the archive is refused."""
    limits = limits or ArchiveLimits()
    try:
        with zipfile.ZipFile(path) as zf:
            infos = _check(zf, name, limits)
            members, budget = [], limits.max_bytes
            into.mkdir(parents=True, exist_ok=True)
            for n, info in enumerate(infos):
                dest = into / f"{n:06d}"
                size = _write(zf, info, dest, name, budget, limits)
                budget -= size
                members.append(Member(info.filename, dest, size))
    except ArchiveFault:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,
        EOFError,
        OSError,
        RuntimeError,
    ) as exc:
        raise ArchiveFault(
            "bad_archive", f"{name}: not a readable zip archive ({type(exc).__name__})"
        ) from None
    return members + list(_missing_from_index(members, name))


def _missing_from_index(members: list[Member], name: str) -> Iterator[Member]:
    """The files a DICOMDIR of the archive lists that the archive does not hold."""
    present = {m.path.upper() for m in members}
    for member in members:
        if PurePosixPath(member.path).name.upper() != DICOMDIR_NAME:
            continue
        folder = PurePosixPath(member.path).parent
        for ref in dicomdir_references(member.local):
            target = str(folder / ref) if str(folder) != "." else ref
            if target.upper() not in present:
                yield Member(target, None, 0, missing=True)


def dicomdir_references(path: Path) -> list[str]:
    """The ReferencedFileID of every record of a DICOMDIR, as `/`-joined paths; [] for an unreadable
    index (its images are still read as members)."""
    import pydicom  # only for the rare DICOMDIR

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        records = ds.get("DirectoryRecordSequence") or []
    except Exception:
        return []
    refs = []
    for record in records:
        ref = record.get("ReferencedFileID")
        if ref:
            parts = [ref] if isinstance(ref, str) else list(ref)
            refs.append("/".join(str(p).strip() for p in parts))
    return refs


def is_index(member: Member) -> bool:
    """A DICOMDIR: the upload's table of contents, not one of its files."""
    return PurePosixPath(member.path).name.upper() == DICOMDIR_NAME

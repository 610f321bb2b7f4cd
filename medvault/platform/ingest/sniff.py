"""Look at the first megabyte of a file and decide how to read it.

`sniff` decides compression (gzip by name or magic, checked to its end), format (DICOM and Parquet by
magic, JSON/NDJSON by extension and first character, otherwise delimited text), encoding (BOM, UTF-8,
UTF-16 without BOM, then cp1252/latin-1), the delimiter (the candidate that splits the header and the
sample rows into the same number of fields most often) and the header. File-level problems raise
`FileFault`; messages never quote cell values.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from medvault.platform.ingest.cells import (  # noqa: F401 - part of sniff's interface
    DATA_LIKE_SHARE,
    clean_header,
    data_like_count,
    is_data_like,
    looks_like_data,
    shown_name,
)
from medvault.platform.ingest.faults import FileFault
from medvault.platform.ingest.sniff_json import MAX_SAMPLE_RECORDS, _sniff_json, flatten_keys  # noqa: F401

SAMPLE_BYTES = 1 << 20  # how much (decompressed) text the decisions are based on
CHUNK = 1 << 22
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

TEXT_EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".psv": "csv", ".dat": "csv"}
JSON_EXTENSIONS = {".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson"}
BINARY_MAGIC = {
    b"PK\x03\x04": "a zip archive",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x7fELF": "an executable",
    b"7z\xbc\xaf": "a 7z archive",
    b"BZh": "a bzip2 archive",
    b"\xfd7zXZ": "an xz archive",
    b"SQLite format 3": "an SQLite database",
    b"\xd0\xcf\x11\xe0": "an Office document",
}


@dataclass
class Sniff:
    """What `sniff` learned about one file."""

    format: str  # csv | json | ndjson | parquet | dicom
    compression: str | None  # "gzip" or None
    encoding: str  # utf-8 | utf-16-le | utf-16-be | cp1252 | latin-1 | binary
    bom: bool
    delimiter: str | None
    header: list[str] = field(default_factory=list)
    sample_rows: int = 0  # data records seen in the sample
    json_layout: str | None = None  # lines | array | concatenated (JSON formats only)
    size: int = 0  # bytes on disk
    complete: bool = False  # the sample is the whole (decompressed) file
    ascii_sample: bool = False  # the sample was pure ASCII (a later non-UTF-8 byte then means cp1252)


def _fault(code: str, name: str, text: str, **kw) -> FileFault:
    return FileFault(code, f"{name}: {text}", **kw)


def inner_name(name: str) -> str:
    """The file name without a trailing .gz."""
    return name[:-3] if name.lower().endswith(".gz") else name


def is_dicom(head: bytes) -> bool:
    """DICOM Part 10 (`DICM` after the 128-byte preamble) or a bare group-0002/0008 data set start."""
    if len(head) >= 132 and head[128:132] == b"DICM":
        return True
    if len(head) >= 8 and head[0:2] in (b"\x02\x00", b"\x08\x00") and head[3:4] == b"\x00":
        vr = head[4:6]
        if vr in (b"UL", b"OB", b"UI", b"CS", b"SH", b"DA", b"TM", b"LO"):
            return True
        # implicit VR: (0002,0000) group length of 4 bytes
        if head[0:4] == b"\x02\x00\x00\x00" and head[4:8] == b"\x04\x00\x00\x00":
            return True
    return False


def iter_bytes(path: Path, compression: str | None, name: str) -> Iterator[bytes]:
    """The file's (decompressed) bytes in chunks; a gzip that does not end cleanly raises truncated_archive."""
    if compression != "gzip":
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk
        return
    try:
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        reason = (
            "ends before the end of its gzip stream"
            if isinstance(exc, EOFError)
            else "is not a valid gzip stream"
        )
        raise _fault("truncated_archive", name, f"compressed file {reason}") from None


def _head(path: Path, compression: str | None, name: str) -> tuple[bytes, bool]:
    """First SAMPLE_BYTES (decompressed) and whether that is the whole file. Gzip is read to its end."""
    head = bytearray()
    total = 0
    for chunk in iter_bytes(path, compression, name):
        total += len(chunk)
        if len(head) < SAMPLE_BYTES:
            head += chunk[: SAMPLE_BYTES - len(head)]
        if total > SAMPLE_BYTES and compression != "gzip":
            break  # plain files: no need to read on; gzip: read to the end to check integrity
    complete = total <= SAMPLE_BYTES
    return bytes(head), complete


def _utf16_without_bom(head: bytes) -> str | None:
    sample = head[:4096]
    if len(sample) < 4:
        return None
    even = sample[0::2]
    odd = sample[1::2]
    if odd.count(0) > 0.7 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.7 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def detect_encoding(head: bytes, complete: bool, name: str) -> tuple[str, bool, str]:
    """(codec, bom, decoded sample text without BOM). Raises undetectable_encoding."""
    bom = False
    if head.startswith(codecs.BOM_UTF8):
        encoding, bom, body = "utf-8", True, head[3:]
    elif head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise _fault("undetectable_encoding", name, "UTF-32 text is not supported")
    elif head.startswith(codecs.BOM_UTF16_LE):
        encoding, bom, body = "utf-16-le", True, head[2:]
    elif head.startswith(codecs.BOM_UTF16_BE):
        encoding, bom, body = "utf-16-be", True, head[2:]
    elif b"\x00" in head:
        encoding = _utf16_without_bom(head)
        if encoding is None:
            raise _fault("undetectable_encoding", name, "contains NUL bytes: binary data, not text")
        body = head
    else:
        encoding, body = "utf-8", head
    candidates = [encoding] if encoding != "utf-8" or bom else ["utf-8", "cp1252", "latin-1"]
    text = None
    for enc in candidates:
        try:
            text = codecs.getincrementaldecoder(enc)("strict").decode(body, final=complete)
            encoding = enc
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise _fault("undetectable_encoding", name, f"cannot decode the sample as {encoding}")
    if text and len(_CONTROL.findall(text[:200_000])) > max(3, len(text[:200_000]) // 200):
        raise _fault(
            "undetectable_encoding", name, f"decoded as {encoding} but full of control characters: not text"
        )
    if "\x00" in text:
        raise _fault("undetectable_encoding", name, "contains NUL characters: binary data, not text")
    return encoding, bom, text.lstrip("\ufeff") if bom else text


def _records(
    text: str, delimiter: str, complete: bool, limit: int = MAX_SAMPLE_RECORDS + 1
) -> list[list[str]]:
    """Parse up to `limit` non-blank records; drop a last record the sample may have cut."""
    out: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', doublequote=True)
    try:
        for rec in reader:
            if not rec or (len(rec) == 1 and not rec[0].strip()):
                continue
            out.append(rec)
            if len(out) >= limit:
                return out
    except csv.Error:
        return out  # a field longer than the csv module's limit: decide on what was read
    if not complete and len(out) > 1:
        out.pop()
    return out


MAX_COLUMNS = 10_000  # wider files are quarantined as too_many_columns (docs/ingestion.md)


def detect_delimiter(
    text: str, complete: bool, name: str, prefer_tab: bool = False
) -> tuple[str, list[list[str]]]:
    """Pick the delimiter whose header field count the sample rows repeat most often.

    csv.Sniffer guesses from character frequencies and is easily fooled by commas inside quoted text;
    counting consistent splits per candidate is slower but predictable.
    """
    scored = []
    parsed: dict[str, list[list[str]]] = {}
    for d in DELIMITERS:
        recs = _records(text, d, complete)
        parsed[d] = recs
        if not recs:
            continue
        width = len(recs[0])
        rows = recs[1:]
        consistency = sum(1 for r in rows if len(r) == width) / len(rows) if rows else 1.0
        scored.append((consistency, width, d == "\t" and prefer_tab, -DELIMITERS.index(d), d))
    wide = [s for s in scored if s[1] > 1]
    if not wide:
        return ",", parsed.get(",", [])
    wide.sort(reverse=True)
    consistency, width, _, _, best = wide[0]
    rows = parsed[best][1:]
    if rows and consistency < 0.5:
        # Does another delimiter split the data rows consistently (header written with a different one)?
        for d in DELIMITERS:
            if d == best:
                continue
            other = [len(r) for r in parsed[d][1:]]
            if other and min(other) > 1 and max(set(other), key=other.count) > 1:
                share = other.count(max(set(other), key=other.count)) / len(other)
                if share >= 0.8:
                    raise _fault(
                        "wrong_delimiter",
                        name,
                        f"the header splits on {DELIMITER_NAMES[best]} into {width} fields but the data rows split on "
                        f"{DELIMITER_NAMES[d]}",
                    )
    return best, parsed[best]


def _sniff_parquet(path: Path, name: str) -> tuple[list[str], int]:
    import duckdb

    con = duckdb.connect()
    try:
        header = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()]
        rows = con.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchall()[0][0]
    except duckdb.Error:
        raise _fault(
            "unreadable_file", name, "is not a readable Parquet file (corrupt or truncated)"
        ) from None
    finally:
        con.close()
    if rows == 0:
        raise _fault("zero_rows", name, "the Parquet file has no rows")
    return header, rows


def sniff(path: Path, name: str | None = None) -> Sniff:
    """Decide format, compression, encoding, delimiter and header of one file (see module docstring);
    a file wider than MAX_COLUMNS is refused here, before anything reads its rows."""
    path = Path(path)
    name = name or path.name
    sniffed = _sniff(path, name)
    if len(sniffed.header) > MAX_COLUMNS:
        raise _fault(
            "too_many_columns",
            name,
            f"{len(sniffed.header)} columns in the header, more than the {MAX_COLUMNS:,} a file may have",
        )
    return sniffed


def _sniff(path: Path, name: str) -> Sniff:
    size = path.stat().st_size
    if size == 0:
        raise _fault("empty_file", name, "the file is empty (0 bytes)")
    with open(path, "rb") as fh:
        raw_head = fh.read(512)
    lower = name.lower()
    compression = "gzip" if lower.endswith(".gz") or raw_head[:2] == b"\x1f\x8b" else None
    if compression is None and is_dicom(raw_head):
        return Sniff("dicom", None, "binary", False, None, [], 1, None, size, True)
    if compression is None and raw_head[:4] == b"PAR1":
        header, rows = _sniff_parquet(path, name)
        return Sniff("parquet", None, "binary", False, None, header, rows, None, size, True)
    if compression is None:
        for magic, what in BINARY_MAGIC.items():
            if raw_head.startswith(magic):
                raise _fault("binary_file", name, f"is {what}, not a supported data file")
    head, complete = _head(path, compression, name)
    if not head:
        raise _fault("empty_file", name, "the compressed file decompresses to 0 bytes")
    if compression and head[:4] == b"PAR1":
        raise _fault("unsupported_format", name, "gzip-compressed Parquet is not supported")
    if compression and is_dicom(head):
        raise _fault("unsupported_format", name, "gzip-compressed DICOM is not supported")
    encoding, bom, text = detect_encoding(head, complete, name)
    if not text.strip():
        raise _fault("empty_file", name, "the file holds only whitespace")
    ext = Path(inner_name(lower)).suffix
    ext_format = JSON_EXTENSIONS.get(ext)
    first = text.lstrip()[:1]
    if ext_format or (ext not in TEXT_EXTENSIONS and first in ("[", "{")):
        fmt, layout, header, rows = _sniff_json(text, complete, ext_format, name)
        return Sniff(
            fmt, compression, encoding, bom, None, header, rows, layout, size, complete, head.isascii()
        )
    first_line = text.split("\n", 1)[0].strip("\r")
    if not first_line.strip():
        raise _fault("no_header", name, "the first line is empty")
    delimiter, records = detect_delimiter(text, complete, name, prefer_tab=ext == ".tsv")
    if not records:
        raise _fault("no_header", name, "no header row could be parsed")
    header = clean_header(records[0])
    if looks_like_data(header):
        hits, values = data_like_count(header)
        raise _fault(
            "no_header",
            name,
            f"the first row looks like data, not a header: {hits} of its {values} non-empty fields are "
            "numbers, dates, times, postcodes or identifiers",
        )
    rows = len(records) - 1
    if rows == 0 and complete:
        raise _fault("header_only", name, "the file has a header but no data rows")
    return Sniff(
        "csv", compression, encoding, bom, delimiter, header, rows, None, size, complete, head.isascii()
    )

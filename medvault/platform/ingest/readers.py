"""Read one file into a DuckDB temp table (a view over the scanned CSV) of text fields plus `_row_number`
and read problems.

Every reader produces the same shape so validation does not care about the format:
`_row_number BIGINT, _read_error VARCHAR, _read_detail VARCHAR, _read_value VARCHAR, <fields...>`
(`_read_error` is `ragged_row` or `malformed_json` for a row that could not be split into fields).

Row numbers (`_row_number`, 1-based):
- CSV/TSV: the ordinal of the data record after the header. A quoted field spanning several lines is
  one record; blank lines are skipped and not counted.
- NDJSON: the physical line number in the file (blank lines are skipped but counted).
- JSON array / concatenated objects: the ordinal of the object.
- Parquet: the file row number + 1.

Files that are not plain UTF-8 (gzip, BOM, UTF-16, cp1252/latin-1) are transcoded to a UTF-8 temp file
first; the encoding is decided on the sniffed sample and the whole file is then decoded with it.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from medvault.platform.ingest import ejson
from medvault.platform.ingest.faults import NOT_THE_FILES_FAULT, FileFault
from medvault.platform.ingest.sniff import DELIMITER_NAMES, Sniff, iter_bytes
from medvault.platform.warehouse.sql import json_path
from medvault.platform.warehouse.sql import quote_ident as qi
from medvault.platform.warehouse.sql import quote_literal as ql

EXTRA_FIELDS = 8  # fields read beyond the header width, to count fields of too-long rows
VALUE_LIMIT = 200
NULL_SENTINEL = "\x02\x03medvault-null\x03\x02"  # never in data: keeps '' and missing fields apart
MAX_OBJECT = 1 << 30


@dataclass
class Field:
    """One field of the file: its name there and SQL giving its text / its JSON text."""

    name: str
    text: str
    json: str


@dataclass
class RawRead:
    table: str
    fields: list[Field]
    rows: int
    encoding: str
    delimiter: str | None
    duplicates: list[str] = field(default_factory=list)

    def find(self, source: str) -> Field | None:
        """The field whose name equals `source` (trimmed, case-insensitive), else a dotted path into a
        JSON-valued field (`facility.name` inside a `facility` column holding JSON)."""
        wanted = source.strip().lower()
        for f in self.fields:
            if f.name.strip().lower() == wanted:
                return f
        parts = source.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            head = ".".join(parts[:cut]).strip().lower()
            for f in self.fields:
                if f.name.strip().lower() == head:
                    v = f"json_extract(TRY_CAST({f.json} AS JSON), {json_path(parts[cut:])})"
                    return Field(source, ejson.scalar_sql(v), ejson.json_text_sql(v))
        return None


def _fault(code: str, name: str, text: str, **kw) -> FileFault:
    return FileFault(code, f"{name}: {text}", **kw)


# ---------------------------------------------------------------------------------------------- text


def _fallbacks(encoding: str, sniffed: Sniff) -> list[str]:
    if encoding == "utf-8" and not sniffed.bom and sniffed.ascii_sample:
        return ["utf-8", "cp1252", "latin-1"]
    if encoding == "cp1252":
        return ["cp1252", "latin-1"]
    return [encoding]


def _validate_utf8(path: Path, name: str) -> int | None:
    """Line number of the first invalid UTF-8 byte (None when valid); NUL bytes are a fault. A chunk of
    plain ASCII needs no decoding (most extracts are): only the others go through the decoder."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    lines = 0
    for chunk in iter_bytes(path, None, name):
        if b"\x00" in chunk:
            raise _fault(
                "undetectable_encoding",
                name,
                f"NUL byte near line {lines + chunk[: chunk.index(0)].count(10) + 1}: binary data",
            )
        if not (chunk.isascii() and not decoder.getstate()[0]):  # ASCII after a complete character is valid
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return lines + chunk[: exc.start].count(b"\n") + 1
        lines += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return lines + 1
    return None


class _BadBytes(Exception):
    def __init__(self, line: int):
        self.line = line


def _transcode(path: Path, sniffed: Sniff, encoding: str, out: Path, name: str) -> None:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    lines = 0
    first = True
    with open(out, "w", encoding="utf-8", newline="") as fh:
        for chunk in iter_bytes(path, sniffed.compression, name):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise _BadBytes(lines + chunk[: exc.start].count(b"\n") + 1) from None
            lines += chunk.count(b"\n")
            if first and text:
                text = text.removeprefix("\ufeff")
                first = False
            if "\x00" in text:
                raise _fault("undetectable_encoding", name, f"NUL character near line {lines}: binary data")
            fh.write(text)
        fh.write(decoder.decode(b"", final=True))


def prepare_text(path: Path, sniffed: Sniff, name: str, workdir: Path) -> tuple[Path, str]:
    """A UTF-8 file DuckDB can read (the original when it already is one) and the encoding used."""
    if sniffed.compression is None and sniffed.encoding == "utf-8" and not sniffed.bom:
        bad_line = _validate_utf8(path, name)
        if bad_line is None:
            return path, "utf-8"
        if not sniffed.ascii_sample:
            raise _fault(
                "undecodable_bytes",
                name,
                f"invalid UTF-8 at line {bad_line} in a file that starts as UTF-8",
                row=None,
            )
    out = workdir / "decoded.txt"
    last_line = 0
    for encoding in _fallbacks(sniffed.encoding, sniffed):
        try:
            _transcode(path, sniffed, encoding, out, name)
            return out, encoding
        except _BadBytes as exc:
            last_line = exc.line
            if encoding == "utf-8" and not sniffed.ascii_sample:
                break
    raise _fault("undecodable_bytes", name, f"cannot decode line {last_line} as {sniffed.encoding}")


def _max_line(path: Path) -> int:
    size = path.stat().st_size
    return int(min(max(size + 1024, 8 << 20), 1 << 30))


# ----------------------------------------------------------------------------------------------- CSV


PARALLEL_LINE = 2 << 20  # the longest line the parallel read accepts; a longer one is read serially


def _csv_options(src: Path, parallel: bool) -> str:
    """Reader options: in parallel, 32 MB buffers (8 MB under 64 MB, so a small file still splits; powers
    of two: DuckDB 2.0 refused a parallel read of one file at some other sizes); serially, one buffer
    large enough for any record, however many lines a quoted field spans."""
    if parallel:
        buffer = 32 << 20 if src.stat().st_size > 64 << 20 else 8 << 20
        return f"parallel = true, max_line_size = {PARALLEL_LINE}, buffer_size = {buffer}"
    max_line = _max_line(src)
    return f"parallel = false, max_line_size = {max_line}, buffer_size = {max(max_line * 2, 32 << 20)}"


def read_csv(con, src: Path, sniffed: Sniff, name: str, raw: str) -> tuple[list[Field], list[str]]:
    """Scan the CSV as text fields, in parallel (in file order, so the row numbers are the serial read's).
    DuckDB refuses a parallel read of a quoted field spanning lines (with `null_padding`, which finds
    ragged rows), and of a line past PARALLEL_LINE: such a file is read again serially."""
    header = sniffed.header
    n = len(header)
    k = n + EXTRA_FIELDS
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(1, k + 1)) + "}"
    scan = f"{raw}__scan"
    for parallel in (True, False):
        try:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {qi(scan)} AS SELECT * FROM read_csv({ql(str(src))}, header = true, "
                f"delim = {ql(sniffed.delimiter or ',')}, quote = '\"', escape = '\"', columns = {columns}, "
                f"all_varchar = true, auto_detect = false, strict_mode = false, null_padding = true, "
                f"nullstr = {ql(NULL_SENTINEL)}, {_csv_options(src, parallel)}, encoding = 'utf-8')"
            )
            break
        except NOT_THE_FILES_FAULT:
            raise  # a stop, memory or the disk: neither a reason to read again nor the file's fault
        except duckdb.Error as exc:
            if not parallel:
                raise _fault(
                    "unreadable_file", name, f"the CSV reader failed: {type(exc).__name__}"
                ) from None
    # Every expression here is flat (one function over a list), never a chain that deepens with the
    # column count: DuckDB refuses expressions nested more than 1,000 deep.
    listed = "[" + ", ".join(f"c{i}" for i in range(1, k + 1)) + "]"
    # null_padding makes a missing field NULL (an empty one is '', the null string is a sentinel), so a
    # row is ragged when its last expected field is missing or a field beyond it is present
    ragged = f"(c{n} IS NULL OR c{n + 1} IS NOT NULL)"
    nf = f"list_aggregate({listed}, 'count')"
    found = f"CASE WHEN {nf} >= {k} THEN 'at least {k}' ELSE CAST({nf} AS VARCHAR) END"
    all_fields = f"array_to_string({listed}, {ql(sniffed.delimiter or ',')})"
    picks = ", ".join(f"c{i}" for i in range(1, n + 1))
    separated = DELIMITER_NAMES.get(sniffed.delimiter or ",", "comma")
    con.execute(
        # a view, not a copy: later steps read only the columns they need, and the one pass that checks
        # the values reads each field once (a copy of every field would cost a third of that pass)
        f"CREATE OR REPLACE TEMP VIEW {qi(raw)} AS SELECT _row_number, "
        f"CASE WHEN ragged THEN 'ragged_row' END AS _read_error, "
        f"CASE WHEN ragged THEN 'expected {n} fields ({separated}-separated), found ' || {found} END AS _read_detail, "
        f"CASE WHEN ragged THEN left({all_fields}, {VALUE_LIMIT}) END AS _read_value, {picks} "
        f"FROM (SELECT rowid + 1 AS _row_number, *, {ragged} AS ragged FROM {qi(scan)})"
    )
    fields, seen, duplicates = [], set(), []
    for i, h in enumerate(header, start=1):
        label = h if h.strip() else f"_col{i}"
        key = label.strip().lower()
        if key in seen:
            duplicates.append(label)
            label = f"{label}_{i}"
        seen.add(key)
        fields.append(Field(label, f"c{i}", f"c{i}"))
    return fields, duplicates


# ---------------------------------------------------------------------------------------------- JSON


def _load_json_docs(con, src: Path, sniffed: Sniff, name: str, raw: str) -> None:
    docs = f"{raw}__docs"
    if sniffed.json_layout == "lines":
        scan = f"{raw}__scan"
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {qi(scan)} AS SELECT * FROM read_csv({ql(str(src))}, header = false, "
            f"columns = {{'line': 'VARCHAR'}}, delim = chr(1), quote = '', escape = '', auto_detect = false, "
            f"strict_mode = false, null_padding = true, parallel = false, max_line_size = {_max_line(src)}, "
            f"buffer_size = {max(_max_line(src) * 2, 32 << 20)}, encoding = 'utf-8')"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {qi(docs)} AS SELECT _row_number, "
            f"CASE WHEN ok THEN CAST(line AS JSON) END AS j, "
            f"CASE WHEN NOT ok THEN 'malformed_json' END AS _read_error, "
            f"CASE WHEN NOT ok THEN CASE WHEN json_valid(line) THEN 'the line is JSON but not an object' "
            f"ELSE 'the line is not valid JSON' END END AS _read_detail, "
            f"CASE WHEN NOT ok THEN left(line, {VALUE_LIMIT}) END AS _read_value "
            f"FROM (SELECT rowid + 1 AS _row_number, line, "
            f"coalesce(json_valid(line) AND starts_with(ltrim(line), '{{'), false) AS ok FROM {qi(scan)}) "
            f"WHERE line IS NOT NULL AND trim(line) <> ''"
        )
        con.execute(f"DROP TABLE IF EXISTS {qi(scan)}")
        return
    fmt = "array" if sniffed.json_layout == "array" else "unstructured"
    scan = f"{raw}__scan"
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {qi(scan)} AS SELECT json FROM read_json_objects({ql(str(src))}, "
            f"format = '{fmt}', maximum_object_size = {MAX_OBJECT})"
        )
    except duckdb.Error:
        raise _fault("not_json", name, "malformed JSON document") from None
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {qi(docs)} AS SELECT rowid + 1 AS _row_number, CAST(json AS JSON) AS j, "
        f"NULL::VARCHAR AS _read_error, NULL::VARCHAR AS _read_detail, NULL::VARCHAR AS _read_value FROM {qi(scan)}"
    )
    con.execute(f"DROP TABLE IF EXISTS {qi(scan)}")
    bad = con.execute(f"SELECT count(*) FROM {qi(docs)} WHERE json_type(j) <> 'OBJECT'").fetchall()[0][0]
    if bad:
        raise _fault("not_json", name, f"{bad} top-level values are not JSON objects")


def _keys_at(con, docs: str, prefix: tuple[str, ...]) -> list[str]:
    target = "j" if not prefix else f"json_extract(j, {json_path(prefix)})"
    rows = con.execute(
        f"SELECT k FROM (SELECT _row_number, unnest(json_keys({target})) AS k FROM {qi(docs)} "
        f"WHERE j IS NOT NULL AND json_type({target}) = 'OBJECT') GROUP BY k ORDER BY min(_row_number), k"
    ).fetchall()
    keys = [r[0] for r in rows]
    return [k for k in keys if not k.startswith("$")]


def read_json(con, src: Path, sniffed: Sniff, name: str, raw: str, wanted: list[str]) -> list[Field]:
    _load_json_docs(con, src, sniffed, name, raw)
    docs = f"{raw}__docs"
    prefixes = set()
    for source in wanted:
        parts = [p.lower() for p in source.split(".")]
        for i in range(1, len(parts)):
            prefixes.add(tuple(parts[:i]))
    paths: list[tuple[str, ...]] = []

    def walk(prefix: tuple[str, ...]) -> None:
        for key in _keys_at(con, docs, prefix):
            path = (*prefix, key)
            paths.append(path)
            if tuple(p.lower() for p in path) in prefixes:
                walk(path)

    walk(())
    if paths:
        extracted = "json_extract(j, [" + ", ".join(json_path(p) for p in paths) + "])"
        picks = ", ".join(f"x[{i}] AS f{i}" for i in range(1, len(paths) + 1))
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {qi(raw)} AS SELECT _row_number, _read_error, _read_detail, _read_value, "
            f"{picks} FROM (SELECT *, {extracted} AS x FROM {qi(docs)})"
        )
    else:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {qi(raw)} AS SELECT _row_number, _read_error, _read_detail, _read_value "
            f"FROM {qi(docs)}"
        )
    con.execute(f"DROP TABLE IF EXISTS {qi(docs)}")
    return [
        Field(".".join(p), ejson.scalar_sql(f"f{i}"), ejson.json_text_sql(f"f{i}"))
        for i, p in enumerate(paths, start=1)
    ]


# ------------------------------------------------------------------------------------------- Parquet


def read_parquet(con, src: Path, name: str, raw: str) -> list[Field]:
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({ql(str(src))})").fetchall()
    except duckdb.Error:
        raise _fault("unreadable_file", name, "is not a readable Parquet file") from None
    picks, fields = [], []
    for i, (column, ctype, *_rest) in enumerate(described, start=1):
        nested = "(" in ctype or ctype.endswith("]")
        expr = f"CAST(to_json({qi(column)}) AS VARCHAR)" if nested else f"CAST({qi(column)} AS VARCHAR)"
        picks.append(f"{expr} AS c{i}")
        fields.append(Field(column, f"c{i}", f"c{i}"))
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {qi(raw)} AS SELECT file_row_number + 1 AS _row_number, "
            f"NULL::VARCHAR AS _read_error, NULL::VARCHAR AS _read_detail, NULL::VARCHAR AS _read_value, "
            f"{', '.join(picks)} FROM read_parquet({ql(str(src))}, file_row_number = true)"
        )
    except duckdb.Error:
        raise _fault(
            "unreadable_file", name, "the Parquet reader failed (corrupt or unsupported file)"
        ) from None
    return fields


# ---------------------------------------------------------------------------------------------- entry


def read_raw(
    con, path: Path, sniffed: Sniff, name: str, raw: str, wanted: list[str], workdir: Path
) -> RawRead:
    """Read `path` into TEMP table or view `raw` (see module docstring); raise FileFault for file-level
    faults."""
    if sniffed.format == "parquet":
        fields = read_parquet(con, path, name, raw)
        encoding, duplicates = "binary", []
    elif sniffed.format in ("json", "ndjson"):
        src, encoding = prepare_text(path, sniffed, name, workdir)
        fields = read_json(con, src, sniffed, name, raw, wanted)
        duplicates = []
    elif sniffed.format == "csv":
        src, encoding = prepare_text(path, sniffed, name, workdir)
        fields, duplicates = read_csv(con, src, sniffed, name, raw)
    else:
        raise _fault("unsupported_format", name, f"{sniffed.format} files are not read into rows here")
    rows = con.execute(f"SELECT count(*) FROM {qi(raw)}").fetchall()[0][0]
    return RawRead(raw, fields, rows, encoding, sniffed.delimiter, duplicates)

"""`load_file`: one file -> typed TEMP tables of good rows, rejected problems and exploded children.

Steps (all set-based SQL on the caller's DuckDB connection):
1. sniff (unless given) and read the file into a raw text table (`readers.py`);
2. file-level checks: zero rows, every row unreadable, wrong delimiter, duplicate or missing required
   columns -> `FileFault`;
3. map header names (trimmed, case-insensitive) to the rule's `source` names; undeclared fields are
   reported in `extra_columns` with an inferred type and kept, typed, in the `_extras` JSON column
   (`infer.py`); they never reject a row;
4. clean, type and validate every declared column in one pass (`coerce.py`, `validate.py`);
5. explode JSON array children and validate their columns; a bad child rejects its parent row;
6. reject key duplicates among otherwise good rows (latest modified, then last row, is kept);
7. write `target` (a view over `target__checked`), `target__rejected` and `target__<child>`.

`drop_loaded(con, target, children)` drops them all when the caller is done.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from medvault.platform.ingest import ejson
from medvault.platform.ingest.coerce import sql_type
from medvault.platform.ingest.explode import child_columns, explode
from medvault.platform.ingest.faults import FileFault
from medvault.platform.ingest.identify import COMPATIBLE, SEPARATORS, norm
from medvault.platform.ingest.infer import extras_table, infer_types
from medvault.platform.ingest.readers import read_raw
from medvault.platform.ingest.sniff import Sniff, sniff
from medvault.platform.ingest.validate import check, duplicates_sql, kept_value_sql, rejects_sql
from medvault.platform.rules.models import SourceDef, TableDef
from medvault.platform.warehouse.sql import quote_ident as qi
from medvault.platform.warehouse.sql import quote_literal as ql

REJECTED_COLUMNS = '(row_number BIGINT, "column" VARCHAR, value VARCHAR, reason_code VARCHAR, reason VARCHAR)'


@dataclass
class LoadResult:
    rows_received: int
    rows_loaded: int
    rows_rejected: int
    extra_columns: dict[str, str] = field(default_factory=dict)
    children: dict[str, int] = field(default_factory=dict)
    encoding: str = "utf-8"
    delimiter: str | None = None
    missing_columns: list[str] = field(default_factory=list)  # optional declared columns absent from the file
    problems: dict[str, int] = field(default_factory=dict)  # reason_code -> number of rejected-table rows
    format: str = ""


def _fault(code: str, name: str, text: str, **kw) -> FileFault:
    return FileFault(code, f"{name}: {text}", **kw)


def load_file(
    con,
    path: Path,
    source: SourceDef,
    table: TableDef,
    target: str,
    *,
    sniffed: Sniff | None = None,
    name: str | None = None,
    rejected_values: str = "keep",
) -> LoadResult:
    """Load one file into TEMP view `target` and tables `target__rejected` and `target__<child>` (see module
    doc); the caller drops them with `drop_loaded`.

    `name` is the file name used in fault messages (defaults to the path's name); `rejected_values` what
    the rejected rows keep of ordinary columns' values (`kept_value_sql`).
    """
    path = Path(path)
    name = name or path.name
    sniffed = sniffed or sniff(path, name)
    if sniffed.format == "dicom":
        raise _fault(
            "unsupported_format", name, "DICOM files are handled by the DICOM pipeline, not load_file"
        )
    if source.format not in COMPATIBLE.get(sniffed.format, {sniffed.format}):
        raise _fault(
            "unsupported_format",
            name,
            f"the file is {sniffed.format} but {source.system}/{source.version} is {source.format}",
        )
    prefix = f"_mv_{target}"
    temps: list[str] = []

    def temp(suffix: str) -> str:
        temps.append(f"{prefix}_{suffix}")
        return temps[-1]

    # The MongoDB extended-JSON fallback UDF is only needed for JSON documents.
    registered = ejson.register(con) if sniffed.format in ("json", "ndjson") else False
    try:
        raw_t = temp("raw")
        with tempfile.TemporaryDirectory(prefix="medvault-ingest-") as workdir:
            raw = read_raw(con, path, sniffed, name, raw_t, [c.source for c in table.columns], Path(workdir))
        temps.extend([f"{raw_t}__scan", f"{raw_t}__docs"])
        if raw.rows == 0:
            if sniffed.format == "csv":
                raise _fault("header_only", name, "the file has a header but no data rows")
            raise _fault("zero_rows", name, "the file holds no records")
        unreadable = con.execute(
            f"SELECT count(*) FROM {qi(raw_t)} WHERE _read_error IS NOT NULL"
        ).fetchall()[0][0]
        if unreadable == raw.rows:
            if sniffed.format == "csv":
                raise _fault(
                    "ragged_file",
                    name,
                    f"every one of the {raw.rows} data rows has a different field count than the header",
                )
            raise _fault("not_json", name, f"none of the {raw.rows} lines is a JSON object")

        mapped = _map_columns(raw, sniffed, table, name)
        used = {f.name for f in mapped.values() if f is not None}
        extras = [
            f
            for f in raw.fields
            if f.name not in used and not any(u.lower().startswith(f.name.lower() + ".") for u in used)
        ]
        extra_types = infer_types(con, raw_t, {f.name: f.text for f in extras}, where="_read_error IS NULL")

        columns = []
        for col in table.columns:
            f = mapped[col.name]
            columns.append(
                (col, "CAST(NULL AS VARCHAR)" if f is None else (f.json if col.type == "json" else f.text))
            )
        source, carry = qi(raw_t), ["_row_number", "_read_error", "_read_detail", "_read_value"]
        if extras:  # the undeclared values, typed, as one JSON object per row (carried through the checks)
            extras_t = temp("extras")
            extras_table(con, raw_t, extras_t, {f.name: (f.text, f.json) for f in extras}, extra_types)
            source = f"(SELECT * FROM {qi(raw_t)} JOIN {qi(extras_t)} USING (_row_number))"
            carry.append("_extras")
        chk = f"{target}__checked"  # kept after the load: `target` is a view over it
        checked = check(con, source, chk, columns, carry=carry)
        parts = [
            # a whole line (a ragged row, a malformed JSON line) can hold any column: only its hash is kept
            f'SELECT _row_number AS row_number, CAST(NULL AS VARCHAR) AS "column", '
            f"{kept_value_sql('_read_value', True, rejected_values)} AS value, "
            f"_read_error AS reason_code, _read_detail AS reason FROM {qi(chk)} WHERE _read_error IS NOT NULL",
            *rejects_sql(
                checked, lambda i, c: ql(c.name), where="_read_error IS NULL", policy=rejected_values
            ),
        ]
        child_checked = {}
        index = {c.name: i for i, c in enumerate(table.columns)}
        for child in table.children:
            exploded = temp(f"x_{child.name}")
            explode(con, chk, checked.t(index[child.array]), exploded, eligible="_read_error IS NULL")
            cc = check(
                con,
                qi(exploded),
                temp(f"c_{child.name}"),
                child_columns(child),
                carry=["_row_number", "line_no"],
            )
            child_checked[child.name] = cc
            parts += rejects_sql(
                cc,
                lambda i, c, n=child.name: f"'{n}[' || CAST(line_no AS VARCHAR) || '].{c.name}'",
                policy=rejected_values,
            )
        problems = temp("problems")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {qi(problems)} AS " + " UNION ALL ".join(parts))

        rejected = f"{target}__rejected"
        dup = duplicates_sql(
            checked,
            table.key,
            table.modified,
            eligible=f"_read_error IS NULL AND _row_number NOT IN (SELECT row_number FROM {qi(problems)})",
            policy=rejected_values,
        )
        union = f"SELECT * FROM {qi(problems)}" + (f" UNION ALL {dup}" if dup else "")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {qi(rejected)} {REJECTED_COLUMNS}")
        con.execute(
            f'INSERT INTO {qi(rejected)} SELECT * FROM ({union}) ORDER BY row_number, "column" NULLS FIRST'
        )

        picks = ", ".join(
            f"CAST({checked.t(i)} AS {sql_type(c.type)}) AS {qi(c.name)}" for i, c in enumerate(table.columns)
        )
        extras_pick = "_extras" if extras else "CAST(NULL AS JSON)"
        bad_rows = f"(SELECT DISTINCT row_number FROM {qi(rejected)})"
        # a view: its rows are read once each by the profile, the newest modified time and the insert,
        # cheaper than a third copy of the file's values (the casts are the checked table's own types)
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {qi(target)} AS SELECT {picks}, {extras_pick} AS _extras, "
            f"CAST(_row_number AS BIGINT) AS _row_number "
            f"FROM {qi(chk)} c ANTI JOIN {bad_rows} r ON c._row_number = r.row_number"
        )

        children = {}
        for child in table.children:
            cc = child_checked[child.name]
            keys = [k for k in table.key]
            key_sql = "".join(f"p.{qi(k)}, " for k in keys)
            cols = ", ".join(
                f"CAST(c.{cc.t(i)} AS {sql_type(col.type)}) AS {qi(col.name)}"
                for i, col in enumerate(cc.columns)
                if col.name not in keys and col.name not in ("line_no", "_row_number")
            )
            out = f"{target}__{child.name}"
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {qi(out)} AS SELECT {key_sql}CAST(c.line_no AS INTEGER) AS line_no"
                f"{', ' + cols if cols else ''}, CAST(c._row_number AS BIGINT) AS _row_number "
                f"FROM {qi(cc.table)} c JOIN {qi(target)} p ON p._row_number = c._row_number "
                f"ORDER BY c._row_number, c.line_no"
            )
            children[child.name] = con.execute(f"SELECT count(*) FROM {qi(out)}").fetchall()[0][0]

        loaded = con.execute(f"SELECT count(*) FROM {qi(target)}").fetchall()[0][0]
        n_rejected = con.execute(f"SELECT count(DISTINCT row_number) FROM {qi(rejected)}").fetchall()[0][0]
        by_code = dict(
            con.execute(f"SELECT reason_code, count(*) FROM {qi(rejected)} GROUP BY 1 ORDER BY 1").fetchall()
        )
        if loaded + n_rejected != raw.rows:  # internal invariant; a bug here must not pass silently
            raise AssertionError(
                f"{name}: received {raw.rows} rows but loaded {loaded} + rejected {n_rejected}"
            )
        return LoadResult(
            rows_received=raw.rows,
            rows_loaded=loaded,
            rows_rejected=n_rejected,
            extra_columns={f.name: extra_types[f.name] for f in extras},
            children=children,
            encoding=raw.encoding,
            delimiter=raw.delimiter,
            missing_columns=[c.name for c in table.columns if mapped[c.name] is None],
            problems=by_code,
            format=sniffed.format,
        )
    except BaseException:
        drop_loaded(con, target, [c.name for c in table.children])
        raise
    finally:
        _drop(con, temps)
        if registered:
            ejson.unregister(con)


def drop_loaded(con, target: str, children: list[str]) -> None:
    """Drop what `load_file` left for its caller: the view, the checked rows it reads, the rejects and
    the children's tables."""
    suffixes = ["", "__checked", "__rejected", *(f"__{c}" for c in children)]
    _drop(con, [target + suffix for suffix in suffixes])


def _drop(con, names: list[str]) -> None:
    """Drop intermediate temp views/tables (views first: they read the tables)."""
    existing = dict(
        con.execute(
            "SELECT view_name, 'VIEW' FROM duckdb_views() WHERE temporary "
            "UNION ALL SELECT table_name, 'TABLE' FROM duckdb_tables() WHERE temporary"
        ).fetchall()
    )
    for kind in ("VIEW", "TABLE"):
        for n in names:
            if existing.get(n) == kind:
                con.execute(f"DROP {kind} IF EXISTS {qi(n)}")


def _map_columns(raw, sniffed: Sniff, table: TableDef, name: str) -> dict:
    """Declared column name -> raw Field (None when an optional column is absent); faults otherwise."""
    if (
        sniffed.format == "csv"
        and len(raw.fields) == 1
        and len(table.columns) > 1
        and any(ch in raw.fields[0].name for ch in SEPARATORS)
    ):
        raise _fault(
            "wrong_delimiter",
            name,
            f"the header is one column containing separator characters but {table.name} expects "
            f"{len(table.columns)} columns",
        )
    duplicated = {norm(d) for d in raw.duplicates}
    for col in table.columns:
        if norm(col.source) in duplicated:
            raise _fault(
                "duplicate_column",
                name,
                f"column {col.source} appears more than once in the header",
                column=col.source,
            )
    mapped = {col.name: raw.find(col.source) for col in table.columns}
    missing = [col.source for col in table.columns if col.required and mapped[col.name] is None]
    missing += [d for d in table.distinguishing if raw.find(d) is None and d not in missing]
    if missing:
        raise _fault(
            "missing_required_column",
            name,
            f"required column(s) {', '.join(missing)} of {table.name} not in the file",
            column=missing[0],
        )
    return mapped

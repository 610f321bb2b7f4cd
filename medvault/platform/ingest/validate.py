"""Validate typed columns in one set-based pass and list every problem as a rejected-row record.

`check` creates a table with, per declared column i, the cleaned text `s{i}` (for a text column, the
typed value `t{i}` is that text and `s{i}` is not stored), the typed value `t{i}` and the first failing
rule `p{i}` (NULL when the value is fine), in this order of checks:
required_missing -> bad_type/bad_date -> pattern_mismatch -> not_allowed -> out_of_range.
`rejects_sql` turns the problem columns into rows of (row_number, column, value, reason_code, reason);
`duplicates_sql` rejects all but the latest row per key (latest modified value, then the last row).
"""

from __future__ import annotations

from dataclasses import dataclass

from medvault.platform.ingest.coerce import clean_sql, literal_sql, sql_type, typed_sql
from medvault.platform.rules.models import ColumnDef
from medvault.platform.warehouse.sql import quote_ident as qi
from medvault.platform.warehouse.sql import quote_literal as ql

VALUE_LIMIT = 200
DATE_HINT = {
    "date": "YYYY-MM-DD, YYYYMMDD or DD/MM/YYYY",
    "timestamp": "ISO 8601 (optional T, fraction, Z or offset), YYYYMMDDHHMMSS or DD/MM/YYYY HH:MM[:SS]",
}


@dataclass
class Checked:
    table: str
    columns: list[ColumnDef]

    def s(self, i: int) -> str:
        """The cleaned text; of a text column that is its typed value (stored once, not twice)."""
        return self.t(i) if self.columns[i].type == "varchar" else qi(f"s{i}")

    def t(self, i: int) -> str:
        return qi(f"t{i}")

    def p(self, i: int) -> str:
        return qi(f"p{i}")


def literal_problem(con, col: ColumnDef, what: str, text: str) -> str | None:
    """Why a rule literal (min, max, an allowed value) cannot be read as its column's type, or None.
    The rules check asks the same question staging does, so what passes the check stages."""
    if con.execute(f"SELECT {literal_sql(col.type, text)} IS NULL").fetchall()[0][0]:
        return f"{what} {text!r} is not a valid {col.type}"
    return None


def _check_literal(con, col: ColumnDef, what: str, text: str) -> str:
    problem = literal_problem(con, col, what, text)
    if problem:
        raise ValueError(f"rule column {col.name!r}: {problem}")
    return literal_sql(col.type, text)


def problem_sql(con, col: ColumnDef, s: str, t: str) -> str:
    """CASE expression giving the first failing rule's reason code for column `col`."""
    whens = []
    if col.required:
        whens.append(f"WHEN {s} IS NULL THEN 'required_missing'")
    if col.type != "varchar":
        code = "bad_date" if col.type in ("date", "timestamp") else "bad_type"
        whens.append(f"WHEN {s} IS NOT NULL AND {t} IS NULL THEN '{code}'")
    if col.pattern:
        whens.append(
            f"WHEN {s} IS NOT NULL AND NOT regexp_full_match({s}, {ql(col.pattern)}) THEN 'pattern_mismatch'"
        )
    if col.allowed is not None:
        values = list(col.allowed)
        if col.case == "upper":
            values = [v.upper() for v in values]
        elif col.case == "lower":
            values = [v.lower() for v in values]
        if col.type == "varchar":
            items = ", ".join(ql(v) for v in values) or "NULL"
            whens.append(f"WHEN {s} IS NOT NULL AND {s} NOT IN ({items}) THEN 'not_allowed'")
        else:
            items = ", ".join(_check_literal(con, col, "allowed value", v) for v in values) or "NULL"
            whens.append(f"WHEN {t} IS NOT NULL AND {t} NOT IN ({items}) THEN 'not_allowed'")
    if col.min is not None:
        whens.append(
            f"WHEN {t} IS NOT NULL AND {t} < {_check_literal(con, col, 'min', col.min)} THEN 'out_of_range'"
        )
    if col.max is not None:
        whens.append(
            f"WHEN {t} IS NOT NULL AND {t} > {_check_literal(con, col, 'max', col.max)} THEN 'out_of_range'"
        )
    if not whens:
        return "CAST(NULL AS VARCHAR)"
    return "CASE " + " ".join(whens) + " END"


def reason_sql(col: ColumnDef, p: str) -> str:
    """Human reason per code for column `col`; rule text only, never the value."""
    allowed = ", ".join((col.allowed or ())[:12]) + (" ..." if col.allowed and len(col.allowed) > 12 else "")
    bounds = f"[{col.min if col.min is not None else '-inf'}, {col.max if col.max is not None else '+inf'}]"
    texts = {
        "required_missing": f"required column {col.name} is empty or absent",
        "bad_type": f"{col.name}: not a valid {col.type}",
        "bad_date": f"{col.name}: not a valid {col.type} (accepted: {DATE_HINT.get(col.type, '')})",
        "pattern_mismatch": f"{col.name}: does not match pattern {col.pattern}",
        "not_allowed": f"{col.name}: not one of the allowed values ({allowed})",
        "out_of_range": f"{col.name}: outside the allowed range {bounds}",
    }
    return "CASE " + " ".join(f"WHEN {p} = {ql(k)} THEN {ql(v)}" for k, v in texts.items()) + " END"


def check(con, source: str, out: str, columns: list[tuple[ColumnDef, str]], carry: list[str]) -> Checked:
    """CREATE TEMP TABLE `out` from `source` with carried columns plus s{i}/t{i}/p{i} per column.

    `columns` pairs each ColumnDef with the SQL expression of its raw text over `source`.
    """
    carried = ", ".join(carry)
    # raw expressions (JSON extraction can be long) appear once, in their own projection: planning time
    # grows fast with repeated large sub-expressions
    raws = ", ".join(f"{raw} AS {qi(f'r{i}')}" for i, (_, raw) in enumerate(columns))
    cleaned = ", ".join(
        f"{clean_sql(col, qi(f'r{i}'))} AS {qi(f's{i}')}" for i, (col, _) in enumerate(columns)
    )
    typed = ", ".join(
        f"CAST({typed_sql(col.type, qi(f's{i}'))} AS {sql_type(col.type)}) AS {qi(f't{i}')}"
        for i, (col, _) in enumerate(columns)
    )
    problems = ", ".join(
        f"{problem_sql(con, col, qi(f's{i}'), qi(f't{i}'))} AS {qi(f'p{i}')}"
        for i, (col, _) in enumerate(columns)
    )
    sep = ", " if columns else ""
    # a text column's cleaned and typed values are the same string: only t{i} is stored
    texts = [qi(f"s{i}") for i, (col, _) in enumerate(columns) if col.type == "varchar"]
    kept = f"* EXCLUDE ({', '.join(texts)})" if texts else "*"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {qi(out)} AS "
        f"WITH r AS (SELECT {carried}{sep}{raws} FROM {source}), "
        f"a AS (SELECT {carried}{sep}{cleaned} FROM r), "
        f"b AS (SELECT *{sep}{typed} FROM a), "
        f"c AS (SELECT *{sep}{problems} FROM b) "
        f"SELECT {kept} FROM c"
    )
    return Checked(out, [c for c, _ in columns])


def kept_value_sql(text: str, pii: bool, policy: str = "keep") -> str:
    """What `ops.rejected_rows.value` keeps of a rejected value: the value (cut to VALUE_LIMIT) for
    ordinary columns; for patient identifiers and whole lines only a hash and the length, enough to match
    a value someone holds without storing it. `policy` (MEDVAULT_REJECTED_VALUES) can keep ordinary
    columns to a hash too ("hash"), or keep no value at all ("none")."""
    if policy == "none":
        return "CAST(NULL AS VARCHAR)"
    if not pii and policy == "keep":
        return f"left(CAST({text} AS VARCHAR), {VALUE_LIMIT})"
    t = f"CAST({text} AS VARCHAR)"
    return f"CASE WHEN {t} IS NOT NULL THEN 'sha256:' || left(sha256({t}), 16) || ' (' || length({t}) || ' chars)' END"


def rejects_sql(checked: Checked, label, where: str = "TRUE", policy: str = "keep") -> list[str]:
    """SELECTs of (row_number, column, value, reason_code, reason), one per column with problems.

    `label(i, col)` gives the SQL expression of the "column" value (a child adds its line number).
    """
    out = []
    for i, col in enumerate(checked.columns):
        p = checked.p(i)
        out.append(
            f'SELECT _row_number AS row_number, {label(i, col)} AS "column", '
            f"{kept_value_sql(checked.s(i), col.pii, policy)} AS value, {p} AS reason_code, "
            f"{reason_sql(col, p)} AS reason FROM {qi(checked.table)} WHERE {p} IS NOT NULL AND {where}"
        )
    return out


def duplicates_sql(
    checked: Checked, key: tuple[str, ...], modified: str | None, eligible: str, policy: str = "keep"
) -> str | None:
    """SELECT of duplicate_key rejects among `eligible` rows: keep the latest modified, then the last row."""
    if not key:
        return None
    index = {c.name: i for i, c in enumerate(checked.columns)}
    keys = [checked.t(index[k]) for k in key]
    order = []
    if modified:
        order.append(f"{checked.t(index[modified])} DESC NULLS LAST")
    order.append("_row_number DESC")
    window = f"PARTITION BY {', '.join(keys)} ORDER BY {', '.join(order)}"
    value = "concat_ws('|', " + ", ".join(f"CAST({checked.s(index[k])} AS VARCHAR)" for k in key) + ")"
    pii = any(checked.columns[index[k]].pii for k in key)
    label = ql(",".join(key))
    why = (
        "key also on row ' || CAST(kept AS VARCHAR) || ', which is kept ("
        + ("latest modified, then " if modified else "")
        + "last row)"
    )
    # the window (a sort per key) runs only over the rows whose key repeats, found by a hash aggregate:
    # most extracts repeat no key, and then the window has nothing to sort
    names = [f"k{n}" for n in range(len(keys))]
    repeated = (
        f"SELECT {', '.join(f'{k} AS {n}' for k, n in zip(keys, names, strict=True))} FROM {qi(checked.table)} "
        f"WHERE {eligible} GROUP BY ALL HAVING count(*) > 1"
    )
    same_key = " AND ".join(f"d.{n} IS NOT DISTINCT FROM c.{k}" for k, n in zip(keys, names, strict=True))
    return (
        f'SELECT _row_number AS row_number, {label} AS "column", {kept_value_sql(value, pii, policy)} AS value, '
        f"'duplicate_key' AS reason_code, '{why}' AS reason FROM ("
        f"SELECT *, row_number() OVER ({window}) AS rn, first_value(_row_number) OVER ({window}) AS kept "
        f"FROM {qi(checked.table)} c SEMI JOIN ({repeated}) d ON {same_key} WHERE {eligible}) WHERE rn > 1"
    )

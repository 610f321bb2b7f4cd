"""`references:` in rules/vault/*.yaml: code lists (modalities, ICD-10 chapters, ...) the vault keeps as
reference tables, given inline as rows or as a CSV file next to the rules.

    references:
      ref_modality:
        description: DICOM modality codes.
        key: code
        columns: [code, meaning]
        csv: reference/modalities.csv      # relative to rules/vault/; its header is the columns
      ref_sex:
        key: code
        columns: [code, meaning]
        rows: [[F, female], [M, male]]
"""

from __future__ import annotations

import csv
from pathlib import Path

from medvault.platform.rules.models import ReferenceDef
from medvault.platform.rules.reading import Ctx


def _csv_rows(ctx: Ctx, path: Path, columns: tuple[str, ...], key: str) -> list[list[str]]:
    if not path.is_file():
        ctx.fail(f"{key}.csv", f"{path.name}: no such file next to the rules")
        return []
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, [])
        if tuple(h.strip() for h in header) != columns:
            ctx.fail(f"{key}.csv", f"{path.name}: header {header} is not the columns {list(columns)}")
            return []
        return [row for row in reader if row]


SITE_REFERENCE = "ref_site"


def site_reference(sites: dict) -> ReferenceDef:
    """sites.yaml as the reference table `vault.ref_site`, so marts can report in each site's local time
    (`ts AT TIME ZONE 'UTC' AT TIME ZONE r.timezone`) and show its display name."""
    rows = tuple(
        (s.code, s.name, s.country, s.timezone) for s in sorted(sites.values(), key=lambda s: s.code)
    )
    return ReferenceDef(
        SITE_REFERENCE,
        "code",
        ("code", "name", "country", "timezone"),
        rows,
        "The sites of sites.yaml: code, display name, country and IANA timezone (made from the rules).",
    )


def read_references(ctx: Ctx, data: dict, folder: Path, into: dict[str, ReferenceDef]) -> None:
    for name, raw in ctx.mapping(data.get("references") or {}, "references").items():
        key = f"references.{name}"
        item = ctx.mapping(raw, key)
        ctx.unknown(item, {"description", "key", "columns", "rows", "csv"}, key)
        ctx.identifier(str(name), key)
        if not str(name).startswith("ref_"):
            ctx.fail(key, "reference table names start with ref_")
        columns = tuple(str(c) for c in ctx.seq(item.get("columns"), f"{key}.columns"))
        for c in columns:
            ctx.identifier(c, f"{key}.columns")
        code = ctx.text(item, "key", key)
        if code is not None and code not in columns:
            ctx.fail(f"{key}.key", f"{code!r} is not one of the columns")
        if ("rows" in item) == ("csv" in item):
            ctx.fail(key, "give either rows or csv")
            rows: list = []
        elif "csv" in item:
            rows = _csv_rows(ctx, folder / str(item["csv"]), columns, key)
        else:
            rows = ctx.seq(item.get("rows"), f"{key}.rows")
        if not rows and ("rows" in item) != ("csv" in item):
            ctx.fail(key, "a reference table needs at least one row")
        clean: list[tuple[str, ...]] = []
        for n, row in enumerate(rows):
            if not isinstance(row, list) or len(row) != len(columns):
                ctx.fail(f"{key}.rows[{n}]", f"expected {len(columns)} values ({', '.join(columns)})")
                continue
            clean.append(tuple("" if v is None else str(v).strip() for v in row))
        if code in columns:
            at = columns.index(code)
            seen: set[str] = set()
            for n, row in enumerate(clean):
                if row[at] in seen:
                    ctx.fail(f"{key}.rows[{n}]", f"{code} {row[at]!r} appears twice")
                seen.add(row[at])
        if name in into:
            ctx.fail(key, f"reference {name!r} is declared twice")
        into[str(name)] = ReferenceDef(
            str(name),
            code or "",
            columns,
            tuple(clean),
            ctx.text(item, "description", key, required=False, default=""),
        )

"""Which source system, version and table a file belongs to.

File names narrow the candidates, the header decides: a table fits when every required source column
and every distinguishing column of its version is in the header. Among fitting tables the best
overlap (Jaccard of header and declared source names, then the number of matched columns) wins; a
tie between different definitions is ambiguous. Files get renamed in real life, so when no
name-matched table fits, every table is tried by header and the reasons say so.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

from medvault.platform.ingest.cells import is_data_like, shown_name
from medvault.platform.ingest.faults import FileFault
from medvault.platform.ingest.sniff import Sniff, inner_name, sniff
from medvault.platform.rules.models import Rules, SourceDef, TableDef

SEPARATORS = (";", "|", "\t", ":", ",", "^", "~")
COMPATIBLE = {
    "csv": {"csv"},
    "json": {"json", "ndjson"},
    "ndjson": {"json", "ndjson"},
    "parquet": {"parquet", "csv"},  # a tabular (CSV) source takes the same table as Parquet: columns by name
}


@dataclass
class Identification:
    system: str
    version: str
    table: str
    format: str
    score: float
    reasons: list[str] = field(default_factory=list)
    candidates: list[dict] = field(default_factory=list)


DICOM_SUFFIXES = (".dcm", ".dicom")


def _not_dicom(name: str) -> FileFault:
    return FileFault(
        "not_dicom",
        f"{name}: named as a DICOM image but its bytes are not DICOM (no preamble and DICM, no file meta group)",
    )


def norm(name: str) -> str:
    """Header names are matched trimmed and case-insensitively."""
    return name.strip().strip("\ufeff").strip().lower()


def name_matches(name: str, table: TableDef) -> bool:
    base = Path(name).name.lower()
    bases = {base, inner_name(base)}
    for pattern in table.files:
        p = pattern.lower()
        if any(fnmatch.fnmatchcase(b, p) or fnmatch.fnmatchcase(b, p + ".gz") for b in bases):
            return True
    return False


def _evaluate(source: SourceDef, table: TableDef, header_map: dict[str, str], name: str) -> dict:
    """Fit of one table to the header; names are reported as declared / as written in the file."""
    header = set(header_map)
    spelled = {norm(c.source): c.source for c in table.columns} | {norm(d): d for d in table.distinguishing}
    declared = {norm(c.source) for c in table.columns}
    required = {norm(c.source) for c in table.columns if c.required}
    distinguishing = {norm(d) for d in table.distinguishing}
    present = declared & header
    union = declared | header
    missing_required = sorted(spelled[m] for m in required - header)
    missing_distinguishing = sorted(spelled[m] for m in distinguishing - header)
    unexpected = sorted(header_map[u] for u in header - declared)
    score = len(present) / len(union) if union else 0.0
    return {
        "system": source.system,
        "version": source.version,
        "table": table.name,
        "format": source.format,
        "score": round(score, 4),
        "matched": len(present),
        "declared": len(declared),
        "name_match": name_matches(name, table),
        "missing_required": missing_required,
        "missing_distinguishing": missing_distinguishing,
        "unexpected": unexpected[:20],
        "fits": bool(present) and not missing_required and not missing_distinguishing,
        "_exact": score,
    }


def _describe(c: dict) -> str:
    parts = [f"{c['system']}/{c['version']}/{c['table']} (score {c['score']:.2f}"]
    if c["missing_required"]:
        parts.append(f"missing required: {', '.join(c['missing_required'])}")
    if c["missing_distinguishing"]:
        parts.append(f"missing distinguishing: {', '.join(c['missing_distinguishing'])}")
    if c["unexpected"]:
        parts.append(f"unexpected: {', '.join(c['unexpected'][:8])}")
    return "; ".join(parts) + ")"


def _public(c: dict) -> dict:
    return {k: v for k, v in c.items() if not k.startswith("_")}


def _dicom(rules: Rules) -> Identification:
    for s in rules.sources:
        if s.format == "dicom":
            table = s.tables[0].name if s.tables else "instances"
            return Identification(s.system, s.version, table, "dicom", 1.0, ["DICOM magic bytes"], [])
    return Identification(
        "dicom", "v1", "instances", "dicom", 1.0, ["DICOM magic bytes (no dicom source in rules)"], []
    )


def identify(path: Path, name: str, rules: Rules, sniffed: Sniff | None = None) -> Identification:
    """Identify system/version/table of a file, or raise FileFault unknown_source / ambiguous_source."""
    named_dicom = name.lower().endswith(DICOM_SUFFIXES)
    try:
        sniffed = sniffed or sniff(Path(path), name)
    except FileFault as fault:
        if named_dicom and fault.code != "empty_file":
            raise _not_dicom(name) from None
        raise
    if sniffed.format == "dicom":
        return _dicom(rules)
    if named_dicom:  # DICOM is detected by content: a CSV renamed .dcm is not an image
        raise _not_dicom(name)
    header_list = [norm(h) for h in sniffed.header if norm(h)]
    # names as reasons may show them: a value in the header row (perhaps a patient's) only by its length
    header_map = {norm(h): shown_name(h) for h in sniffed.header if norm(h)}
    shown = ", ".join(shown_name(h) for h in sniffed.header[:30]) + (
        " ..." if len(sniffed.header) > 30 else ""
    )
    evaluated = [
        _evaluate(s, t, header_map, name)
        for s in rules.sources
        if s.format != "dicom" and s.format in COMPATIBLE.get(sniffed.format, {sniffed.format})
        for t in s.tables
    ]
    if not any(c["matched"] for c in evaluated) and any(is_data_like(h) for h in sniffed.header):
        # no declared name at all and values in the row: it may be a data row, so no names are shown
        shown = f"{len(header_list)} fields, none a declared column name, some of them values"
        for c in evaluated:
            c["unexpected"] = []
    ranked = sorted(
        evaluated, key=lambda c: (c["fits"], c["name_match"], c["_exact"], c["matched"]), reverse=True
    )
    candidates = [_public(c) for c in ranked[:5]]
    reasons: list[str] = []
    named = [c for c in evaluated if c["name_match"]]
    pool = [c for c in named if c["fits"]]
    if pool:
        reasons.append(
            f"file name matches {', '.join(sorted({c['system'] + '/' + c['table'] for c in named}))}"
        )
    else:
        pool = [c for c in evaluated if c["fits"]]
        if named:
            reasons.append(
                "the tables its file name matches do not fit its header; identified by header alone"
            )
        else:
            reasons.append("file name matches no declared pattern; identified by header alone")
    if not pool:
        _raise_no_fit(name, sniffed, header_list, shown, ranked, named)
    pool.sort(key=lambda c: (c["_exact"], c["matched"]), reverse=True)
    best = pool[0]
    ties = [
        c for c in pool[1:] if abs(c["_exact"] - best["_exact"]) < 1e-9 and c["matched"] == best["matched"]
    ]
    if ties:
        names = ", ".join(_describe(c) for c in [best, *ties])
        raise FileFault(
            "ambiguous_source",
            f"{name}: header [{shown}] fits several definitions equally well: {names}",
            details={"candidates": [_public(c) for c in [best, *ties]]},
        )
    reasons.append(
        f"header matches {best['matched']} of {best['declared']} declared columns (score {best['score']:.2f})"
    )
    if best["missing_distinguishing"] == [] and any(
        c["system"] == best["system"] and c["table"] == best["table"] and c["version"] != best["version"]
        for c in evaluated
    ):
        reasons.append(f"version {best['version']} chosen by its distinguishing columns and overlap")
    if best["unexpected"]:
        reasons.append(f"undeclared columns: {', '.join(best['unexpected'][:10])}")
    return Identification(
        best["system"], best["version"], best["table"], sniffed.format, best["score"], reasons, candidates
    )


def _raise_no_fit(
    name: str, sniffed: Sniff, header: list[str], shown: str, ranked: list[dict], named: list[dict]
):
    closest = "; ".join(_describe(c) for c in ranked[:3]) or "no source definitions of this format"
    candidates = [_public(c) for c in ranked[:5]]
    if (
        len(header) == 1
        and any(ch in header[0] for ch in SEPARATORS)
        and any(c["declared"] > 1 for c in ranked)
    ):
        raise FileFault(
            "wrong_delimiter",
            f"{name}: the header is a single column containing separator characters while the candidate tables "
            f"expect many columns; closest: {closest}",
            details={"candidates": candidates},
        )
    near = [c for c in named if c["declared"] and c["matched"] / c["declared"] >= 0.5]
    if near:
        best = max(near, key=lambda c: (c["_exact"], c["matched"]))
        missing = best["missing_required"] + best["missing_distinguishing"]
        raise FileFault(
            "missing_required_column",
            f"{name}: looks like {best['system']}/{best['version']}/{best['table']} but lacks "
            f"{', '.join(missing)}; header [{shown}]; closest: {closest}",
            column=missing[0] if missing else None,
            details={"candidates": candidates},
        )
    raise FileFault(
        "unknown_source",
        f"{name}: no source definition fits header [{shown}]; closest: {closest}",
        details={"candidates": candidates},
    )

"""Realistic data problems for `--dirty`, planned from the seed and reported with their expected outcome.

Why planned up front: the problems must be deterministic, rare (a few per run) and each listed in the
summary with what the platform should do about it, so an end-to-end test can reconcile the warehouse
with what was written: rows loaded = rows written - rejected rows, duplicates quarantined, late
updates winning in the `__latest` views.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, time

from medvault.synth.ids import stream
from medvault.synth.writer import OutFile

LATE_UPDATE_TIME = time(23, 30)  # after every ordinary modification of the day


@dataclass
class DirtyPlan:
    """Which (site, day index) gets which problem."""

    duplicates: set[tuple[str, int]] = field(default_factory=set)  # a copy of the studies file
    stray_spaces: set[tuple[str, int]] = field(default_factory=set)  # the series file
    latin1: set[tuple[str, int]] = field(default_factory=set)  # the patients file
    malformed: dict[tuple[str, int], list[str]] = field(
        default_factory=dict
    )  # admissions: extra_field | impossible_date
    late_updates: dict[tuple[str, int], list[str]] = field(default_factory=dict)  # patients | admissions

    @classmethod
    def none(cls) -> DirtyPlan:
        return cls()


def plan(seed: int, sites: list[str], days: int) -> DirtyPlan:
    rng = stream(seed, "dirty", "plan")
    slots = [(s, d) for s in sites for d in range(days)]
    rate = max(1, len(slots) // 20)
    result = DirtyPlan()
    result.latin1.add((rng.choice(sites), 0))  # day 0 always registers a site's accent-named patient
    result.duplicates.update(rng.sample(slots, rate))
    result.stray_spaces.update(rng.sample(slots, rate))
    for detail in ("extra_field", "impossible_date"):
        result.malformed.setdefault(rng.choice(slots), []).append(detail)
    if days >= 2:
        for site in sites:
            for _ in range(max(1, days // 4)):
                result.late_updates.setdefault((site, rng.randint(1, days - 1)), []).append(
                    rng.choice(("patients", "admissions"))
                )
    return result


def problem(kind: str, f: OutFile, expect: str, rows: int, **detail) -> dict:
    return {
        "kind": kind,
        "site": f.site,
        "date": f.date,
        "file": f.name,
        "path": f.path,
        "system": f.system,
        "table": f.table,
        "expect": expect,
        "rows": rows,
        **detail,
    }


def late_update(
    rng: random.Random,
    target: OutFile,
    history: list[tuple[str, dict]],
    key: str,
    column: str,
    new_value: str,
    ts,
) -> dict:
    """Re-send an older record in today's file with a changed value and a newer modified_at."""
    present = {r.get(key) for r in target.rows}
    original_date, old = rng.choice([h for h in history if h[1][key] not in present] or history)
    row = dict(old)
    row[column] = new_value(rng, old[column])
    row["modified_at"] = ts(datetime.combine(datetime.fromisoformat(target.date).date(), LATE_UPDATE_TIME))
    target.rows.append(row)
    return problem(
        "late_update",
        target,
        "loaded",
        1,
        key={key: row[key]},
        column=column,
        old=old[column],
        new=row[column],
        original_date=original_date,
    )


def malformed_row(target: OutFile, template: dict, record_id: str, detail: str) -> dict:
    """Append one broken record: a ragged row with an extra field, or an impossible calendar date."""
    row = dict(template, record_id=record_id, _malformed=detail)  # `_` keys are never rendered as columns
    if detail == "extra_field":
        row["_extra"] = ["UNEXPECTED"]
    else:
        row["admission_date"] = f"{target.date[:4]}-02-30"
    target.rows.append(row)
    return problem("malformed_row", target, "row_rejected", 1, detail=detail, key={"record_id": record_id})


def stray_spaces(target: OutFile, seed: int) -> dict:
    target.pad_seed = stream(seed, "dirty", target.path).getrandbits(32)
    return problem("stray_spaces", target, "loaded", len(target.rows))


def latin1(target: OutFile) -> dict:
    target.encoding = "latin-1"
    accented = sum(1 for r in target.rows if not "".join(r.values()).isascii())
    return problem(
        "latin1_file", target, "loaded", len(target.rows), encoding="latin-1", non_ascii_rows=accented
    )


def duplicate(original: OutFile) -> tuple[OutFile, dict]:
    """The same bytes under another name in the same folder (a re-sent upload)."""
    stem, dot, ext = original.name.partition(".")
    copy = OutFile(
        **{
            **original.__dict__,
            "name": f"{stem}_resend{dot}{ext}",
            "duplicate_of": original.name,
            "rows": list(original.rows),
            "children": dict(original.children),
        }
    )
    return copy, problem("duplicate_file", copy, "quarantined", len(copy.rows), duplicate_of=original.name)

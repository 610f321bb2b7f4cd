"""`generate()`: synthetic multi-site drops (PACS CSV, DICOM, EHR CSV, HIS NDJSON) plus a summary.

Why a summary: an end-to-end test must reconcile the warehouse with what was written, so the generator
reports, per (site, date, system, table), how many data rows it wrote and how many should load, the
file list, and every injected problem with its expected outcome.

Determinism: every random choice comes from a `random.Random` seeded with a string derived from the
seed, site and day (see `ids.stream`), Faker is seeded per site, DICOM UIDs are `2.25.<128 random bits>`
and no wall-clock time is used, so the same arguments give byte-identical files.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from pathlib import Path

from medvault.synth import dirty as dirt
from medvault.synth import ehr, his, pacs
from medvault.synth.dicom_files import dicom_bytes
from medvault.synth.ids import stream
from medvault.synth.people import PatientPool
from medvault.synth.sites import SiteSpec, site_specs
from medvault.synth.writer import OutFile, write_atomic, write_done

DICOM_SYSTEM = "dicom"
DICOM_VERSION = "v1"
DEFAULT_START = date(2026, 3, 2)


@dataclass
class GenerationSummary:
    """What `generate()` wrote. `to_dict()` is JSON-able."""

    out: str
    seed: int
    start: str
    days: int
    dirty: bool
    realistic_pixels: bool
    sites: list[dict] = field(default_factory=list)
    files: list[dict] = field(default_factory=list)
    counts: list[dict] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)

    def rows(self, *, expected: bool = False, **where: str) -> int:
        """Sum of `rows` (or `expected_rows`) over the counts matching site/date/system/table filters."""
        column = "expected_rows" if expected else "rows"
        return sum(c[column] for c in self.counts if all(c.get(k) == v for k, v in where.items()))

    def to_dict(self) -> dict:
        return {
            "out": self.out,
            "seed": self.seed,
            "start": self.start,
            "days": self.days,
            "dirty": self.dirty,
            "realistic_pixels": self.realistic_pixels,
            "sites": self.sites,
            "files": self.files,
            "counts": self.counts,
            "problems": self.problems,
        }


class _Site:
    """The systems of one site, sharing one patient pool."""

    def __init__(self, seed: int, spec: SiteSpec, start: date):
        self.spec = spec
        self.pool = PatientPool(seed, spec, start)
        self.pacs = pacs.PacsSite(seed, spec, self.pool)
        self.ehr = ehr.EhrSite(seed, spec, self.pool)
        self.his = his.HisSite(seed, spec, self.pool, start) if spec.has_his else None
        self.history: dict[str, list[tuple[str, dict]]] = {"patients": [], ehr.TABLE: []}
        self.malformed_no = 0

    def remember(self, files: list[OutFile]) -> None:
        """Rows a later day may update (late updates pick from these)."""
        for f in files:
            if f.duplicate_of is None and f.table in self.history:
                self.history[f.table].extend((f.date, r) for r in f.rows if "_malformed" not in r)


def _day_files(
    site: _Site, index: int, day: date, realistic_pixels: bool, pacs_rows: list | None = None
) -> list[OutFile]:
    """Every file of one drop folder, DICOM first (an extract never lists a file that is not there yet).
    `pacs_rows` receives the day's clean PACS rows (before any injected problem), for the PACS database."""
    spec, stamp, iso = site.spec, f"{day:%Y%m%d}", day.isoformat()
    files: list[OutFile] = []
    pacs_day = site.pacs.day(index, day)
    sizes: dict[str, int] = {}
    for dcm in pacs_day.dicoms:
        data = dicom_bytes(dcm, realistic_pixels)
        sizes[dcm.sop_instance_uid] = len(data)
        files.append(
            OutFile(
                spec.code,
                iso,
                DICOM_SYSTEM,
                DICOM_VERSION,
                "instances",
                f"{dcm.sop_instance_uid}.dcm",
                "dicom",
                data=data,
            )
        )
    for row in pacs_day.rows["instances"]:
        row["file_size"] = str(sizes[row["sop_instance_uid"]])
    if pacs_rows is not None:
        pacs_rows.append({t: [dict(r) for r in rows] for t, rows in pacs_day.rows.items()})
    version = spec.pacs_version
    for table in pacs.TABLES:
        if pacs_day.rows[table]:
            files.append(
                OutFile(
                    spec.code,
                    iso,
                    pacs.SYSTEM,
                    version,
                    table,
                    f"{table}_{stamp}.csv",
                    "csv",
                    header=pacs.header(table, version),
                    rows=pacs_day.rows[table],
                )
            )
    files.append(
        OutFile(
            spec.code,
            iso,
            ehr.SYSTEM,
            ehr.VERSION,
            ehr.TABLE,
            f"{ehr.FILE_PREFIX}_{stamp}.csv",
            "csv",
            header=[(c, c) for c in ehr.COLUMNS],
            rows=site.ehr.day(index, day),
        )
    )
    if site.his is not None:
        for table, docs in site.his.day(index, day).items():
            if docs:
                files.append(
                    OutFile(
                        spec.code,
                        iso,
                        his.SYSTEM,
                        his.VERSION,
                        table,
                        f"{table}_{stamp}.ndjson",
                        "ndjson",
                        rows=docs,
                    )
                )
    return files


def _find(files: list[OutFile], system: str, table: str) -> OutFile | None:
    return next(
        (f for f in files if f.system == system and f.table == table and f.duplicate_of is None), None
    )


def _new_surname(rng, old: str) -> str:
    family, _, given = old.partition("^")
    return f"{family}-{rng.choice(('Campbell', 'Murray', 'Byrne', 'Walsh', 'Reid', 'Kerr'))}^{given}"


def _new_condition(rng, old: str) -> str:
    return rng.choice([c for c in ehr.EYE_CONDITIONS + ehr.GENERAL_CONDITIONS if c != old])


def _inject(site: _Site, index: int, files: list[OutFile], plan: dirt.DirtyPlan, seed: int) -> list[dict]:
    """Apply the planned problems of one (site, day) to its files; return their summary entries."""
    code, problems = site.spec.code, []
    rng = stream(seed, "dirty", code, index)
    slot = (code, index)
    day = files[0].date if files else ""
    for table in plan.late_updates.get(slot, []):
        if table == "patients":
            target = _find(files, pacs.SYSTEM, "patients")
            if target is None:
                target = OutFile(
                    code,
                    day,
                    pacs.SYSTEM,
                    site.spec.pacs_version,
                    "patients",
                    f"patients_{day.replace('-', '')}.csv",
                    "csv",
                    header=pacs.header("patients", site.spec.pacs_version),
                )
                files.append(target)
            ts = partial(pacs.fmt_ts, version=site.spec.pacs_version)
            problems.append(
                dirt.late_update(
                    rng, target, site.history["patients"], "patient_id", "patient_name", _new_surname, ts
                )
            )
        else:
            target = _find(files, ehr.SYSTEM, ehr.TABLE)
            problems.append(
                dirt.late_update(
                    rng,
                    target,
                    site.history[ehr.TABLE],
                    "record_id",
                    "main_condition",
                    _new_condition,
                    ehr.fmt_ts,
                )
            )
    for detail in plan.malformed.get(slot, []):
        target = _find(files, ehr.SYSTEM, ehr.TABLE)
        site.malformed_no += 1
        record_id = f"SMR{site.spec.prefix}9{site.malformed_no:06d}"
        problems.append(dirt.malformed_row(target, target.rows[0], record_id, detail))
    if slot in plan.stray_spaces:
        problems.append(dirt.stray_spaces(_find(files, pacs.SYSTEM, "series"), seed))
    if slot in plan.latin1 and (target := _find(files, pacs.SYSTEM, "patients")) is not None:
        problems.append(dirt.latin1(target))
    if slot in plan.duplicates:
        copy, entry = dirt.duplicate(_find(files, pacs.SYSTEM, "studies"))
        files.append(copy)
        problems.append(entry)
    return problems


def _children(f: OutFile) -> dict[str, int]:
    if f.system != his.SYSTEM or f.table not in his.CHILDREN:
        return {}
    child, array = his.CHILDREN[f.table]
    return {child: sum(len(doc.get(array) or []) for doc in f.rows)}


def generate(
    out: Path,
    sites: int = 3,
    days: int = 7,
    seed: int = 42,
    start: date = DEFAULT_START,
    dirty: bool = False,
    realistic_pixels: bool = False,
    write_from: date | None = None,
    pacs_db: str | None = None,
    pacs_db_password: str = "",
) -> GenerationSummary:
    """Write `<out>/<site>/<YYYY-MM-DD>/<file>` drops for `sites` sites over `days` days from `start`.

    `write_from` writes (and summarises) only the days from that date on, while every earlier day is
    still generated: the later days are exactly those of the whole history (`medvault generate
    --continue` extends an existing history this way, with no id generated twice).

    `pacs_db` (a database URL, `{site}` replaced by each site's code) also writes every site's PACS rows,
    clean, into a Harmony-like database of the site's schema version (`synth/pacs_db.py`): what the site
    agent extracts from."""
    if days < 1:
        raise ValueError("days must be at least 1")
    if sites < 1:
        raise ValueError("sites must be at least 1")
    out = Path(out)
    specs = site_specs(sites)
    plan = dirt.plan(seed, [s.code for s in specs], days) if dirty else dirt.DirtyPlan.none()
    summary = GenerationSummary(
        str(out), seed, start.isoformat(), days, dirty, realistic_pixels, sites=[s.to_dict() for s in specs]
    )
    counts: dict[tuple[str, str, str, str, str], dict] = {}
    for spec in specs:
        site = _Site(seed, spec, start)
        database = _site_database(pacs_db, pacs_db_password, spec, fresh=write_from is None, sites=len(specs))
        for index in range(days):
            day = start + timedelta(days=index)
            pacs_rows: list | None = [] if database is not None else None
            files = _day_files(site, index, day, realistic_pixels, pacs_rows)
            if database is not None:
                database.day(pacs_rows[0], insert=write_from is None or day >= write_from)
            problems = _inject(site, index, files, plan, seed) if dirty else []
            if write_from is not None and day < write_from:
                site.remember(files)  # the day still happened: later days update its records
                continue
            rejected: dict[str, int] = {}
            for p in problems:
                if p["expect"] == "row_rejected":
                    rejected[p["file"]] = rejected.get(p["file"], 0) + p["rows"]
            folder = out / spec.code / day.isoformat()
            for f in files:
                data = f.render()
                write_atomic(folder / f.name, data)
                f.children = _children(f)
                summary.files.append(
                    {
                        "site": f.site,
                        "date": f.date,
                        "system": f.system,
                        "version": f.version,
                        "table": f.table,
                        "file": f.name,
                        "path": f.path,
                        "rows": f.row_count,
                        "children": f.children,
                        "bytes": len(data),
                        "sha256": hashlib.sha256(data).hexdigest(),
                        "encoding": f.encoding,
                        "duplicate_of": f.duplicate_of,
                    }
                )
                if f.duplicate_of is not None:
                    continue  # expected to be quarantined; its rows are the original's
                tables = [(f.table, f.row_count, rejected.get(f.name, 0), None)]
                tables += [(child, n, 0, f.table) for child, n in f.children.items()]
                for table, n, bad, parent in tables:
                    entry = counts.setdefault(
                        (f.site, f.date, f.system, f.version, table),
                        {
                            "site": f.site,
                            "date": f.date,
                            "system": f.system,
                            "version": f.version,
                            "table": table,
                            "parent": parent,
                            "files": 0,
                            "rows": 0,
                            "expected_rows": 0,
                        },
                    )
                    entry["files"] += 1
                    entry["rows"] += n
                    entry["expected_rows"] += n - bad
            write_done(folder)
            summary.problems.extend(problems)
            site.remember(files)
        if database is not None:
            database.close()
    summary.counts = list(counts.values())
    return summary


def _site_database(url: str | None, password: str, spec: SiteSpec, fresh: bool, sites: int):
    if url is None:
        return None
    if "{site}" not in url and sites > 1:
        raise ValueError("--pacs-db needs {site} in the database name when several sites are generated")
    from medvault.synth.pacs_db import open_site_database

    return open_site_database(url, spec.code, spec.pacs_version, password, fresh=fresh)


def history_start(out: Path, sites: int) -> date | None:
    """The first drop date already generated under `out` for the first `sites` sites (None: nothing yet)."""
    days = [
        date.fromisoformat(d.name)
        for spec in site_specs(sites)
        if (Path(out) / spec.code).is_dir()
        for d in (Path(out) / spec.code).iterdir()
        if d.is_dir() and len(d.name) == 10 and d.name[4] == "-"
    ]
    return min(days) if days else None

"""DICOM headers of one (site, date) drop into `dicom.instances`, `dicom.series` and `dicom.studies`;
unreadable images are quarantined.

Headers were parsed when the receive step fetched the images (kept in the lake, see `dicom/headers.py`),
so this step reads small JSON files, not images; it parses an image only when no saved header covers it.
The slice and every file's status commit in one transaction, so `dicom.instances` and the ledger never
disagree. An image whose SOP Instance UID another file of the drop already carries (a re-send) is
quarantined as `duplicate_instance` rather than loaded twice.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from medvault.platform.delivery.uid import pipeline_uid
from medvault.platform.dicom.crosscheck import KINDS, write_crosscheck
from medvault.platform.dicom.extract import (
    DICOM_SYSTEM,
    DICOM_TABLE,
    frame,
    instances_on_other_dates,
    write_instances,
)
from medvault.platform.dicom.headers import HeaderStore, covers, parse_stored_many
from medvault.platform.dicom.tables import write_series_and_studies
from medvault.platform.ledger import FileEntry, Ledger, LoadRecord
from medvault.platform.results import CheckOutcome, StepResult, TableResult
from medvault.platform.steps.context import StepContext
from medvault.platform.warehouse import row_count, table_exists, transaction
from medvault.platform.zones import Reason, local_file

ASSET = ("dicom", "instances")
SERIES_ASSET, STUDIES_ASSET = ("dicom", "series"), ("dicom", "studies")
CROSSCHECK_ASSET = ("dicom", "pacs_crosscheck")
# warns when an image is not in the site's PACS extract, or a PACS instance has no image after the grace period
PACS_CHECK = "images_match_pacs"
# warns when images were quarantined or an image of the drop was already loaded on another date of the site
CHECK = "images_accounted"


@dataclass
class DicomSummary:
    files: int = 0
    loaded: int = 0
    quarantined: int = 0
    series: int = 0
    studies: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def as_metadata(self) -> dict:
        return {"files": self.files, "instances_loaded": self.loaded, "files_quarantined": self.quarantined}


def _headers(ctx: StepContext, entries: list[FileEntry]) -> dict[str, dict]:
    """Each active file's saved header (or fault) by content hash; parsed now where none was saved, or
    the saved one lacks an extra tag the rules ask for."""
    site, date = ctx.partition
    extras = ctx.rules.dicom_tags
    saved = HeaderStore(ctx.lake).load(site, date)
    missing: dict[str, FileEntry] = {}  # by content: the first file of each content not covered
    for entry in entries:
        if entry.sha256 not in missing and (
            entry.sha256 not in saved or not covers(saved[entry.sha256], extras)
        ):
            missing[entry.sha256] = entry
    parsed = parse_stored_many(ctx.lake, [(e.raw_path, e.name) for e in missing.values()], extras)
    saved.update(zip(missing, parsed, strict=True))
    return saved


def _track(ctx: StepContext, ledger: Ledger, instances, loaded) -> None:
    """Seed 004's FileID, ScanID and pipeline UID of every loaded image (each file one scan), registering
    the files with the delivery pipeline (a re-dropped file keeps its FileID)."""
    delivery = ctx.rules.delivery
    ledger.pipeline.ensure_pipeline(delivery.code, delivery.label)
    files = ledger.pipeline.register(
        delivery.code, [(r.site, r.date, r.store, r.key, r.sha256) for r in loaded], ctx.run_id
    )
    ids = [files[sha].id for sha in instances["_sha256"]]
    instances["file_id"] = ids
    instances["scan_id"] = 1
    instances["pipeline_uid"] = [pipeline_uid(delivery.uid_root, i, 1) for i in ids]


def process(ctx: StepContext) -> DicomSummary:
    site, date = ctx.partition
    started = time.monotonic()
    with ctx.connect() as con:
        ledger = Ledger(con)
        entries = ledger.files.active(site, date, DICOM_SYSTEM, DICOM_TABLE)
        headers = _headers(ctx, entries)
        by_key = {(e.key, e.sha256): e for e in entries}
        rows, problems = [], []  # problems: (entry, code, message, tag)
        for entry in sorted(entries, key=lambda e: e.key):
            parsed = headers[entry.sha256]
            if "fault" in parsed:
                f = parsed["fault"]
                problems.append((entry, f["code"], f["message"], f.get("tag")))
            else:
                rows.append({**parsed["row"], "_sha256": entry.sha256, "_source_key": entry.key})
        extra_columns = [e.column for e in ctx.rules.dicom_tags]
        instances = frame(rows, extra_columns)
        if len(instances):
            dupes = instances.duplicated("sop_instance_uid", keep="first")
            first = instances.drop_duplicates("sop_instance_uid").set_index("sop_instance_uid")["_source_key"]
            for _, row in instances[dupes].iterrows():
                entry = by_key[(row["_source_key"], row["_sha256"])]
                original = first[row["sop_instance_uid"]].rsplit("/", 1)[-1]
                message = f"{entry.name}: its SOP Instance UID is already loaded from {original}"
                problems.append((entry, "duplicate_instance", message, "SOPInstanceUID"))
            instances = instances[~dupes]
        rejected = []
        for entry, code, message, tag in problems:
            reason = Reason(code, message, entry.key, column=tag)
            with local_file(ctx.lake, entry.raw_path) as path:
                qkey = ctx.quarantine.put(path, site, date, entry.sha256, entry.name, reason)
            rejected.append((entry, code, message, qkey))
        loaded = [
            by_key[(k, s)].ref for k, s in zip(instances["_source_key"], instances["_sha256"], strict=True)
        ]
        _track(ctx, ledger, instances, loaded)
        with transaction(con):
            write_instances(con, site, date, instances, extra_columns)
            series, studies = write_series_and_studies(con, site, date)
            for entry, code, message, qkey in rejected:
                ledger.files.quarantined(entry.ref, code, message, qkey, ctx.run_id)
            ledger.files.loaded_many(loaded, ctx.run_id)
            seconds = round(time.monotonic() - started, 3)
            ledger.audit.record(
                LoadRecord("dicom", "dicom.instances", len(loaded), site, date, len(entries), seconds),
                ctx.run_id,
            )
    reasons = dict(sorted(Counter(code for _, code, _, _ in rejected).items()))
    return DicomSummary(
        files=len(entries),
        loaded=len(loaded),
        quarantined=len(rejected),
        series=series,
        studies=studies,
        reasons=reasons,
    )


def has_data(ctx: StepContext) -> bool:
    """Images arrived for the partition, or a slice exists to replace."""
    site, date = ctx.partition
    with ctx.connect() as con:
        if Ledger(con).files.active(site, date, DICOM_SYSTEM, DICOM_TABLE):
            return True
        if not table_exists(con, "dicom", "instances"):
            return False
        return row_count(con, "dicom", "instances", "_site = ? AND _date = ?", [site, date]) > 0


def run(ctx: StepContext) -> StepResult:
    """The slice, and its check: no image already loaded from another date of the site, nothing
    quarantined. A partition without images gets no result (nothing arrived)."""
    site, date = ctx.partition
    if not has_data(ctx):
        return StepResult()
    summary = process(ctx)
    with ctx.connect() as con:
        elsewhere = instances_on_other_dates(con, site, date)
        with transaction(con):
            mismatches = write_crosscheck(con, site, date, ctx.rules.delivery.pacs)
    return StepResult(
        tables=[
            TableResult(ASSET, {**summary.as_metadata(), "rows_in_slice": summary.loaded}, summary.loaded),
            TableResult(SERIES_ASSET, {"rows_in_slice": summary.series}, summary.series),
            TableResult(STUDIES_ASSET, {"rows_in_slice": summary.studies}, summary.studies),
            TableResult(CROSSCHECK_ASSET, {k: mismatches.get(k, 0) for k in KINDS}, sum(mismatches.values())),
        ],
        checks=[
            CheckOutcome(
                CHECK,
                ASSET,
                passed=elsewhere == 0 and summary.quarantined == 0,
                warn=True,
                metadata={
                    "instances_also_loaded_on_another_date": elsewhere,
                    "files_quarantined": summary.quarantined,
                    "quarantine_reasons": summary.reasons,
                },
            ),
            CheckOutcome(
                PACS_CHECK,
                ASSET,
                passed=not mismatches,
                warn=True,
                metadata={
                    **{k: mismatches.get(k, 0) for k in KINDS},
                    "grace_days": ctx.rules.delivery.pacs.grace_days,
                },
            ),
        ],
    )

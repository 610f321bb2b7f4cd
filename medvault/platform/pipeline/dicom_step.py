"""DICOM headers of one (site, date) drop into dicom.instances; unreadable images are quarantined."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass

import duckdb

from medvault.platform.dicom.extract import extract_rows, write_instances
from medvault.platform.pipeline import manifest
from medvault.platform.pipeline.zones import QuarantineZone, Reason, local_file
from medvault.platform.stores.base import ObjectStore

DICOM_SYSTEM, DICOM_TABLE = "dicom", "instances"


@dataclass
class DicomSummary:
    files: int = 0
    loaded: int = 0
    quarantined: int = 0

    def as_metadata(self) -> dict:
        return {"files": self.files, "instances_loaded": self.loaded, "files_quarantined": self.quarantined}


def process_dicom(
    con: duckdb.DuckDBPyConnection, lake: ObjectStore, quarantine: QuarantineZone, site: str, date: str
) -> DicomSummary:
    entries = manifest.active_files(con, site, date, DICOM_SYSTEM, DICOM_TABLE)
    summary = DicomSummary(files=len(entries))
    by_sha = {e.sha256: e for e in entries}
    with ExitStack() as stack:
        files = [(e.sha256, e.key, stack.enter_context(local_file(lake, e.raw_path))) for e in entries]
        frame, faults = extract_rows(files)
        for sha, key, fault in faults:
            entry = by_sha[sha]
            reason = Reason(fault.code, fault.message, key, column=getattr(fault, "tag", None))
            path = next(p for s, _, p in files if s == sha)
            qkey = quarantine.put(path, site, date, sha, key.rsplit("/", 1)[-1], reason)
            manifest.mark_quarantined(con, site, date, entry.key, sha, fault.code, fault.message, qkey)
            summary.quarantined += 1
    write_instances(con, site, date, frame)
    for sha in frame["sha256"].tolist() if len(frame) else []:
        entry = by_sha[sha]
        manifest.mark_loaded(con, site, date, entry.key, sha, 1, 1, 0)
        summary.loaded += 1
    return summary

"""DICOM headers of one (site, date) drop into dicom.instances; unreadable images are quarantined.

The slice and every file's manifest status are committed in one transaction, so `dicom.instances`
and `ops.file_manifest` never disagree. An image whose SOP Instance UID another file of the drop
already carries (a re-send) is quarantined as a duplicate rather than loaded twice.
"""

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
    rejected: list[tuple[str, str, str, str, str]] = []  # (key, sha256, code, message, quarantine key)
    with ExitStack() as stack:
        files = [(e.sha256, e.key, stack.enter_context(local_file(lake, e.raw_path))) for e in entries]
        paths = {(key, sha): path for sha, key, path in files}
        stores = {(e.key, e.sha256): e.store for e in entries}
        frame, faults = extract_rows(files)
        problems = [(key, sha, f.code, f.message, getattr(f, "tag", None)) for sha, key, f in faults]
        if len(frame):
            frame = frame.sort_values("source_key", kind="stable")
            dupes = frame.duplicated("sop_instance_uid", keep="first")
            first = frame.drop_duplicates("sop_instance_uid").set_index("sop_instance_uid")["source_key"]
            for _, row in frame[dupes].iterrows():
                name = row["source_key"].rsplit("/", 1)[-1]
                original = first[row["sop_instance_uid"]].rsplit("/", 1)[-1]
                problems.append(
                    (
                        row["source_key"],
                        row["sha256"],
                        "duplicate_instance",
                        f"{name}: its SOP Instance UID is already loaded from {original}",
                        "SOPInstanceUID",
                    )
                )
            frame = frame[~dupes]
        for key, sha, code, message, tag in problems:
            reason = Reason(code, message, key, column=tag)
            qkey = quarantine.put(paths[(key, sha)], site, date, sha, key.rsplit("/", 1)[-1], reason)
            rejected.append((key, sha, code, message, qkey))
    con.execute("BEGIN TRANSACTION")
    try:
        write_instances(con, site, date, frame, in_transaction=True)
        for key, sha, code, message, qkey in rejected:
            manifest.mark_quarantined(con, site, date, stores[(key, sha)], key, sha, code, message, qkey)
        loaded = None
        if len(frame):
            loaded = frame[["source_key", "sha256"]].copy()
            loaded["store"] = [
                stores[(k, s)] for k, s in zip(loaded["source_key"], loaded["sha256"], strict=True)
            ]
        if loaded is not None:
            con.register("_mv_dicom_loaded", loaded)
            try:  # one set-based update for the whole drop, matched on the exact (file, content)
                con.execute(
                    """UPDATE ops.file_manifest AS m
                       SET status = 'loaded', rows_received = 1, rows_loaded = 1, rows_rejected = 0,
                           reason_code = NULL, reason = NULL, updated_at = current_timestamp
                       FROM _mv_dicom_loaded AS l
                       WHERE m.site = ? AND m.date = ? AND m.store = l.store AND m.key = l.source_key
                         AND m.sha256 = l.sha256
                         AND m.status IN ('received', 'loaded')""",
                    [site, date],
                )
            finally:
                con.unregister("_mv_dicom_loaded")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    summary.loaded, summary.quarantined = (0 if loaded is None else len(loaded)), len(rejected)
    return summary

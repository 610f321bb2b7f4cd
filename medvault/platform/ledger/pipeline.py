"""Seed 004's tracking tables: delivery pipelines, one row per file they deliver, its scans, its history.

- `ops.pipeline`: each pipeline (code, label), registered on first use;
- `ops.pipeline_file`: one row per (pipeline, site, content) — the FileID — with its status
  (started -> in_progress -> completed | failed), `has_error` for a file delivered with problems (seed
  scenario 1) against `failed` for one not delivered (scenario 2), its destination name and key;
- `ops.pipeline_file_dicom`: the scans of a file (study and series UIDs, series number, instances) with
  the pipeline UID stamped into the images, `<uid root>.<file id>.<scan id>`;
- `ops.pipeline_file_events`: every status change, appended, never updated.

Keyed by content, not by name: a re-dropped file (same bytes) keeps its FileID and is not delivered twice;
new bytes under the same source key are a new file with the next revision number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb

from medvault.platform.ledger.statuses import COMPLETED, FAILED, PIPELINE_STATUSES, STARTED
from medvault.platform.warehouse import transaction


@dataclass(frozen=True)
class PipelineFile:
    """One file of a pipeline as the delivery step needs it."""

    id: int
    pipeline: str
    site: str
    date: str
    store: str
    source_key: str
    sha256: str
    revision: int
    file_name: str | None
    destination_key: str | None
    status: str
    has_error: bool
    error_code: str | None
    created_at: datetime

    @property
    def source_name(self) -> str:
        return self.source_key.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Scan:
    """One (study, series) of a file: seed 004's ScanID and the UID stamped into its images."""

    file_id: int
    scan_id: int
    pipeline_uid: str
    study_uid: str
    series_uid: str
    series_number: int | None
    number_of_instances: int


_FILE_FIELDS = ("site", "date", "store", "key", "sha256")
_COLUMNS = (
    "id, pipeline, site, CAST(date AS VARCHAR), store, source_key, sha256, revision, file_name, "
    "destination_key, status, has_error, error_code, created_at"
)


class PipelineLedger:
    """Registers files of a pipeline, moves them through their statuses and records every change."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def ensure_pipeline(self, code: str, label: str) -> None:
        if not self.con.execute("SELECT 1 FROM ops.pipeline WHERE code = ?", [code]).fetchall():
            self.con.execute("INSERT INTO ops.pipeline (code, label) VALUES (?, ?)", [code, label])

    def register(
        self, pipeline: str, files: Sequence[tuple[str, str, str, str, str]], run_id: str | None
    ) -> dict[str, PipelineFile]:
        """Give every (site, date, store, source key, sha256) its file row, new ones `started`; by sha256.

        A content already registered keeps its row and FileID (re-drops are not new files)."""
        if files:
            with transaction(self.con):
                new = self.con.execute(
                    """INSERT INTO ops.pipeline_file
                           (id, pipeline, site, date, store, source_key, sha256, revision, status, run_id)
                       SELECT nextval('ops.pipeline_file_ids'), ?, site, CAST(date AS DATE), store, key, sha256,
                              row_number() OVER (PARTITION BY site, key ORDER BY sha256)
                              + (SELECT count(*) FROM ops.pipeline_file p
                                 WHERE p.pipeline = ? AND p.site = n.site AND p.source_key = n.key),
                              ?, ?
                       FROM (SELECT DISTINCT ON (f.site, f.sha256) f.* FROM unnest(?) AS t(f)) n
                       WHERE NOT EXISTS (SELECT 1 FROM ops.pipeline_file p
                                         WHERE p.pipeline = ? AND p.site = n.site AND p.sha256 = n.sha256)
                       RETURNING id""",
                    [
                        pipeline,
                        pipeline,
                        STARTED,
                        run_id,
                        [dict(zip(_FILE_FIELDS, f, strict=True)) for f in files],
                        pipeline,
                    ],
                ).fetchall()
                self.con.execute(
                    """INSERT INTO ops.pipeline_file_events (file_id, from_status, to_status, has_error, run_id)
                       SELECT id, NULL, ?, false, ? FROM unnest(CAST(? AS BIGINT[])) AS t(id)""",
                    [STARTED, run_id, [file_id for (file_id,) in new]],
                )
        shas = sorted({f[4] for f in files})
        return {f.sha256: f for f in self.files(pipeline, site=None, shas=shas)}

    def files(
        self,
        pipeline: str,
        *,
        site: str | None = None,
        date: str | None = None,
        shas: Sequence[str] | None = None,
        keys: Sequence[str] | None = None,
    ) -> list[PipelineFile]:
        """Files of a pipeline, narrowed by site, partition date, contents or source keys; by id."""
        where, params = ["pipeline = ?"], [pipeline]
        for column, value in (("site", site), ("CAST(date AS VARCHAR)", date)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        for column, values in (("sha256", shas), ("source_key", keys)):
            if values is not None:
                where.append(f"list_contains(?, {column})")
                params.append(list(values))
        rows = self.con.execute(
            f"SELECT {_COLUMNS} FROM ops.pipeline_file WHERE {' AND '.join(where)} ORDER BY id", params
        ).fetchall()
        return [PipelineFile(*r) for r in rows]

    def get(self, file_id: int) -> PipelineFile | None:
        rows = self.con.execute(
            f"SELECT {_COLUMNS} FROM ops.pipeline_file WHERE id = ?", [file_id]
        ).fetchall()
        return PipelineFile(*rows[0]) if rows else None

    def set_scans(self, file_id: int, scans: Sequence[Scan]) -> None:
        """Replace a file's scans (the header is a function of the bytes: the same every time)."""
        self.con.execute("DELETE FROM ops.pipeline_file_dicom WHERE file_id = ?", [file_id])
        self.con.executemany(
            "INSERT INTO ops.pipeline_file_dicom VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    s.file_id,
                    s.scan_id,
                    s.pipeline_uid,
                    s.study_uid,
                    s.series_uid,
                    s.series_number,
                    s.number_of_instances,
                ]
                for s in scans
            ],
        )

    def scans(self, file_id: int) -> list[Scan]:
        rows = self.con.execute(
            "SELECT * FROM ops.pipeline_file_dicom WHERE file_id = ? ORDER BY scan_id", [file_id]
        ).fetchall()
        return [Scan(*r) for r in rows]

    def move(
        self,
        file_id: int,
        to_status: str,
        run_id: str | None,
        *,
        has_error: bool | None = None,
        error_code: str | None = None,
        error: str | None = None,
        error_log: str | None = None,
        file_name: str | None = None,
        destination_key: str | None = None,
    ) -> None:
        """Change a file's status (and what is known with it), appending the change to its history.

        `has_error` True sticks for the attempt: a problem met on the way is kept when the file completes."""
        if to_status not in PIPELINE_STATUSES:
            raise ValueError(f"unknown pipeline status {to_status!r}")
        with transaction(self.con):
            current = self.con.execute(
                "SELECT status, has_error FROM ops.pipeline_file WHERE id = ?", [file_id]
            ).fetchone()
            if current is None:
                raise KeyError(f"no pipeline file {file_id}")
            flag = bool(current[1]) if has_error is None else has_error
            delivered = "current_timestamp" if to_status == COMPLETED else "delivered_at"
            self.con.execute(
                f"""UPDATE ops.pipeline_file SET status = ?, has_error = ?,
                       error_code = coalesce(?, CASE WHEN ? THEN error_code END),
                       error = coalesce(?, CASE WHEN ? THEN error END),
                       error_log = coalesce(?, error_log), file_name = coalesce(?, file_name),
                       destination_key = coalesce(?, destination_key), run_id = ?,
                       updated_at = current_timestamp, delivered_at = {delivered}
                    WHERE id = ?""",
                [
                    to_status,
                    flag,
                    error_code,
                    flag,
                    error,
                    flag,
                    error_log,
                    file_name,
                    destination_key,
                    run_id,
                    file_id,
                ],
            )
            self._event(file_id, current[0], to_status, flag, error_code, error, run_id)

    def restart(self, file_id: int, run_id: str | None) -> None:
        """A new attempt (a retry or a manual reprocess): back to `started` with the error cleared."""
        with transaction(self.con):
            current = self.con.execute(
                "SELECT status FROM ops.pipeline_file WHERE id = ?", [file_id]
            ).fetchone()
            self.con.execute(
                """UPDATE ops.pipeline_file SET status = ?, has_error = false, error_code = NULL, error = NULL,
                       error_log = NULL, run_id = ?, updated_at = current_timestamp WHERE id = ?""",
                [STARTED, run_id, file_id],
            )
            self._event(file_id, current[0] if current else None, STARTED, False, None, None, run_id)

    def history(self, file_id: int) -> list[tuple]:
        """(from, to, has_error, code, run) of every change of a file, oldest first."""
        return self.con.execute(
            """SELECT from_status, to_status, has_error, error_code, run_id FROM ops.pipeline_file_events
               WHERE file_id = ? ORDER BY changed_at, rowid""",
            [file_id],
        ).fetchall()

    def window(self, pipeline: str, since: datetime, until: datetime) -> tuple[list[tuple], dict[str, int]]:
        """For a digest: ([(site, destination key, delivered at)] of files completed in [since, until)
        and still completed, {site: files that failed in the window and are failed now})."""
        delivered = self.con.execute(
            """SELECT site, destination_key, delivered_at FROM ops.pipeline_file
               WHERE pipeline = ? AND status = ? AND delivered_at >= ? AND delivered_at < ?
               ORDER BY site, delivered_at, id""",
            [pipeline, COMPLETED, since, until],
        ).fetchall()
        failed = self.con.execute(
            """SELECT site, count(*) FROM ops.pipeline_file
               WHERE pipeline = ? AND status = ? AND updated_at >= ? AND updated_at < ? GROUP BY site""",
            [pipeline, FAILED, since, until],
        ).fetchall()
        return delivered, dict(failed)

    def status_counts(self) -> dict[str, int]:
        """Files per status, `completed` split by has_error (for `medvault status`)."""
        rows = self.con.execute(
            """SELECT status || CASE WHEN status = 'completed' AND has_error THEN ' with errors' ELSE '' END,
                      count(*) FROM ops.pipeline_file GROUP BY 1 ORDER BY 1"""
        ).fetchall()
        return dict(rows)

    def destination_taken(self, pipeline: str, destination_key: str, file_id: int) -> bool:
        """Another file of the pipeline already delivered under this key."""
        return bool(
            self.con.execute(
                "SELECT 1 FROM ops.pipeline_file WHERE pipeline = ? AND destination_key = ? AND id <> ?",
                [pipeline, destination_key, file_id],
            ).fetchall()
        )

    def _event(self, file_id, from_status, to_status, has_error, code, error, run_id) -> None:
        self.con.execute(
            """INSERT INTO ops.pipeline_file_events
                   (file_id, from_status, to_status, has_error, error_code, error, run_id)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            [file_id, from_status, to_status, has_error, code, error, run_id],
        )

"""Seed 004's image pipeline for one (site, date): stamp, rename and copy every image to the delivery store.

Per file: registered `started` (its FileID), `in_progress` once its scans and pipeline UID are recorded,
then `completed` when the copy is in place, or `failed` (not delivered) with an error log on the delivery
store. A problem that does not stop delivery (the UID cannot be written, a naming field has no value)
completes the file with `has_error` (seed scenario 1). Copies go to a temporary key first and are then
moved under their final name, so a reader never sees a partial file; a name already taken is never
overwritten. A file already `completed` is not delivered again (a re-drop keeps its FileID), unless a
manual reprocess asks for it.
"""

from __future__ import annotations

import posixpath
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from medvault.platform.delivery.errors import CODES, is_fatal
from medvault.platform.delivery.naming import BUILT_IN, render, timestamp
from medvault.platform.delivery.stamp import StampError, stamp_file
from medvault.platform.delivery.uid import pipeline_uid
from medvault.platform.dicom.extract import DICOM_SYSTEM
from medvault.platform.dicom.tables import instance_headers
from medvault.platform.ledger import Ledger, LoadRecord, PipelineFile, Scan
from medvault.platform.ledger.statuses import COMPLETED, FAILED, IN_PROGRESS, STARTED
from medvault.platform.notify import FailedImage
from medvault.platform.notify.alerts import send_failed_images
from medvault.platform.redact import safe_error
from medvault.platform.results import CheckOutcome, StepResult, TableResult
from medvault.platform.steps.context import StepContext
from medvault.platform.stores.base import join_key
from medvault.platform.zones import local_file

ASSET = ("dicom", "delivered")
# warns when an image of the drop failed or was delivered with problems
CHECK = "images_delivered"
TMP_PREFIX = ".incoming"


@dataclass
class DeliverySummary:
    files: int = 0
    delivered: int = 0
    with_error: int = 0
    failed: int = 0
    unchanged: int = 0
    codes: dict[str, int] = field(default_factory=dict)
    failures: list[FailedImage] = field(default_factory=list)

    def add(self, other: DeliverySummary) -> None:
        """Count another partition's delivery in (a reprocess across partitions)."""
        for name in ("files", "delivered", "with_error", "failed", "unchanged"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.failures += other.failures
        self.codes = dict(sorted((Counter(self.codes) + Counter(other.codes)).items()))

    def as_metadata(self) -> dict:
        return {
            "files": self.files,
            "delivered": self.delivered,
            "delivered_with_error": self.with_error,
            "failed": self.failed,
            "already_delivered": self.unchanged,
            "error_codes": self.codes,
        }


def _extension(name: str) -> str:
    suffix = posixpath.splitext(name)[1].lower()
    return suffix if suffix in (".dcm", ".dicom") else ".dcm"


class _Delivery:
    """One partition's delivery: the ledger, the stores, the naming rules, and what happened."""

    def __init__(self, ctx: StepContext, con):
        self.ctx = ctx
        self.rules = ctx.rules.delivery
        self.ledger = Ledger(con)
        self.site, self.date = ctx.partition
        self.summary = DeliverySummary()
        self.secret = ctx.settings.pseudonym_secret()
        self.headers = instance_headers(con, self.site, self.date)

    def name_for(self, pf: PipelineFile, header: dict) -> tuple[str, str, tuple[str, ...]]:
        builtins = {
            "fileid": pf.id,
            "revision": pf.revision,
            "timestamp": timestamp(pf.created_at),
            "site": self.site,
            "date": self.date.replace("-", ""),
        }
        rendered = render(
            self.rules.template_for(self.site),
            header=header,
            builtins={k: v for k, v in builtins.items() if k in BUILT_IN},
            source_key=pf.source_key,
            partition_prefix=f"{self.site}/{self.date}",
            secret=self.secret,
            site=self.site,
        )
        return rendered.name, rendered.folder, rendered.missing

    def error_log(self, pf: PipelineFile, name: str, code: str, message: str) -> str | None:
        """Write `error_logs/<pipeline>/<name>_error_log.txt` on the delivery store; its key, or None."""
        key = join_key("error_logs", self.rules.code, f"{name}_error_log.txt")
        meaning = CODES[code].meaning if code in CODES else "see the message"
        text = "\n".join(
            [
                f"pipeline: {self.rules.code}",
                f"file_id: {pf.id}",
                f"source: {pf.source_name} ({self.site} {self.date}, revision {pf.revision})",
                f"status: {FAILED if is_fatal(code) else COMPLETED + ' with errors'}",
                f"error_code: {code}",
                f"meaning: {meaning}",
                f"message: {message}",
                f"run: {self.ctx.run_id or '-'}",
                f"at: {datetime.now(UTC).isoformat(timespec='seconds')}",
                "",
            ]
        )
        try:
            self.ctx.delivery.put_bytes(key, text.encode())
        except Exception as exc:  # the failure is still in the ledger; the log is a convenience
            self.ctx.log.warning("error log %s not written: %s", key, safe_error(exc))
            return None
        return key

    def fail(self, pf: PipelineFile, code: str, message: str, name: str) -> None:
        log_key = self.error_log(pf, name, code, message)
        self.ledger.pipeline.move(
            pf.id, FAILED, self.ctx.run_id, has_error=True, error_code=code, error=message, error_log=log_key
        )
        self.summary.failed += 1
        self.summary.failures.append(FailedImage(pf.id, pf.source_name, code, message, log_key))
        self.summary.codes[code] = self.summary.codes.get(code, 0) + 1

    def final_key(self, pf: PipelineFile, folder: str, name: str, ext: str) -> str:
        """The destination key: never one another file holds (a suffix `_2`, `_3`, ... instead)."""
        base = join_key(self.rules.destination, folder)
        planned = join_key(base, f"{name}{ext}")
        if pf.destination_key == planned:  # this file's own earlier (interrupted or reprocessed) copy
            return planned
        n = 1
        key = planned
        while self.ledger.pipeline.destination_taken(self.rules.code, key, pf.id) or self.ctx.delivery.exists(
            key
        ):
            n += 1
            key = join_key(base, f"{name}_{n}{ext}")
        return key

    def deliver(self, pf: PipelineFile, raw_path: str, header: dict) -> None:
        uid = pipeline_uid(self.rules.uid_root, pf.id, 1)
        scan = Scan(pf.id, 1, uid, header["study_uid"], header["series_uid"], header["series_number"], 1)
        name, folder, missing = self.name_for(pf, header)
        key = self.final_key(pf, folder, name, _extension(pf.source_name))
        self.ledger.pipeline.set_scans(pf.id, [scan])
        self.ledger.pipeline.move(
            pf.id, IN_PROGRESS, self.ctx.run_id, file_name=posixpath.basename(key), destination_key=key
        )
        problems: list[tuple[str, str]] = []
        if missing:
            problems.append(("name_field_missing", f"{pf.source_name}: no value for {', '.join(missing)}"))
        try:
            with (
                local_file(self.ctx.lake, raw_path) as src,
                tempfile.TemporaryDirectory(prefix="medvault-") as tmp,
            ):
                out = Path(tmp) / "stamped.dcm"
                try:
                    stamp_file(src, out, uid)
                except StampError as exc:
                    problems.append(("stamp_failed", f"{pf.source_name}: {exc}"))
                    out = src
                tmp_key = join_key(TMP_PREFIX, f"{pf.id}-{uuid.uuid4().hex}.part")
                self.ctx.delivery.upload(out, tmp_key)
                try:
                    self.ctx.delivery.move(tmp_key, key)
                finally:
                    self.ctx.delivery.delete(tmp_key)
        except FileNotFoundError:
            self.fail(pf, "source_missing", f"{pf.source_name}: the raw copy is missing from the lake", name)
            return
        except Exception as exc:
            self.fail(pf, "copy_failed", f"{pf.source_name}: {safe_error(exc)}", name)
            return
        code = problems[0][0] if problems else None
        message = "; ".join(m for _, m in problems) or None
        log_key = self.error_log(pf, name, code, message) if problems else None
        for c, _ in problems:
            self.summary.codes[c] = self.summary.codes.get(c, 0) + 1
        self.summary.with_error += bool(problems)
        self.ledger.pipeline.move(
            pf.id,
            COMPLETED,
            self.ctx.run_id,
            has_error=bool(problems),
            error_code=code,
            error=message,
            error_log=log_key,
        )
        self.summary.delivered += 1


def process(ctx: StepContext, *, keys: set[str] | None = None, force: bool = False) -> DeliverySummary:
    """Deliver the partition's images (only those with a source key in `keys` when given); `force`
    delivers completed files again (a manual reprocess) under their own name."""
    started = time.monotonic()
    with ctx.connect() as con:
        site, date = ctx.partition
        images = [
            (entry, code, reason)
            for entry, code, reason in Ledger(con).files.images(site, date, DICOM_SYSTEM)
            if keys is None or entry.key in keys
        ]
        if not images:
            return DeliverySummary()
        run = _Delivery(ctx, con)
        pipeline = run.ledger.pipeline
        pipeline.ensure_pipeline(run.rules.code, run.rules.label)
        registered = pipeline.register(
            run.rules.code,
            [(e.site, e.date, e.store, e.key, e.sha256) for e, _, _ in images],
            ctx.run_id,
        )
        run.summary.files = len(images)
        for entry, code, reason in images:
            pf = registered[entry.sha256]
            if code is not None:  # quarantined: fails with its reason, once
                if pf.status == FAILED and pf.error_code == code:
                    run.summary.unchanged += 1
                    continue
                if pf.status != STARTED:
                    pipeline.restart(pf.id, ctx.run_id)
                name, _, _ = run.name_for(pf, {})
                run.fail(pf, code, reason or code, name)
                continue
            if pf.status == COMPLETED and not force:
                run.summary.unchanged += 1
                continue
            if pf.status in (COMPLETED, FAILED):
                pipeline.restart(pf.id, ctx.run_id)
                pf = pipeline.get(pf.id)
            header = run.headers.get(entry.sha256)
            if header is None:
                name, _, _ = run.name_for(pf, {})
                run.fail(pf, "unreadable", f"{entry.name}: no header in dicom.instances", name)
                continue
            run.deliver(pf, entry.raw_path, header)
        run.ledger.audit.record(
            LoadRecord(
                "deliver",
                f"delivery:{run.rules.code}",
                run.summary.delivered,
                run.site,
                run.date,
                len(images),
                round(time.monotonic() - started, 3),
            ),
            ctx.run_id,
        )
    run.summary.codes = dict(sorted(run.summary.codes.items()))
    return run.summary


def run(ctx: StepContext) -> StepResult:
    """The partition's delivery and its check (nothing failed, nothing delivered with problems); no
    result when the partition has no image files."""
    summary = process(ctx)
    if not summary.files:
        return StepResult()
    try:
        site, date = ctx.partition
        send_failed_images(
            ctx.settings.smtp,
            ctx.rules.recipients,
            site=site,
            date=date,
            run_id=ctx.run_id,
            ui_url=ctx.settings.ui_url,
            failures=summary.failures,
        )
    except Exception as exc:  # the failures are in the ledger and the error logs; the e-mail is a courtesy
        ctx.log.warning("the admins' summary of failed images was not sent: %s", safe_error(exc))
    return StepResult(
        tables=[TableResult(ASSET, summary.as_metadata(), summary.delivered + summary.unchanged)],
        checks=[
            CheckOutcome(
                CHECK,
                ASSET,
                passed=summary.failed == 0 and summary.with_error == 0,
                warn=True,
                metadata={
                    "failed": summary.failed,
                    "delivered_with_error": summary.with_error,
                    "error_codes": summary.codes,
                },
            )
        ],
    )


def reprocess(ctx: StepContext, keys: list[str]) -> tuple[DeliverySummary, list[str], list[tuple[str, str]]]:
    """Seed 004's manual trigger: deliver the files of these source keys again, partition by partition;
    (what happened, the keys no pipeline file has, the partitions delivered)."""
    with ctx.connect() as con:
        known = Ledger(con).pipeline.files(ctx.rules.delivery.code, keys=keys)
    unknown = sorted(set(keys) - {f.source_key for f in known})
    total = DeliverySummary()
    partitions = sorted({(f.site, f.date) for f in known})
    for site, date in partitions:
        with ctx.for_partition(site, date) as part, part.session():
            summary = process(
                part, keys={f.source_key for f in known if (f.site, f.date) == (site, date)}, force=True
            )
        total.add(summary)
    return total, unknown, partitions


def listing(ctx: StepContext, site: str | None = None, status: str | None = None) -> list[PipelineFile]:
    """The pipeline's files (for `medvault dicom files`), narrowed by site and status."""
    with ctx.connect() as con:
        files = Ledger(con).pipeline.files(ctx.rules.delivery.code, site=site)
    return [f for f in files if status is None or f.status == status]

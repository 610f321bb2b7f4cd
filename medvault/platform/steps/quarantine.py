"""Quarantine you can act on: list what is quarantined, show one file's reason and history, and release
files back in once the cause is fixed (say the missing source definition was added).

A release re-identifies the quarantined copy against the current rules; a file that now fits goes to the
raw zone and becomes `received` again (an event in its history), so the partition's next run stages it.
What was quarantined for its path or as a duplicate is not released: the fix there is a new drop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from medvault.platform.drops.layout import STRAYS_SITE
from medvault.platform.ingest.faults import FileFault
from medvault.platform.ingest.identify import identify
from medvault.platform.ledger import Ledger, QuarantinedFile
from medvault.platform.steps.context import StepContext
from medvault.platform.warehouse import transaction
from medvault.platform.zones import local_file

# quarantined for where or how it arrived, not for what it holds: a release cannot fix these
NOT_RELEASABLE = {
    "hidden_file": "hidden files are not data",
    "bad_file_name": "its name is not valid UTF-8",
    "unsafe_path": "its path is unsafe",
    "outside_convention": "it is outside the drop convention",
    "bad_site": "its site folder is not a site code",
    "bad_date_folder": "its date folder is not a date",
    "date_out_of_range": "its date folder is outside the partition range",
    "duplicate_content": "the same bytes are already loaded under another name",
    "duplicate_instance": "its image is already loaded from another file",
}


@dataclass
class ReleaseResult:
    released: list[QuarantinedFile] = field(default_factory=list)
    refused: list[tuple[QuarantinedFile, str]] = field(default_factory=list)

    @property
    def partitions(self) -> list[tuple[str, str]]:
        return sorted({(f.site, f.date) for f in self.released})


def listing(
    ctx: StepContext, site: str | None = None, reason_code: str | None = None
) -> list[QuarantinedFile]:
    with ctx.connect() as con:
        return Ledger(con).files.in_quarantine(site, reason_code)


def find(ctx: StepContext, ids: list[str]) -> list[QuarantinedFile | None]:
    """Quarantined files by id (None where no file has it), in the order given."""
    with ctx.connect() as con:
        ledger = Ledger(con)
        return [ledger.files.by_id(i) for i in ids]


def show(ctx: StepContext, file_id: str) -> tuple[QuarantinedFile, dict, list[tuple]] | None:
    """The file, its reason as kept in the quarantine zone, and its status history."""
    with ctx.connect() as con:
        ledger = Ledger(con)
        found = ledger.files.by_id(file_id)
        if found is None:
            return None
        history = ledger.files.history(found.ref)
    reason = ctx.quarantine.reason(found.quarantine_path) if found.quarantine_path else {}
    return found, reason, history


def _refusal(ctx: StepContext, ledger: Ledger, f: QuarantinedFile) -> str | tuple:
    """Why the file cannot be released, or (its identification, local path context) when it can."""
    if f.site == STRAYS_SITE:
        return "it belongs to no partition (a stray); drop it again under <site>/<date>/"
    if f.reason_code in NOT_RELEASABLE:
        return NOT_RELEASABLE[f.reason_code]
    if not f.quarantine_path or not ctx.quarantine.store.exists(f.quarantine_path):
        return "no copy of it was kept"
    if ledger.files.active_versions(f.ref):
        return "a later version of the file is already active"
    if ledger.files.twin(f.ref) is not None:
        return "the same bytes are already active under another name"
    return ()


def release(ctx: StepContext, files: list[QuarantinedFile]) -> ReleaseResult:
    result = ReleaseResult()
    with ctx.connect() as con:
        ledger = Ledger(con)
        for f in files:
            why = _refusal(ctx, ledger, f)
            if why:
                result.refused.append((f, why))
                continue
            name = f.key.rsplit("/", 1)[-1]
            with local_file(ctx.quarantine.store, f.quarantine_path) as path:
                try:
                    verdict = identify(path, name, ctx.rules)
                except FileFault as fault:
                    result.refused.append((f, f"still {fault.code} under the current rules"))
                    continue
                raw_key = ctx.raw.put(path, f.site, f.date, verdict.system, verdict.version, f.sha256, name)
            with transaction(con):
                ledger.files.release(
                    f.ref, verdict.system, verdict.version, verdict.table, raw_key, ctx.run_id
                )
            result.released.append(f)
    return result

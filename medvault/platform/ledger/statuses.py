"""File statuses in `ops.file_manifest`: the one list every module uses.

received (identified, raw copy kept) -> loaded | quarantined; an earlier version of a file replaced
under the same name becomes superseded. A file is *active* while received or loaded.
"""

RECEIVED = "received"
LOADED = "loaded"
QUARANTINED = "quarantined"
SUPERSEDED = "superseded"

FILE_STATUSES = (RECEIVED, LOADED, QUARANTINED, SUPERSEDED)
ACTIVE = (RECEIVED, LOADED)

# a file's way through a delivery pipeline (seed 004, `ops.pipeline_file`): started -> in_progress ->
# completed (delivered; `has_error` when with problems) | failed (not delivered)
STARTED, IN_PROGRESS, COMPLETED, FAILED = "started", "in_progress", "completed", "failed"
PIPELINE_STATUSES = (STARTED, IN_PROGRESS, COMPLETED, FAILED)

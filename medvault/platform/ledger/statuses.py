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

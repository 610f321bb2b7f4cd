"""The drop sensor's incremental scan: which files are new and stable since the last tick.

Pure Python over any `ObjectStore` (local, S3, SFTP); the Dagster sensor only turns a `ScanResult` into
run requests, dynamic-partition requests and its new cursor.

What one tick lists (never the whole store):
1. the root, for site folders (and stray files at the root);
2. each site folder, for date folders (and stray files at site level);
3. only the date folders that need it: folders new to the cursor, folders within `lookback_days` of the
   reference date, and folders still holding files that were not stable last tick. The reference date
   is `today` when given, otherwise the site's newest date folder. Every other date folder the cursor
   already knows is "closed" and not listed again.

Two optional store hooks make this cheaper where the backend allows (the scan falls back to
`list_prefixes`/`list_objects` otherwise): `list_level(prefix)` returns folders and files of one level in
one call (S3 and SFTP have it), and `list_folder_range(parent, first, last)` lists adjacent date folders
in one request (S3: the whole look-back window of a site is one `ListObjectsV2` with `StartAfter`). A
store with `max_concurrency > 1` (S3) has its sites listed in parallel threads.
`listed_prefixes` counts listing calls (root, sites, date folders or ranges, stray folders);
`listed_objects` counts the file entries they returned.

Consequence (by design): a file that arrives late into a closed folder (older than the look-back window)
is not seen. Rescan with `scan(store, cursor, full=True)` (lists every folder again, hands out files
whose version the cursor no longer remembers) or `scan(store, None)`; the run key and the ingest's
sha256 dedupe make such rescans safe.

A folder still holding a pending file (say an abandoned `x.csv.part`) stays open, and listed, until the
file completes or disappears, even after it left the window.

Stability: a data file is ready when its date folder holds `_DONE`, or `<name>.done` exists, or it
replaced a `<name>.part` (or other partial name) seen on the previous tick, or it shows the same size and
mtime as on the previous tick. Partial names (`*.part`, `*.tmp`, ...) are never ready; markers are never
data. Hidden files and files in subfolders of a date folder are handed out like any other file: the
ingest decides (and quarantines them with a reason).

A file handed out once is not handed out again while its version (S3 ETag, else size+mtime) is the
same: an identical re-upload to S3 is not new; on mtime-based stores (local, SFTP) a re-upload is a new
version (the ingest dedupes by sha256). Changed content is new. SFTP reports mtimes in whole seconds:
a rewrite with the same size within the same second looks unchanged (a marker or `.part` rename avoids
this). A `_DONE` marker vouches for every file in its folder, so uploaders must write it last.

Folders outside the drop convention (a site folder that is not lower_snake_case, a non-date folder in a
site) are listed once and their files reported as strays; like late files into closed folders, files
added to such a folder later need `full=True`. Stray files at root and site level are reported once
per version.

The cursor is compact JSON (a sensor cursor is a string); per-file state is kept only for folders in the
window, closed folders are kept as date ranges, so it stays small (tens of KB for 10,000 files).
"""

from __future__ import annotations

import json
import posixpath
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date as Date
from datetime import timedelta

from medvault.platform.drops.cursor import CURSOR_VERSION, decode_dates, encode_dates, load_cursor, vdigest
from medvault.platform.drops.layout import (
    DROP_DONE_MARKER,
    MARKER_SUFFIXES,
    PARTIAL_SUFFIXES,
    DropLayoutError,
    is_marker,
    is_partial,
    is_valid_date,
    is_valid_site,
    parse_drop_key,
)
from medvault.platform.drops.ready import ReadyFile, ScanResult
from medvault.platform.redact import safe_error
from medvault.platform.stores.base import ObjectStore, StoredObject


# -- the scan -----------------------------------------------------------------------------------------
def _runs(dates: list[str], wanted: set[str]) -> list[list[str]]:
    """Maximal runs of wanted dates that are adjacent in the (sorted) folder list."""
    runs: list[list[str]] = []
    current: list[str] = []
    for d in dates:
        if d in wanted:
            current.append(d)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


@dataclass
class _SiteListing:
    """Everything listed for one site in one tick (gathered first, possibly in a worker thread)."""

    folders: list[str]
    site_files: list[StoredObject]
    dates: list[str]
    in_window: set[str]
    listed: dict[str, list[StoredObject]]  # date -> files, for the date folders listed this tick
    bad_listed: dict[str, list[StoredObject]]  # stray folder prefix -> files
    too_old: set[str] = field(default_factory=set)  # stray folders whose date is before the partition range
    future: list[str] = field(default_factory=list)
    prefixes: int = 0
    objects: int = 0


class _Scanner:
    def __init__(
        self,
        store: ObjectStore,
        state: dict,
        lookback_days: int,
        today: Date | None,
        full: bool,
        dates: tuple[str, str] | None = None,
    ):
        self.store = store
        self.first, self.last = dates or ("0000-00-00", "9999-99-99")
        self.old_pending: dict[str, list] = state["p"]
        self.old_strays: dict[str, str] = state["x"]
        self.bad_done: set[str] = set() if full else set(state["b"])
        self.sites: dict[str, dict] = state["s"]
        self.lookback = timedelta(days=max(0, int(lookback_days)))
        self.today = today
        self.full = full
        self.result = ScanResult()
        self.pending: dict[str, list] = {}
        self.strays_seen: dict[str, str] = {}
        self.new_bad: set[str] = set(self.bad_done)
        self.pending_folders = {"/".join(k.split("/")[:2]) for k in self.old_pending}  # "site/date"

    # -- listing (pure I/O; safe to run per site in worker threads) ------------------------------
    def _level(self, prefix: str) -> tuple[list[str], list[StoredObject]]:
        lister = getattr(self.store, "list_level", None)
        if lister is not None:
            return lister(prefix)
        folders = self.store.list_prefixes(prefix)
        return folders, list(self.store.list_objects(prefix, recursive=False))

    def _date_plan(self, site: str, dates: list[str]) -> tuple[set[str], list[str]]:
        """(dates in the look-back window, dates to list this tick)."""
        site_state = self.sites.get(site, {})
        open_state = site_state.get("o", {})
        closed = decode_dates(site_state.get("c", ""))
        reference = self.today or (Date.fromisoformat(dates[-1]) if dates else None)
        cutoff = (reference - self.lookback).isoformat() if reference else ""
        in_window = {d for d in dates if d >= cutoff}
        to_list = []
        for d in dates:
            known = d in open_state or d in closed
            had_pending = f"{site}/{d}" in self.pending_folders
            if self.full or not known or (d in open_state and (d in in_window or had_pending)):
                to_list.append(d)
        return in_window, to_list

    def _list_site_safely(self, site: str) -> _SiteListing | Exception:
        try:
            return self.list_site(site)
        except Exception as exc:  # noqa: BLE001 - reported per site, never fails the tick
            return exc

    def list_site(self, site: str) -> _SiteListing:
        folders, site_files = self._level(site)
        valid = sorted(d for d in folders if is_valid_date(d))
        dates = [d for d in valid if self.first <= d <= self.last]
        in_window, to_list = self._date_plan(site, dates)
        out = _SiteListing(folders, site_files, dates, in_window, {}, {}, prefixes=1, objects=len(site_files))
        out.too_old = {f"{site}/{d}" for d in valid if d < self.first}
        out.future = [f"{site}/{d}" for d in valid if d > self.last]  # not yet a partition: wait
        ranged = getattr(self.store, "list_folder_range", None)
        for run in _runs(dates, set(to_list)):
            if ranged is not None and len(run) > 1:
                # Adjacent folders in one ranged listing (S3: one request for the whole look-back
                # window instead of one per folder).
                wanted = set(run)
                out.listed.update({d: [] for d in run})
                out.prefixes += 1
                for obj in ranged(site, run[0], run[-1]):
                    out.objects += 1
                    day = obj.key.split("/", 2)[1]
                    if day in wanted:
                        out.listed[day].append(obj)
                continue
            for d in run:
                objs = list(self.store.list_objects(f"{site}/{d}", recursive=True))
                out.listed[d] = objs
                out.prefixes += 1
                out.objects += len(objs)
        for d in folders:
            prefix = f"{site}/{d}"
            if (not is_valid_date(d) or prefix in out.too_old) and prefix not in self.bad_done:
                objs = list(self.store.list_objects(prefix, recursive=True))
                out.bad_listed[prefix] = objs
                out.prefixes += 1
                out.objects += len(objs)
        return out

    # -- strays ---------------------------------------------------------------------------------
    def stray(self, obj: StoredObject, reason: tuple[str, str] | None = None) -> None:
        name = posixpath.basename(obj.key)
        if is_marker(name) or is_partial(name):
            return
        vd = vdigest(obj.version)
        self.strays_seen[obj.key] = vd
        if self.old_strays.get(obj.key) == vd:
            return  # already reported at this version
        if reason is not None:
            code, message = reason[0], f"{obj.key!r}: {reason[1]}"
        else:
            try:
                parse_drop_key(obj.key)
                code, message = "outside_convention", f"{obj.key!r}: file outside the drop convention"
            except DropLayoutError as exc:
                code, message = exc.code, str(exc)
        self.result.strays.append((obj.key, code, message))

    def stray_folder(
        self, prefix: str, objs: list[StoredObject], reason: tuple[str, str] | None = None
    ) -> None:
        """A folder outside the convention: report its files; remember it once nothing in it is partial."""
        for obj in objs:
            self.stray(obj, reason)
        if not any(is_partial(posixpath.basename(o.key)) for o in objs):
            self.new_bad.add(prefix)  # not listed again (until a full rescan)

    # -- the tick -------------------------------------------------------------------------------
    def run(self) -> ScanResult:
        folders, files = self._level("")
        self.result.listed_prefixes += 1
        self.result.listed_objects += len(files)
        for obj in files:
            self.stray(obj)
        sites = [name for name in folders if is_valid_site(name)]
        for name in folders:
            if not is_valid_site(name) and name not in self.bad_done:
                objs = list(self.store.list_objects(name, recursive=True))
                self.result.listed_prefixes += 1
                self.result.listed_objects += len(objs)
                self.stray_folder(name, objs)

        workers = max(1, min(int(getattr(self.store, "max_concurrency", 1) or 1), len(sites)))
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="drop-scan") as pool:
                listings = list(pool.map(self._list_site_safely, sites))
        else:
            listings = [self._list_site_safely(site) for site in sites]

        new_state: dict[str, dict] = {}
        present = set(folders)
        for site, listing in zip(sites, listings, strict=True):
            if isinstance(listing, Exception):  # one site's failure never fails the tick: it is retried
                self.result.errors[site] = safe_error(listing)
                if site in self.sites:
                    new_state[site] = self.sites[site]
                present.update(p for p in self.bad_done if p.startswith(f"{site}/"))
                continue
            self.result.listed_prefixes += listing.prefixes
            self.result.listed_objects += listing.objects
            if site not in self.sites:
                self.result.new_sites.append(site)
            present.update(f"{site}/{d}" for d in listing.folders)
            self.result.future += listing.future
            new_state[site] = self.process_site(site, listing)

        bad = sorted(p for p in self.new_bad if p in present)  # stray folders that vanished are forgotten
        state = {"v": CURSOR_VERSION, "s": new_state, "p": self.pending, "b": bad, "x": self.strays_seen}
        self.result.cursor = json.dumps(state, separators=(",", ":"), sort_keys=True)
        self.result.new_sites.sort()
        self.result.pending.sort()
        self.result.strays.sort()
        for ready in self.result.ready.values():
            ready.sort(key=lambda f: f.key)
        return self.result

    def process_site(self, site: str, listing: _SiteListing) -> dict:
        for obj in listing.site_files:
            self.stray(obj)
        for prefix, objs in listing.bad_listed.items():
            reason = None
            if prefix in listing.too_old:
                reason = (
                    "date_out_of_range",
                    f"the date folder is before MEDVAULT_START_DATE ({self.first})",
                )
            self.stray_folder(prefix, objs, reason)
        open_state: dict[str, dict[str, str]] = self.sites.get(site, {}).get("o", {})
        new_open: dict[str, dict[str, str]] = {}
        new_closed: set[str] = set()
        for d in listing.dates:
            if d in listing.listed:
                handed, still_pending = self.process_date(site, d, open_state.get(d, {}), listing.listed[d])
                if d in listing.in_window or still_pending:
                    new_open[d] = handed
                    continue
            # Out of the window with nothing pending (or closed before): keep only the folder name.
            new_closed.add(d)
        out: dict = {}
        if new_open:
            out["o"] = new_open
        if new_closed:
            out["c"] = encode_dates(new_closed)
        return out

    def process_date(
        self, site: str, day: str, handed: dict[str, str], objs: list[StoredObject]
    ) -> tuple[dict[str, str], bool]:
        """Decide which files of one listed date folder are ready; return the folder's new
        {name: version digest} of handed-out files and whether anything in it is still pending."""
        prefix = f"{site}/{day}/"
        by_name = {o.key[len(prefix) :]: o for o in objs if o.key.startswith(prefix)}
        folder_done = DROP_DONE_MARKER in by_name
        done_names = {
            name[: -len(suffix)] for name in by_name for suffix in MARKER_SUFFIXES if name.endswith(suffix)
        }
        new_handed: dict[str, str] = {}
        any_pending = False
        for name, obj in sorted(by_name.items()):
            base = posixpath.basename(name)
            if is_marker(base):
                continue
            if is_partial(base):
                self.pending[obj.key] = [obj.size, obj.mtime]
                self.result.pending.append(obj.key)
                any_pending = True
                continue
            vd = vdigest(obj.version)
            if handed.get(name) == vd:
                new_handed[name] = vd  # handed out before at this version
                continue
            marked = folder_done or name in done_names
            stable = (
                marked
                or self.old_pending.get(obj.key) == [obj.size, obj.mtime]
                or any(
                    obj.key + suffix in self.old_pending and name + suffix not in by_name
                    for suffix in PARTIAL_SUFFIXES
                )
            )
            if not stable:
                self.pending[obj.key] = [obj.size, obj.mtime]
                self.result.pending.append(obj.key)
                any_pending = True
                continue
            new_handed[name] = vd
            self.result.ready.setdefault((site, day), []).append(
                ReadyFile(
                    site=site,
                    date=day,
                    key=obj.key,
                    size=obj.size,
                    mtime=obj.mtime,
                    version=obj.version,
                    marked=marked,
                )
            )
        return new_handed, any_pending


def scan(
    store: ObjectStore,
    cursor: str | None,
    lookback_days: int = 3,
    today: Date | None = None,
    full: bool = False,
    dates: tuple[str, str] | None = None,
) -> ScanResult:
    """One sensor tick over `store`: new stable files per (site, date), new sites, strays, next cursor.

    `cursor` is the previous tick's `ScanResult.cursor` (None for the first tick). `full=True` lists
    every folder again (for late files into folders older than the look-back window). `dates` is the
    partition range (first, last, YYYY-MM-DD): a date folder before it is a stray (`date_out_of_range`),
    one after it waits (listed in `future`) until the range reaches it. A site whose listing fails is
    reported in `errors` and keeps its cursor state, so the next tick tries it again.
    """
    state = load_cursor(cursor)
    return _Scanner(store, state, lookback_days, today, full, dates).run()

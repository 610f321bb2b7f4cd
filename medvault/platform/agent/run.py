"""`once`, `check` and `schedule`: what `medvault agent ...` runs (the CLI only parses options).

`once` first finishes a batch an earlier run left in the outbox, then extracts and pushes what changed
since. Its log says what was sent (tables, rows, files, bytes, seconds), never a value. Any failure
raises `AgentError` with one sentence; the command turns it into a non-zero exit for cron or a
Kubernetes CronJob to alert on.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version

from medvault.platform.agent.database import Database, DatabaseError, DatabaseUrl
from medvault.platform.agent.destination import describe_destination, open_destination
from medvault.platform.agent.extract import choose_spec, count_sql, extract_batch
from medvault.platform.agent.outbox import Outbox
from medvault.platform.agent.push import Pushed, push_batch
from medvault.platform.agent.spec import SpecError, available
from medvault.platform.agent.state import AgentState, StateError, StateLock
from medvault.platform.config import SettingsError
from medvault.platform.config.agent import AgentSettings, interval_seconds
from medvault.platform.drops.layout import is_valid_site
from medvault.platform.stores.base import StoreError

log = logging.getLogger("medvault.agent")


class AgentError(RuntimeError):
    """A run that could not complete; the message is the sentence an operator reads."""


def agent_version() -> str:
    try:
        return version("medvault")
    except PackageNotFoundError:
        return "unknown"


def _size(n: int) -> str:
    """Bytes for a log line: 812 B, 40.3 KB, 35.9 MB."""
    if n < 1000:
        return f"{n} B"
    return f"{n / 1e3:.1f} KB" if n < 1e6 else f"{n / 1e6:.1f} MB"


@dataclass
class RunReport:
    site: str
    destination: str
    spec: str = ""
    pushed: list[Pushed] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.pushed)

    @property
    def bytes_sent(self) -> int:
        return sum(p.bytes_sent for p in self.pushed)

    def to_dict(self) -> dict:
        return {
            "site": self.site,
            "destination": self.destination,
            "rules": self.spec,
            "batches": [p.batch for p in self.pushed],
            "tables": self.tables,
            "rows": self.rows,
            "bytes_sent": self.bytes_sent,
            "seconds": round(self.seconds, 3),
        }


def _validate(settings: AgentSettings) -> DatabaseUrl:
    try:
        settings.require("site", "db", "to")
    except SettingsError as exc:
        raise AgentError(str(exc)) from None
    if settings.format == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise AgentError(
                "--format parquet needs pyarrow: pip install 'medvault[agent,parquet]'"
            ) from None
    if not is_valid_site(settings.site):
        raise AgentError(
            f"site {settings.site!r} is not a site code (lower_snake_case, as in rules/sites.yaml)"
        )
    try:
        return DatabaseUrl.parse(settings.db)
    except DatabaseError as exc:
        raise AgentError(str(exc)) from None


def _connect(settings: AgentSettings, url: DatabaseUrl) -> Database:
    return Database.connect(url, settings.db_password, settings.timeout, settings.retries, settings.backoff)


def _send(store, state: AgentState, batch, report: RunReport) -> None:
    pushed = push_batch(store, batch, agent_version())
    for name, entry in batch.manifest["tables"].items():
        state.advance(f"{batch.manifest['system']}/{batch.manifest['version']}", name, entry, batch.id)
        report.tables[name] = report.tables.get(name, 0) + entry["rows"]
    state.save()  # only now: the batch is complete at the destination
    Outbox.remove(batch)
    report.pushed.append(pushed)
    log.info(
        "agent: pushed batch %s to %s: %d file(s), %d row(s), %s sent%s in %.1f s",
        pushed.batch,
        pushed.folder,
        pushed.files,
        pushed.rows,
        _size(pushed.bytes_sent),
        f" ({pushed.skipped} already there)" if pushed.skipped else "",
        pushed.seconds,
    )


def once(settings: AgentSettings) -> RunReport:
    """Finish a pending batch, then extract and push what changed; raise AgentError on any failure."""
    url = _validate(settings)
    began = time.monotonic()
    report = RunReport(settings.site, describe_destination(settings.to))
    folder = settings.state / settings.site
    try:
        with StateLock(folder):
            state = AgentState.load(folder / "state.json", settings.site)
            outbox = Outbox(folder / "outbox")
            for name in outbox.discard_incomplete():
                log.warning(
                    "agent: discarded batch %s (its extraction did not finish; it is extracted again)", name
                )
            specs = available(settings.rules, settings.system)
            pending = outbox.pending()
            store = open_destination(settings) if pending else None
            try:
                for batch in pending:
                    log.info("agent: resuming batch %s (%d file(s))", batch.id, len(batch.files))
                    _send(store, state, batch, report)
                with _connect(settings, url) as db:
                    spec = choose_spec(db, specs, settings.version)
                    report.spec = spec.label
                    extraction = extract_batch(
                        db, spec, state, outbox, settings.site, settings.format, settings.file_rows
                    )
                for t in extraction.tables:
                    log.info(
                        "agent: extracted %s %s: %d row(s), %d file(s), %s in %.1f s",
                        spec.label,
                        t.table,
                        t.rows,
                        t.files,
                        _size(t.bytes),
                        t.seconds,
                    )
                if extraction.batch is None:
                    log.info("agent: nothing changed since the last push")
                else:
                    store = store or open_destination(settings)
                    _send(store, state, extraction.batch, report)
            finally:
                if store is not None:
                    store.close()
    except (DatabaseError, StoreError, StateError, SpecError, OSError) as exc:
        raise AgentError(str(exc)) from None
    report.seconds = time.monotonic() - began
    return report


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def check(settings: AgentSettings) -> list[Check]:
    """Rules, database (reachable, credentials, read-only snapshot, schema version), the rows a push would
    send, and the destination (host key, key auth, a write) — every check runs, each says what it found."""
    out: list[Check] = []
    try:
        url = _validate(settings)
    except AgentError as exc:
        return [Check("settings", False, str(exc))]
    out.append(
        Check(
            "settings", True, f"site {settings.site}, database {url}, to {describe_destination(settings.to)}"
        )
    )
    try:
        specs = available(settings.rules, settings.system)
        out.append(Check("rules", True, ", ".join(s.label for s in specs)))
    except SpecError as exc:
        return [*out, Check("rules", False, str(exc))]
    folder = settings.state / settings.site
    try:
        state = AgentState.load(folder / "state.json", settings.site)
        pending = Outbox(folder / "outbox").pending()
        out.append(
            Check(
                "state",
                True,
                f"{folder} ({len(state.tables)} table watermark(s), "
                f"{len(pending)} batch(es) waiting to be pushed)",
            )
        )
    except (StateError, OSError, ValueError) as exc:
        out.append(Check("state", False, str(exc)))
        state = AgentState(folder / "state.json", settings.site)
    try:
        with _connect(settings, url) as db:
            out.append(Check("database", True, f"connected to {url}"))
            spec = choose_spec(db, specs, settings.version)
            out.append(Check("schema", True, f"{spec.label} fits the database"))
            with db.snapshot():
                for table in spec.tables:
                    sql, params = count_sql(table, state.since(spec.label, table.name))
                    n = db.scalar(sql, params, f"counting {table.name}")
                    out.append(Check(f"rows {table.name}", True, f"{n} row(s) would be sent"))
    except DatabaseError as exc:
        out.append(Check("database", False, str(exc)))
    try:
        store = open_destination(settings)
        try:
            probe = f"{settings.site}/_agent_check.part"
            store.put_bytes(probe, b"medvault agent check\n")
            store.delete(probe)
            out.append(
                Check(
                    "destination",
                    True,
                    f"{store.describe()}: connected, host key pinned, can write under {settings.site}/",
                )
            )
        finally:
            store.close()
    except (StoreError, OSError) as exc:
        out.append(Check("destination", False, str(exc)))
    return out


def schedule(settings: AgentSettings, stop: threading.Event, max_failures: int = 0, runs: int = 0) -> int:
    """Run `once` every `settings.every` until `stop` is set; a failed run is logged and tried again at the
    next slot. Return 1 after `max_failures` failures in a row (0: never), else 0. `runs` bounds the
    number of runs (0: no bound; for tests)."""
    every = interval_seconds(settings.every)
    failures = done = 0
    while not stop.is_set():
        began = time.monotonic()
        try:
            report = once(settings)
            failures = 0
            log.info("agent: run done: %d row(s), %s sent", report.rows, _size(report.bytes_sent))
        except AgentError as exc:
            failures += 1
            log.error("agent: run failed (%d in a row): %s", failures, exc)
            if max_failures and failures >= max_failures:
                return 1
        done += 1
        if runs and done >= runs:
            break
        stop.wait(max(0.0, every - (time.monotonic() - began)))
    return 0

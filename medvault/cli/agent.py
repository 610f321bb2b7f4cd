"""`medvault agent once|schedule|check`: the site agent's commands (docs/agent.md).

Imported without the rest of the CLI, so `pip install medvault[agent]` (no Dagster, no DuckDB) runs it.
Every option falls back to its `MEDVAULT_AGENT_*` variable; secrets have no option at all.
Exit codes: 0 done, 1 the run failed (the message says why), 2 the command was given something it
cannot use.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path

from medvault.platform.config import SettingsError, keep_files_private


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--site", help="site code the drops are pushed as (MEDVAULT_AGENT_SITE)")
    p.add_argument(
        "--db", help="PACS database URL, no password: mysql://user@host:3306/db (MEDVAULT_AGENT_DB)"
    )
    p.add_argument(
        "--to",
        help="destination: sftp://user@host:port/path, s3://bucket/prefix or a folder (MEDVAULT_AGENT_TO)",
    )
    p.add_argument("--system", help="source system of the extraction rules (MEDVAULT_AGENT_SYSTEM)")
    p.add_argument("--version", dest="schema_version", help="schema version or auto (MEDVAULT_AGENT_VERSION)")
    p.add_argument("--rules", help="folder of extraction rules (MEDVAULT_AGENT_RULES)")
    p.add_argument("--state", help="state folder: watermarks, outbox, lock (MEDVAULT_AGENT_STATE)")
    p.add_argument(
        "--format", dest="file_format", choices=("csv.gz", "parquet"), help="(MEDVAULT_AGENT_FORMAT)"
    )
    p.add_argument("--file-rows", type=int, help="at most this many rows per file (MEDVAULT_AGENT_FILE_ROWS)")
    p.add_argument("--retries", type=int, help="retries of a connection or transfer (MEDVAULT_AGENT_RETRIES)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object on stdout")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="medvault agent", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="agent_command", required=True)
    once = sub.add_parser("once", help="push what changed since the last push, then exit")
    _common(once)
    sched = sub.add_parser("schedule", help="push every --every until stopped (SIGTERM, Ctrl-C)")
    _common(sched)
    sched.add_argument("--every", help="interval: 30m, 1h, 1d (MEDVAULT_AGENT_EVERY)")
    sched.add_argument(
        "--max-failures", type=int, default=0, help="exit 1 after this many failed runs in a row (0: never)"
    )
    check = sub.add_parser(
        "check",
        help="check rules, database, credentials, host key and destination; print the rows a push would send",
    )
    _common(check)
    return parser


def _settings(args):
    from medvault.platform.config.agent import AgentSettings

    return AgentSettings.from_env().override(
        site=args.site,
        db=args.db,
        to=args.to,
        system=args.system,
        version=args.schema_version,
        rules=args.rules and Path(args.rules),
        state=args.state and Path(args.state),
        format=args.file_format,
        file_rows=args.file_rows,
        retries=args.retries,
        every=getattr(args, "every", None),
    )


def _logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S%z"))
    logger = logging.getLogger("medvault.agent")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False


def main(argv: list[str]) -> int:
    from medvault.platform.agent.run import AgentError, check, once, schedule

    args = build_parser().parse_args(argv)
    keep_files_private()  # the outbox holds patient rows until they are pushed
    _logging()
    try:
        settings = _settings(args)
        if args.agent_command == "check":
            results = check(settings)
            if args.json:
                print(json.dumps([r.__dict__ for r in results], indent=1))
            else:
                for r in results:
                    print(f"{'ok  ' if r.ok else 'FAIL'} {r.name}: {r.detail}")
            return 0 if all(r.ok for r in results) else 1
        if args.agent_command == "once":
            report = once(settings)
            if args.json:
                print(json.dumps(report.to_dict(), sort_keys=True))
            return 0
        stop = threading.Event()

        def _stop(signum, frame):
            logging.getLogger("medvault.agent").info(
                "agent: stopping (signal %d) after the current run", signum
            )
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, _stop)
        settings.require("site", "db", "to")
        return schedule(settings, stop, max_failures=args.max_failures)
    except SettingsError as exc:
        print(f"medvault agent: {exc}", file=sys.stderr)
        return 2
    except AgentError as exc:
        print(f"medvault agent: failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C: the outbox keeps a sealed batch, the next run resumes it
        print("medvault agent: interrupted", file=sys.stderr)
        return 130

"""The `medvault` command: config, rules check, generate, identify, run, backfill, demo, status,
quarantine, sites, dicom, dashboard, agent."""

from __future__ import annotations

import argparse
import signal
import sys
from importlib.metadata import PackageNotFoundError, version

from medvault.platform.config import SettingsError, keep_files_private


def _version() -> str:
    try:
        return version("medvault")
    except PackageNotFoundError:  # running from a checkout that was not installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    from medvault.cli import admin, data, dicom, reports, runs

    parser = argparse.ArgumentParser(prog="medvault", description=__doc__)
    parser.add_argument("--version", action="version", version=f"medvault {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    data.add_parsers(sub)
    runs.add_parsers(sub)
    admin.add_parsers(sub)
    dicom.add_parsers(sub)
    reports.add_parsers(sub)
    # parsed by medvault/cli/agent.py; listed here for `medvault --help`
    sub.add_parser("agent", help="the site agent: once, schedule, check (medvault agent --help)", add_help=False)
    return parser


def _interrupt(signum, frame):
    from medvault.platform import stopping

    stopping.request()
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run one command; a problem the user can fix is one sentence (or the rules report) and exit 2."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["agent"]:  # the site agent needs neither Dagster nor DuckDB: import none of them
        from medvault.cli import agent

        return agent.main(argv[1:])
    from medvault.cli.common import UsageError, report_rules
    from medvault.platform import stopping
    from medvault.platform.rules import RulesError
    from medvault.platform.stores.base import StoreError
    from medvault.platform.warehouse import WarehouseLocked

    args = build_parser().parse_args(argv)
    keep_files_private()
    for sig in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C, a container stop or `kill`: stop cleanly
        signal.signal(sig, _interrupt)
    try:
        return args.func(args)
    except RulesError as exc:
        report_rules(exc)
        return 2
    except (SettingsError, StoreError, WarehouseLocked, UsageError) as exc:
        print(f"medvault: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"medvault: {stopping.reason() or 'interrupted'}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

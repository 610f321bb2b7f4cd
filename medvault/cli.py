"""The `medvault` command: config, rules check, generate, identify, run, demo, status."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

from medvault.platform.config import Settings, SettingsError, describe
from medvault.platform.rules import RulesError


def _report_rules(exc: RulesError) -> None:
    """One line per rule problem, naming its file and key path (the `rules check` report)."""
    print(f"rules check failed: {len(exc.problems)} problem(s)", file=sys.stderr)
    for problem in exc.problems:
        print(f"  {problem}", file=sys.stderr)


def _rules_dir(args) -> Path:
    return Path(args.rules) if getattr(args, "rules", None) else Settings.from_env().rules


def cmd_config(args) -> int:
    """Print every setting with its current value (secrets and URL credentials masked)."""
    for name, value in describe():
        print(f"{name:32} {value}")
    return 0


def cmd_rules_check(args) -> int:
    from medvault.platform.rules import load_rules

    try:
        rules = load_rules(_rules_dir(args))
    except RulesError as exc:
        _report_rules(exc)
        return 1
    tables = sum(len(s.tables) for s in rules.sources)
    print(
        f"rules OK: {len(rules.sites)} sites, {len(rules.sources)} source versions, {tables} tables, "
        f"{len(rules.vault.hubs)} hubs, {len(rules.vault.links)} links, {len(rules.vault.satellites())} satellites"
    )
    return 0


def cmd_generate(args) -> int:
    from medvault.synth.generator import generate

    out = Path(args.out) if args.out else Settings.from_env().drops
    summary = generate(
        out,
        sites=args.sites,
        days=args.days,
        seed=args.seed,
        start=date.fromisoformat(args.start),
        dirty=args.dirty,
        realistic_pixels=args.realistic_pixels,
    )
    data = summary.to_dict()
    if args.summary:
        Path(args.summary).write_text(json.dumps(data, indent=2, sort_keys=True))
    files = data.get("files", [])
    print(f"generated {len(files)} files for {args.sites} sites x {args.days} days into {out}")
    return 0


def cmd_identify(args) -> int:
    from medvault.platform.ingest.faults import FileFault
    from medvault.platform.ingest.identify import identify
    from medvault.platform.rules import load_rules

    rules = load_rules(_rules_dir(args))
    path = Path(args.file)
    try:
        verdict = identify(path, path.name, rules)
    except FileFault as fault:
        print(f"{path}: NOT IDENTIFIED ({fault.code})\n  {fault.message}")
        return 1
    print(f"{path}: {verdict.system} {verdict.version} table {verdict.table} (score {verdict.score:.2f})")
    for reason in verdict.reasons:
        print(f"  - {reason}")
    for cand in verdict.candidates[:5]:
        print(f"  candidate: {json.dumps(cand, default=str)}")
    return 0


def _instance_and_defs(settings: Settings):
    from dagster import DagsterInstance

    from medvault.instance import ensure_dagster_home

    ensure_dagster_home(settings.dagster_home)
    from medvault.definitions import build_definitions

    return DagsterInstance.get(), build_definitions(settings)


def cmd_run(args) -> int:
    from medvault.runner import run_pending

    settings = Settings.from_env()
    settings.ensure_folders()
    instance, defs = _instance_and_defs(settings)
    started = time.monotonic()
    report = run_pending(defs, instance, settings, settle_seconds=args.settle, full=args.full)
    print(
        f"{report.requested} partition run(s) requested, {report.succeeded} succeeded, {report.skipped} already done, "
        f"{len(report.failed)} failed; new sites: {', '.join(report.new_sites) or 'none'}; "
        f"marts refreshed: {'yes' if report.marts_refreshed else 'no'} ({time.monotonic() - started:.1f}s)"
    )
    for failed in report.failed:
        print(f"  FAILED: {failed} (see the run in the UI: make dev)", file=sys.stderr)
    return 1 if report.failed else 0


def cmd_status(args) -> int:
    from medvault.platform.status import summarize
    from medvault.platform.warehouse.db import Warehouse

    settings = Settings.from_env()
    with Warehouse(settings.warehouse).connect(read_only=True) as con:
        print(summarize(con))
    return 0


def cmd_demo(args) -> int:
    settings = Settings.from_env()
    settings.ensure_folders()
    gen = argparse.Namespace(
        out=str(settings.drops),
        sites=args.sites,
        days=args.days,
        seed=args.seed,
        start=args.start,
        dirty=args.dirty,
        realistic_pixels=False,
        summary=None,
    )
    started = time.monotonic()
    cmd_generate(gen)
    code = cmd_run(argparse.Namespace(settle=2.0, full=False))
    cmd_status(args)
    print(
        f"\ndemo finished in {time.monotonic() - started:.1f}s. Open the UI with `make dev` "
        f"(DAGSTER_HOME={settings.dagster_home}) at http://127.0.0.1:3000"
    )
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="medvault", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("config", help="print every setting and its value").set_defaults(func=cmd_config)

    rules = sub.add_parser("rules", help="rules commands")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    check = rules_sub.add_parser("check", help="load and validate every rule file")
    check.add_argument("--rules", help="rules folder (default: MEDVAULT_RULES)")
    check.set_defaults(func=cmd_rules_check)

    gen = sub.add_parser("generate", help="write deterministic synthetic site drops")
    gen.add_argument("--sites", type=int, default=3)
    gen.add_argument("--days", type=int, default=7)
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--start", default="2026-03-02", help="first drop date (YYYY-MM-DD)")
    gen.add_argument("--out", help="drop root (default: MEDVAULT_DROPS)")
    gen.add_argument("--dirty", action="store_true", help="inject a realistic low rate of problems")
    gen.add_argument("--realistic-pixels", action="store_true", help="full-size DICOM pixel data")
    gen.add_argument("--summary", help="also write the generation summary as JSON to this file")
    gen.set_defaults(func=cmd_generate)

    ident = sub.add_parser("identify", help="say which source system and version a file is, and why")
    ident.add_argument("file")
    ident.add_argument("--rules")
    ident.set_defaults(func=cmd_identify)

    run = sub.add_parser("run", help="process everything pending in the drops now (headless)")
    run.add_argument(
        "--full", action="store_true", help="ignore the stored cursor and rescan every drop folder"
    )
    run.add_argument("--settle", type=float, default=2.0, help="seconds between two looks at unmarked files")
    run.set_defaults(func=cmd_run)

    sub.add_parser("status", help="files and rows per layer").set_defaults(func=cmd_status)

    demo = sub.add_parser("demo", help="generate 3 sites x 7 days, run everything, print a summary")
    demo.add_argument("--sites", type=int, default=3)
    demo.add_argument("--days", type=int, default=7)
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--start", default="2026-03-02")
    demo.add_argument("--dirty", action="store_true")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; a problem the user can fix is one sentence (or the rules report) and exit 2."""
    from medvault.platform.stores.base import StoreError
    from medvault.platform.warehouse import WarehouseLocked

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except RulesError as exc:
        _report_rules(exc)
        return 2
    except (SettingsError, StoreError, WarehouseLocked) as exc:
        print(f"medvault: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

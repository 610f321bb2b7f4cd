"""Commands that run the platform: run (what is pending), backfill (a range), demo, status."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date

from medvault.cli.common import UsageError, engine, instance_and_defs, settings
from medvault.cli.data import _date, cmd_generate


def _print_problems(report) -> None:
    from medvault.platform import stopping

    if report.interrupted:
        why = stopping.reason() or "interrupted"
        print(
            f"  STOPPED: {why}; the run in progress was marked failed, no further run was started",
            file=sys.stderr,
        )
    if report.recovered:
        print(
            f"  recovered {len(report.recovered)} run(s) left by a dead process: {', '.join(report.recovered)}"
        )
    if report.problems:
        print(f"  WARNING: {report.problems} (see `medvault quarantine list`)", file=sys.stderr)
    for failed in report.failed:
        print(f"  FAILED: {failed} (see the run in the UI: make dev)", file=sys.stderr)


def cmd_run(args) -> int:
    from medvault.runner import run_pending

    s = settings()
    s.ensure_folders()
    instance, defs = instance_and_defs(s)
    started = time.monotonic()
    report = run_pending(defs, instance, s, settle_seconds=args.settle, full=args.full)
    print(
        f"{report.requested} partition run(s) requested, {report.succeeded} succeeded, {report.skipped} already done, "
        f"{len(report.failed)} failed; new sites: {', '.join(report.new_sites) or 'none'}; "
        f"marts refreshed: {'yes' if report.marts_refreshed else 'no'} ({time.monotonic() - started:.1f}s)"
    )
    _print_problems(report)
    return 130 if report.interrupted else 1 if report.failed else 0


def cmd_backfill(args) -> int:
    from medvault.runner import backfill

    s = settings()
    if not args.site and not args.all_sites:
        raise UsageError("say which sites: --site CODE (repeatable) or --all-sites")
    first, last = _date(args.from_date, "--from"), _date(args.to_date, "--to")
    if last < first:
        raise UsageError(f"--to {last} is before --from {first}")
    s.ensure_folders()
    instance, defs = instance_and_defs(s)
    started = time.monotonic()
    if args.per_run is not None and args.per_run < 1:
        raise UsageError(f"--per-run must be at least 1 (got {args.per_run})")
    sites = None if args.all_sites else args.site
    report = backfill(defs, instance, s, sites, first, last, args.settle, per_run=args.per_run)
    n = max(report.requested, 1)
    elapsed = time.monotonic() - started
    print(
        f"{report.requested} partition(s) with drops between {first} and {last}: {report.succeeded} succeeded, "
        f"{len(report.failed)} failed; marts refreshed: {'yes' if report.marts_refreshed else 'no'} "
        f"({elapsed:.1f}s, {elapsed / n:.1f}s per partition)"
    )
    _print_problems(report)
    return 130 if report.interrupted else 1 if report.failed else 0


def cmd_status(args) -> int:
    from medvault.platform.status import summarize

    with engine().warehouse.connect() as con:
        print(summarize(con))
    return 0


def _send_digest(s) -> None:
    """The users' digest of what the demo delivered (to the SMTP server, else the outbox folder)."""
    from medvault.recovery import process_tags
    from medvault.runner import QUIET
    from medvault.schedules.notify import DIGEST_JOB

    instance, defs = instance_and_defs(s)
    outcome = defs.resolve_job_def(DIGEST_JOB).execute_in_process(
        instance=instance,
        run_config=QUIET,
        tags={"medvault/launched_by": "demo", **process_tags()},
        raise_on_error=False,
    )
    where = s.smtp.host and f"smtp://{s.smtp.host}:{s.smtp.port}" or str(s.smtp.outbox)
    print(f"users' digest {'sent to ' + where if outcome.success else 'failed (see the run in the UI)'}")


def cmd_demo(args) -> int:
    s = settings()
    s.ensure_folders()
    gen = argparse.Namespace(
        out=str(s.drops),
        sites=args.sites,
        days=args.days,
        seed=args.seed,
        start=args.start,
        dirty=args.dirty,
        realistic_pixels=False,
        summary=None,
        continue_history=False,
        pacs_db=None,  # the demo's sites drop files; `generate --pacs-db` fills databases for the agent
    )
    started = time.monotonic()
    cmd_generate(gen)
    code = cmd_run(argparse.Namespace(settle=2.0, full=False))
    _send_digest(s)
    cmd_status(args)
    from medvault.platform.dashboard.build import dashboard_path

    print(f"\nreports (seed 000's CSV files): {s.reports}")
    print(f"dashboard: {dashboard_path(s.home)} (medvault dashboard --open)")
    print(
        f"demo finished in {time.monotonic() - started:.1f}s. Open the UI with `make dev` "
        f"(DAGSTER_HOME={s.dagster_home}) at http://127.0.0.1:3000"
    )
    return code


def add_parsers(sub) -> None:
    run = sub.add_parser("run", help="process everything pending in the drops now (headless)")
    run.add_argument(
        "--full", action="store_true", help="ignore the stored cursor and rescan every drop folder"
    )
    run.add_argument("--settle", type=float, default=2.0, help="seconds between two looks at unmarked files")
    run.set_defaults(func=cmd_run)

    back = sub.add_parser(
        "backfill", help="(re)process a range of dates for some or all sites, without the daemon"
    )
    back.add_argument("--site", action="append", help="site code (repeat for several)")
    back.add_argument(
        "--all-sites", action="store_true", help="every site with a drop folder on an enabled store"
    )
    back.add_argument("--from", dest="from_date", required=True, help="first date, YYYY-MM-DD")
    back.add_argument(
        "--to", dest="to_date", default=date.today().isoformat(), help="last date (default today)"
    )
    back.add_argument(
        "--settle",
        type=float,
        default=None,
        help="take files without a completion marker once unchanged this long (default MEDVAULT_SETTLE_SECONDS)",
    )
    back.add_argument(
        "--per-run",
        type=int,
        default=None,
        help="partitions (dates of one site) per Dagster run (default MEDVAULT_BACKFILL_PER_RUN, 10); the "
        "warehouse pool is held for one run at a time",
    )
    back.set_defaults(func=cmd_backfill)

    sub.add_parser("status", help="files by status and rows per layer").set_defaults(func=cmd_status)

    demo = sub.add_parser("demo", help="generate synthetic drops, run everything, print a summary")
    demo.add_argument("--sites", type=int, default=3, help="number of sites (default 3)")
    demo.add_argument("--days", type=int, default=7, help="days of drops per site (default 7)")
    demo.add_argument("--seed", type=int, default=42, help="generator seed (default 42)")
    demo.add_argument("--start", default="2026-03-02", help="first drop date (default 2026-03-02)")
    demo.add_argument("--dirty", action="store_true", help="inject a realistic low rate of problems")
    demo.set_defaults(func=cmd_demo)

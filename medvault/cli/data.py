"""Commands on rules and files: config, rules check, generate, identify."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from medvault.cli.common import UsageError, report_rules, settings
from medvault.platform.config import describe
from medvault.platform.rules import RulesError


def _rules_dir(args) -> Path:
    return Path(args.rules).resolve() if getattr(args, "rules", None) else settings().rules


def cmd_config(args) -> int:
    """Print every setting with its current value (secrets and URL credentials masked)."""
    for name, value in describe():
        print(f"{name:32} {value}")
    return 0


def _agent_specs(root: Path) -> int:
    """The site agent's extraction rules under `<rules>/agent/` (checked too: a typo must not wait for a
    site to find it); return how many there are, raise RulesError listing every problem."""
    from medvault.platform.agent.spec import SpecError, load_spec

    problems, count = [], 0
    for path in sorted((root / "agent").glob("*/*.yaml")):
        try:
            load_spec(path)
            count += 1
        except SpecError as exc:
            problems.append(str(exc))
    if problems:
        raise RulesError(problems)
    return count


def cmd_rules_check(args) -> int:
    from medvault.platform.steps.context import checked_rules

    try:
        rules = checked_rules(_rules_dir(args))
        agent = _agent_specs(_rules_dir(args))
    except RulesError as exc:
        report_rules(exc)
        return 1
    tables = sum(len(s.tables) for s in rules.sources)
    print(
        f"rules OK: {len(rules.sites)} sites, {len(rules.sources)} source versions, {tables} tables, "
        f"{len(rules.vault.hubs)} hubs, {len(rules.vault.links)} links, {len(rules.vault.satellites())} satellites, "
        f"{len(rules.vault.bridges)} bridges, {len(rules.vault.references)} reference tables, "
        f"{agent} agent extraction rule file(s)"
    )
    return 0


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} must be a date (YYYY-MM-DD), got {text!r}") from None


def _pacs_db_password() -> str:
    from medvault.platform.config.agent import AgentSettings

    return AgentSettings.from_env().db_password


def cmd_generate(args) -> int:
    from medvault.synth.generator import generate, history_start

    if args.sites < 1 or args.days < 1:
        raise UsageError(f"--sites and --days must be at least 1, got {args.sites} and {args.days}")
    out = Path(args.out).resolve() if args.out else settings().drops
    start = _date(args.start, "--start")
    first, write_from = start, None
    if args.continue_history:
        first = history_start(out, args.sites)
        if first is None:
            raise UsageError(f"--continue: no generated history under {out} to continue")
        if start <= first:
            raise UsageError(f"--continue: --start {start} must be after the history's first day {first}")
        write_from = start
    days = (start - first).days + args.days
    from medvault.platform.agent.database import DatabaseError

    try:
        summary = generate(
            out,
            sites=args.sites,
            days=days,
            seed=args.seed,
            start=first,
            dirty=args.dirty,
            realistic_pixels=args.realistic_pixels,
            write_from=write_from,
            pacs_db=args.pacs_db,
            pacs_db_password=_pacs_db_password() if args.pacs_db else "",
        )
    except DatabaseError as exc:
        raise UsageError(f"--pacs-db: {exc}") from None
    data = summary.to_dict()
    if args.summary:
        Path(args.summary).write_text(json.dumps(data, indent=2, sort_keys=True))
    print(
        f"generated {len(data['files'])} files for {args.sites} sites x {args.days} days from {start} into {out}"
    )
    return 0


def _candidate(c: dict) -> str:
    text = f"{c['system']}/{c['version']}/{c['table']}: {c['matched']} of {c['declared']} declared columns"
    if c.get("missing_required"):
        text += f", lacks required {', '.join(c['missing_required'])}"
    return text


def cmd_identify(args) -> int:
    from medvault.platform.ingest.faults import FileFault
    from medvault.platform.ingest.identify import identify
    from medvault.platform.steps.context import checked_rules

    path = Path(args.file)
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    if not path.is_file():
        raise UsageError(f"{path}: not a file (identify takes one extract or image)")
    rules = checked_rules(_rules_dir(args))
    try:
        verdict = identify(path, path.name, rules)
    except FileFault as fault:
        candidates = (fault.details or {}).get("candidates", [])
        if args.json:
            print(
                json.dumps(
                    {
                        "file": str(path),
                        "identified": False,
                        "code": fault.code,
                        "message": fault.message,
                        "candidates": candidates,
                    },
                    default=str,
                )
            )
        else:
            print(f"{path}: NOT IDENTIFIED ({fault.code})\n  {fault.message}")
            for c in candidates[:5]:
                print(f"  closest: {_candidate(c)}")
        return 1
    if args.json:
        print(
            json.dumps(
                {
                    "file": str(path),
                    "identified": True,
                    "system": verdict.system,
                    "version": verdict.version,
                    "table": verdict.table,
                    "format": verdict.format,
                    "score": verdict.score,
                    "reasons": verdict.reasons,
                    "candidates": verdict.candidates,
                },
                default=str,
            )
        )
        return 0
    print(f"{path}: {verdict.system} {verdict.version} table {verdict.table} (score {verdict.score:.2f})")
    for reason in verdict.reasons:
        print(f"  - {reason}")
    for c in verdict.candidates[1:4]:
        print(f"  also considered: {_candidate(c)}")
    return 0


def add_parsers(sub) -> None:
    sub.add_parser("config", help="print every setting and its value (secrets masked)").set_defaults(
        func=cmd_config
    )
    rules = sub.add_parser("rules", help="rules commands")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    check = rules_sub.add_parser("check", help="load and validate every rule file")
    check.add_argument("--rules", help="rules folder (default: MEDVAULT_RULES)")
    check.set_defaults(func=cmd_rules_check)

    gen = sub.add_parser("generate", help="write deterministic synthetic site drops")
    gen.add_argument(
        "--sites", type=int, default=3, help="number of sites, from a fixed catalogue (default 3)"
    )
    gen.add_argument("--days", type=int, default=7, help="number of daily drops per site (default 7)")
    gen.add_argument("--seed", type=int, default=42, help="seed: the same arguments give the same bytes")
    gen.add_argument("--start", default="2026-03-02", help="first drop date, YYYY-MM-DD (default 2026-03-02)")
    gen.add_argument("--out", help="drop root (default: MEDVAULT_DROPS)")
    gen.add_argument("--dirty", action="store_true", help="inject a realistic low rate of problems")
    gen.add_argument("--realistic-pixels", action="store_true", help="full-size DICOM pixel data")
    gen.add_argument("--summary", help="also write the generation summary as JSON to this file")
    gen.add_argument(
        "--pacs-db",
        metavar="URL",
        help="also write each site's PACS rows into a Harmony-like database of its schema version, e.g. "
        "mysql://root@127.0.0.1:3306/pacs_{site} ({site} = the site code; password from "
        "MEDVAULT_AGENT_DB_PASSWORD)",
    )
    gen.add_argument(
        "--continue",
        dest="continue_history",
        action="store_true",
        help="extend the history already under --out: --start is the next day, ids never repeat",
    )
    gen.set_defaults(func=cmd_generate)

    ident = sub.add_parser("identify", help="say which source system and version a file is, and why")
    ident.add_argument("file", help="an extract (CSV, JSON, NDJSON, Parquet) or a DICOM image")
    ident.add_argument("--rules", help="rules folder (default: MEDVAULT_RULES)")
    ident.add_argument("--json", action="store_true", help="print the verdict as one JSON object")
    ident.set_defaults(func=cmd_identify)

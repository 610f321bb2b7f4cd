"""Commands that act on what landed: quarantine list/show/release, sites list/remove."""

from __future__ import annotations

import json

from medvault.cli.common import UsageError, engine, instance_and_defs, settings


def cmd_quarantine_list(args) -> int:
    from medvault.platform.steps import quarantine

    with engine().step() as ctx:
        files = quarantine.listing(ctx, args.site, args.reason)
    if not files:
        print("nothing is quarantined" + (" for that filter" if args.site or args.reason else ""))
        return 0
    print(f"{'id':12}  {'site':18} {'date':10}  {'reason':24}  file")
    for f in files:
        print(f"{f.id:12}  {f.site:18} {f.date:10}  {f.reason_code:24}  {f.key.rsplit('/', 1)[-1]}")
    print(
        f"{len(files)} quarantined file(s); `medvault quarantine show ID` for one, `release` to let them back in"
    )
    return 0


def cmd_quarantine_show(args) -> int:
    from medvault.platform.steps import quarantine

    with engine().step() as ctx:
        found = quarantine.show(ctx, args.id)
    if found is None:
        raise UsageError(f"no quarantined file has the id {args.id!r} (see `medvault quarantine list`)")
    f, reason, history = found
    print(f"{f.id}  {f.site} {f.date}  {f.key}  ({f.store}, {f.size} bytes, sha256 {f.sha256[:16]})")
    print(json.dumps(reason, indent=2, sort_keys=True, default=str))
    print("history:")
    for old, new, code, run_id, at in history:
        print(
            f"  {at:%Y-%m-%d %H:%M:%S}  {old or '(new)':>11} -> {new:<11} {code or '':24} run {run_id or '-'}"
        )
    return 0


def cmd_quarantine_release(args) -> int:
    from medvault.platform.steps import quarantine
    from medvault.runner import run_partitions

    if not args.ids and not args.reason:
        raise UsageError("say what to release: one or more ids, or --reason CODE")
    s = settings()
    eng = engine(s)
    with eng.step(run_id="medvault quarantine release") as ctx:
        if args.reason:
            files = quarantine.listing(ctx, args.site, args.reason)
        else:
            files = quarantine.find(ctx, args.ids)
            missing = [i for i, f in zip(args.ids, files, strict=True) if f is None]
            if missing:
                raise UsageError(
                    f"no quarantined file has the id {missing[0]!r} (see `medvault quarantine list`)"
                )
        result = quarantine.release(ctx, files)
    for f, why in result.refused:
        print(f"  kept {f.id} {f.key}: {why}")
    print(f"released {len(result.released)} file(s), kept {len(result.refused)}")
    if result.released and not args.no_run:
        instance, defs = instance_and_defs(s)
        report = run_partitions(
            defs, instance, s, result.partitions, launched_by="medvault quarantine release"
        )
        print(f"ran {report.succeeded} of {report.requested} partition(s) to stage the released files")
        return 1 if report.failed else 0
    return 0


def cmd_sites_list(args) -> int:
    s = settings()
    instance, _ = instance_and_defs(s)
    from medvault.assets.partitions import SITE_PARTITIONS

    for site in instance.get_dynamic_partitions(SITE_PARTITIONS.name):
        print(site)
    return 0


def cmd_sites_remove(args) -> int:
    from medvault.assets.partitions import SITE_PARTITIONS
    from medvault.platform.steps import sites

    s = settings()
    instance, _ = instance_and_defs(s)
    if args.code not in instance.get_dynamic_partitions(SITE_PARTITIONS.name):
        raise UsageError(f"{args.code!r} is not a site partition (see `medvault sites list`)")
    with engine(s).step() as ctx:
        held = sites.holdings(ctx, args.code)
        if held and not args.purge:
            files = held.get("ops.file_manifest", 0)
            rows = sum(v for k, v in held.items() if k != "ops.file_manifest")
            raise UsageError(
                f"{args.code} holds {files} file(s) and {rows} row(s) in {len(held) - (1 if files else 0)} table(s); "
                "remove it with --purge to delete all of it"
            )
        removed = sites.purge(ctx, args.code) if held else {}
    instance.delete_dynamic_partition(SITE_PARTITIONS.name, args.code)
    for place, n in removed.items():
        print(f"  removed {n} from {place}")
    print(f"site partition {args.code} removed; move its drop folder away, or the next scan adds it again")
    return 0


def add_parsers(sub) -> None:
    q = sub.add_parser("quarantine", help="list, show and release quarantined files")
    q_sub = q.add_subparsers(dest="quarantine_command", required=True)
    ls = q_sub.add_parser("list", help="every quarantined file with its id and reason code")
    ls.add_argument("--site", help="only this site")
    ls.add_argument("--reason", help="only this reason code (e.g. unknown_source)")
    ls.set_defaults(func=cmd_quarantine_list)
    show = q_sub.add_parser("show", help="one file's reason (JSON) and status history")
    show.add_argument("id", help="the id from `medvault quarantine list` (6 or more leading digits)")
    show.set_defaults(func=cmd_quarantine_show)
    rel = q_sub.add_parser("release", help="re-identify files against the current rules and let them back in")
    rel.add_argument("ids", nargs="*", help="ids from `medvault quarantine list`")
    rel.add_argument("--reason", help="every file quarantined with this reason code")
    rel.add_argument("--site", help="with --reason: only this site")
    rel.add_argument(
        "--no-run", action="store_true", help="do not run the partitions now (the next run stages them)"
    )
    rel.set_defaults(func=cmd_quarantine_release)

    sites = sub.add_parser("sites", help="list and remove site partitions")
    sites_sub = sites.add_subparsers(dest="sites_command", required=True)
    sites_sub.add_parser("list", help="every site partition").set_defaults(func=cmd_sites_list)
    remove = sites_sub.add_parser("remove", help="remove a site partition (refused while it holds data)")
    remove.add_argument("code", help="the site code")
    remove.add_argument(
        "--purge", action="store_true", help="also delete all its data, bookkeeping and files"
    )
    remove.set_defaults(func=cmd_sites_remove)

"""Commands on the image pipeline: `medvault dicom reprocess KEY...` (seed 004's manual trigger) and
`medvault dicom files` (each file's FileID, status and destination)."""

from __future__ import annotations

from medvault.cli.common import UsageError, engine, instance_and_defs, settings


def cmd_reprocess(args) -> int:
    """Run `dicom_reprocess_job` for the keys, recorded in the Dagster instance like a run from the UI."""
    from medvault.jobs import REPROCESS_JOB
    from medvault.recovery import process_tags
    from medvault.runner import QUIET

    if not args.keys:
        raise UsageError("name at least one source key (see `medvault dicom files`)")
    instance, defs = instance_and_defs(settings())
    outcome = defs.resolve_job_def(REPROCESS_JOB).execute_in_process(
        instance=instance,
        run_config={**QUIET, "ops": {"reprocess_images": {"config": {"keys": list(args.keys)}}}},
        tags={"medvault/launched_by": "cli", **process_tags()},
        raise_on_error=False,
    )
    print(f"run {outcome.run_id}: {'succeeded' if outcome.success else 'failed'}")
    for event in outcome.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = getattr(event.event_specific_data, "error", None)
            message = (getattr(error, "message", "") or "").strip().splitlines()
            print(f"medvault: {message[-1] if message else 'the reprocess step failed'}")
    return 0 if outcome.success else 1


def cmd_files(args) -> int:
    from medvault.platform.steps import deliver

    with engine().step() as ctx:
        files = deliver.listing(ctx, args.site, args.status)
    if not files:
        print("no image files in the pipeline" + (" for that filter" if args.site or args.status else ""))
        return 0
    print(f"{'file_id':>7}  {'status':11} {'err':3}  {'code':18}  source -> destination")
    for f in files:
        err = "yes" if f.has_error else ""
        print(
            f"{f.id:>7}  {f.status:11} {err:3}  {f.error_code or '':18}  {f.source_key} -> {f.destination_key or '-'}"
        )
    return 0


def add_parsers(sub) -> None:
    d = sub.add_parser("dicom", help="the image pipeline: list files, reprocess chosen ones")
    d_sub = d.add_subparsers(dest="dicom_command", required=True)
    re = d_sub.add_parser("reprocess", help="stamp, rename and copy these images to the delivery store again")
    re.add_argument(
        "keys", nargs="*", help="source keys <site>/<date>/<name> (as `medvault dicom files` shows)"
    )
    re.set_defaults(func=cmd_reprocess)
    ls = d_sub.add_parser("files", help="every file of the pipeline: FileID, status, has_error, destination")
    ls.add_argument("--site", help="only this site")
    ls.add_argument("--status", help="only this status (started, in_progress, completed, failed)")
    ls.set_defaults(func=cmd_files)

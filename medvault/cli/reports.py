"""`medvault dashboard [--open]`: write the offline HTML dashboard from the marts now and print its path."""

from __future__ import annotations

from medvault.cli.common import engine


def cmd_dashboard(args) -> int:
    import webbrowser

    from medvault.platform.steps import publish

    with engine().step() as ctx:
        result = publish.run(ctx, {publish.DASHBOARD})
    meta = result.tables[0].metadata
    print(meta["path"])
    if meta["marts_not_built_yet"]:
        print(
            f"marts not built yet (run `medvault run` or the marts job): {', '.join(meta['marts_not_built_yet'])}"
        )
    if args.open:
        webbrowser.open(meta["url"])
    return 0


def add_parsers(sub) -> None:
    dash = sub.add_parser("dashboard", help="write the HTML dashboard from the marts and print its path")
    dash.add_argument("--open", action="store_true", help="open it in the default browser")
    dash.set_defaults(func=cmd_dashboard)

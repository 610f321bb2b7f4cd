"""How many partitions go in one run: a site's dates in order, cut into runs of at most `per_run`.

Shared by `medvault backfill` and the drop sensors (a backlog of one site's dates is one run, not one
run per date: a run's start, its planned events and its step starts are paid once)."""

from __future__ import annotations

import hashlib


def batches(partitions: list[tuple[str, str]], per_run: int) -> list[list[tuple[str, str]]]:
    """Runs of (site, date) partitions: each site's dates in order, at most `per_run` per run."""
    by_site: dict[str, list[str]] = {}
    for site, day in sorted(set(partitions)):
        by_site.setdefault(site, []).append(day)
    runs = []
    for site, days in by_site.items():
        for i in range(0, len(days), per_run):
            runs.append([(site, day) for day in days[i : i + per_run]])
    return runs


def batch_run_key(run_keys: list[str]) -> str:
    """One key for a run of several partitions' drops: the same drops at the same versions give the
    same key (so a sensor never asks twice), any new version a new one."""
    digest = hashlib.sha256("\n".join(sorted(run_keys)).encode("utf-8", "surrogateescape")).hexdigest()
    return f"drops:{digest[:32]}"

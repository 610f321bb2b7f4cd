"""How long does an idle drop-sensor tick take over 10,000 already-seen files, on S3 (moto) and SFTP (sshd)?

Seeds 10 sites x 50 dates x 20 small files (each date folder with `_DONE`) into a moto S3 server and an
sshd-served folder (both started here on 127.0.0.1), runs a first scan (everything new), then times
idle ticks with the returned cursor and, as a baseline, a full recursive listing of the same store.

    .venv/bin/python benchmarks/idle_tick.py [--ticks 20] [--sites 10] [--dates 50] [--files 20]

Prints figures only; no assertions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from medvault.platform.drops.scan import scan  # noqa: E402
from medvault.platform.stores.s3 import S3Store  # noqa: E402
from tests.servers import FAKE_AWS_ENV, start_moto_server, start_sshd  # noqa: E402

FIRST_DAY = date(2026, 1, 1)


def layout(sites: int, dates: int, files: int) -> list[tuple[str, bytes]]:
    items = []
    for s in range(sites):
        site = f"site_{s:02d}"
        for d in range(dates):
            day = (FIRST_DAY + timedelta(days=d)).isoformat()
            for f in range(files):
                items.append((f"{site}/{day}/file_{f:03d}.csv", f"id,value\n{s},{d},{f}\n".encode()))
            items.append((f"{site}/{day}/_DONE", b""))
    return items


def seed_s3(client, bucket: str, items) -> float:
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(lambda kv: client.put_object(Bucket=bucket, Key=kv[0], Body=kv[1]), items))
    return time.perf_counter() - t0


def seed_local(root: Path, items) -> float:
    """The sshd serves a folder on this machine: writing it directly is the same as uploading."""
    t0 = time.perf_counter()
    for key, data in items:
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return time.perf_counter() - t0


def measure(label: str, store, ticks: int, lookback: int) -> dict:
    t0 = time.perf_counter()
    first = scan(store, None, lookback_days=lookback)
    first_s = time.perf_counter() - t0
    # Second tick: nothing new; everything was ready on the first tick thanks to _DONE.
    times, result = [], None
    cursor = first.cursor
    for _ in range(ticks):
        t0 = time.perf_counter()
        result = scan(store, cursor, lookback_days=lookback)
        times.append(time.perf_counter() - t0)
        cursor = result.cursor
    assert result is not None
    t0 = time.perf_counter()
    total = sum(1 for _ in store.list_objects("", recursive=True))
    full_s = time.perf_counter() - t0
    median = statistics.median(times)
    row = {
        "store": label,
        "files seen (first tick)": first.ready_count,
        "first tick s": round(first_s, 3),
        "idle ready": result.ready_count,
        "prefixes listed/tick": result.listed_prefixes,
        "objects listed/tick": result.listed_objects,
        "idle median ms": round(median * 1000, 1),
        "idle p90 ms": round(sorted(times)[int(0.9 * (len(times) - 1))] * 1000, 1),
        "cursor bytes": len(cursor.encode()),
        "full listing objects": total,
        "full listing ms": round(full_s * 1000, 1),
        "full/idle ratio": round(full_s / median, 1) if median else None,
    }
    return row


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ticks", type=int, default=20)
    parser.add_argument("--sites", type=int, default=10)
    parser.add_argument("--dates", type=int, default=50)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--lookback", type=int, default=3)
    args = parser.parse_args(argv)

    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(name, None)
    os.environ.update(FAKE_AWS_ENV)  # this process only: moto accepts any credentials

    items = layout(args.sites, args.dates, args.files)
    data_files = args.sites * args.dates * args.files
    print(
        f"layout: {args.sites} sites x {args.dates} dates x {args.files} files = {data_files} data files "
        f"(+{args.sites * args.dates} _DONE markers), look-back {args.lookback} days"
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="medvault-bench-") as tmp:
        moto = start_moto_server()
        try:
            client, bucket = moto.make_bucket()
            print(f"seeded S3 in {seed_s3(client, bucket, items):.1f}s ({moto.endpoint_url})")
            rows.append(measure("s3 (moto)", S3Store(client, bucket), args.ticks, args.lookback))
        finally:
            moto.stop()

        sshd = start_sshd(Path(tmp) / "sshd")
        try:
            root = Path(tmp) / "drops"
            root.mkdir()
            print(f"seeded SFTP root in {seed_local(root, items):.1f}s (sftp://127.0.0.1:{sshd.port})")
            store = sshd.store(root, timeout=10, retries=2)
            try:
                rows.append(measure("sftp (sshd)", store, args.ticks, args.lookback))
            finally:
                store.close()
        finally:
            sshd.stop()

    keys = list(rows[0])
    width = max(len(k) for k in keys)
    print()
    print(f"{'':<{width}}  " + "  ".join(f"{r['store']:>14}" for r in rows))
    for key in keys[1:]:
        print(f"{key:<{width}}  " + "  ".join(f"{r[key]!s:>14}" for r in rows))
    return rows


if __name__ == "__main__":
    main()

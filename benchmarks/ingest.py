"""CSV-to-staged throughput of medvault against a naive pandas loader, plus the idle sensor tick.

Part 1, CSV to staged rows. Generates a large `harmony_pacs` v2 extract (default: the `studies` table,
1,000,000 rows and a 100,000-row run) in a temp dir with DuckDB `COPY` from a deterministic integer hash
(same seed, same bytes), drops it in a local drop folder `<drops>/<site>/<date>/` and times medvault's
real path for that one (site, date) partition against a fresh warehouse:

- receive: `steps.receive.receive` (list, one copy into the lake, sha256, identify, raw zone, ledger row);
- stage: `stage_table` (read, validate and type every column, reject bad rows with reasons, then one
  transaction inserting `staging.harmony_pacs__<table>` + `ops.rejected_rows` + manifest + watermark).

Each step opens its own warehouse connection (as the Dagster assets do), so connect, schema check and
the checkpoint on close are included. About 0.15% of the generated rows are bad (a modality outside
the allowed values, or a missing patient id) so the rejection path runs too.

Baselines, measured in the same run on the same file:
- "pandas + sqlite": `pandas.read_csv(path)` then `DataFrame.to_sql(...)` into a sqlite3 file database;
- "pandas + DuckDB insert": `pandas.read_csv(path)` then `con.register(df)` + `CREATE TABLE AS` into a
  DuckDB file;
- "bare DuckDB read_csv": DuckDB's own parallel reader into a table, the strongest peer here.
Each loader runs `--repeat` times, interleaved, and its median run is shown. The baselines do no identification, no raw copy, no validation or typing beyond pandas' inference, no
row rejection and no bookkeeping: they are the floor a hand-written loader gets for free.

Peak memory: after the timed runs, medvault (receive + stage, `MEDVAULT_DUCKDB_MEMORY_LIMIT` at its
default) and bare DuckDB `read_csv` each stage the same file once more in a child process of their own,
whose peak resident set size (`VmHWM`) is printed against the file's size (issue 8 asks for under
2x the file plus a constant; `benchmarks/memory.py` measures it on a 200 MB file and several limits).

Part 2, idle sensor tick: runs `benchmarks/idle_tick.py` (moto S3 and sshd on 127.0.0.1, 10,000 seen
files) in-process and prints its table (about 90 s, mostly seeding moto). `--skip-idle` skips it.

    .venv/bin/python benchmarks/ingest.py [--rows 1000000,100000] [--table studies] [--repeat 3]
        [--skip-idle] [--idle-ticks 10]

Prints figures only; no assertions. Everything lives in a temp dir removed at exit.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for extra in (REPO, Path(__file__).resolve().parent):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import duckdb  # noqa: E402
import pandas as pd  # noqa: E402

from medvault.platform.config import Settings  # noqa: E402
from medvault.platform.drops.layout import DROP_DONE_MARKER  # noqa: E402
from medvault.platform.rules import load_rules  # noqa: E402
from medvault.platform.steps.context import Engine  # noqa: E402
from medvault.platform.steps.receive import receive  # noqa: E402
from medvault.platform.steps.stage import stage_table  # noqa: E402
from medvault.platform.stores.local import LocalStore  # noqa: E402

SYSTEM = "harmony_pacs"
SITE = "aurora_eye"
DATE = "2026-03-02"

# A 64-bit multiplicative hash of the row number: deterministic in any DuckDB version and thread count.
MACROS = """
CREATE OR REPLACE MACRO mix(x, k) AS
  (((CAST(x AS HUGEINT) + CAST(k AS HUGEINT) * 1442695040888963407 + CAST({seed} AS HUGEINT) * 2862933555777941757)
    % CAST(18446744073709551616 AS HUGEINT)) * 6364136223846793005) % CAST(18446744073709551616 AS HUGEINT);
CREATE OR REPLACE MACRO uid(x, k) AS
  '2.25.' || CAST(1 + mix(x, k) % 999999999999999999 AS VARCHAR)
          || lpad(CAST(mix(x, k + 100) % 1000000000000000000 AS VARCHAR), 18, '0');
"""

# The harmony_pacs v2 header (rules/sources/harmony_pacs/v2.yaml) and realistic values.
QUERIES = {
    "studies": """
SELECT
  uid(i, 1) AS study_instance_uid,
  CASE WHEN mix(i, 8) % 2000 = 0 THEN ''
       ELSE lpad(CAST(mix(i % 200003, 3) % 10000000000 AS VARCHAR), 10, '0') END AS patient_id,
  strftime(DATE '{date}' - CAST(mix(i, 4) % 3 AS INTEGER), '%Y-%m-%d') AS study_date,
  'AUR' || strftime(DATE '{date}', '%y%m%d') || lpad(CAST(i AS VARCHAR), 7, '0') AS accession_number,
  ['Colour fundus photography', 'Diabetic retinopathy screening', 'Fundus autofluorescence',
   'OCT macula', 'OCT optic disc', 'OCT angiography', 'CT head', 'CT orbits', 'CT chest',
   'MRI brain', 'MRI orbits', 'MRI lumbar spine'][CAST(mix(i, 5) % 12 AS INTEGER) + 1] AS study_description,
  CASE WHEN mix(i, 7) % 1000 = 0 THEN 'XR'
       WHEN mix(i, 9) % 100 = 0 THEN lower(['OP', 'OPT', 'CT', 'MR'][CAST(mix(i, 5) % 12 AS INTEGER) // 3 + 1])
       ELSE ['OP', 'OPT', 'CT', 'MR'][CAST(mix(i, 5) % 12 AS INTEGER) // 3 + 1] END AS modality,
  ['Campbell^Fiona', 'MacLeod^Iain', 'Stewart^Morag', 'Robertson^Callum', 'Murray^Eilidh',
   'Fraser^Hamish', 'Reid^Catriona', 'Ross^Alasdair'][CAST(mix(i, 6) % 8 AS INTEGER) + 1] AS referring_physician,
  strftime(TIMESTAMP '{date} 07:00:00' + to_seconds(CAST(mix(i, 10) % 43200 AS BIGINT)),
           '%Y-%m-%dT%H:%M:%S') AS modified_at
FROM range({rows}) t(i) ORDER BY i
""",
    "instances": """
SELECT
  uid(i, 11) AS sop_instance_uid,
  CASE WHEN mix(i, 8) % 2000 = 0 THEN '' ELSE uid(i // 64, 2) END AS series_instance_uid,
  ['1.2.840.10008.5.1.4.1.1.77.1.5.1', '1.2.840.10008.5.1.4.1.1.77.1.5.4', '1.2.840.10008.5.1.4.1.1.2',
   '1.2.840.10008.5.1.4.1.1.4'][CAST(mix(i // 64, 5) % 4 AS INTEGER) + 1] AS sop_class_uid,
  i % 64 + 1 AS instance_number,
  CASE WHEN mix(i, 7) % 1000 = 0 THEN -1 ELSE 400000 + mix(i, 6) % 9600000 END AS file_size,
  '1.2.840.10008.1.2.1' AS transfer_syntax,
  strftime(TIMESTAMP '{date} 07:00:00' + to_seconds(CAST(mix(i // 64, 10) % 43200 AS BIGINT)),
           '%Y-%m-%dT%H:%M:%S') AS modified_at
FROM range({rows}) t(i) ORDER BY i
""",
}


def generate(path: Path, table: str, rows: int, seed: int) -> float:
    """Write the CSV with DuckDB COPY; returns seconds."""
    t0 = time.perf_counter()
    con = duckdb.connect()
    try:
        con.execute(MACROS.format(seed=seed))
        query = QUERIES[table].format(rows=rows, date=DATE)
        target = str(path).replace("'", "''")
        con.execute(f"COPY ({query}) TO '{target}' (HEADER, DELIMITER ',', QUOTE '\"')")
    finally:
        con.close()
    return time.perf_counter() - t0


@dataclass
class Timing:
    label: str
    rows: int
    seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else float("nan")


def run_medvault(csv: Path, work: Path, table: str, rules) -> tuple[list[Timing], str]:
    drops = work / "drops"
    folder = drops / SITE / DATE
    folder.mkdir(parents=True)
    dropped = folder / csv.name
    try:
        os.link(csv, dropped)  # the drop is the same bytes; not timed
    except OSError:
        shutil.copyfile(csv, dropped)
    (folder / DROP_DONE_MARKER).write_text("")  # the site marks its drop complete, as uploaders should
    store = LocalStore(drops)
    engine = Engine(Settings.from_env({"MEDVAULT_HOME": str(work)}), rules)
    warehouse = engine.warehouse

    t0 = time.perf_counter()
    with engine.step(SITE, DATE, run_id="bench") as ctx:
        received = receive(ctx, store, "local")
    t_receive = time.perf_counter() - t0
    if received.received != 1:
        raise RuntimeError(f"expected 1 received file, got {received.as_metadata()}")

    t0 = time.perf_counter()
    with engine.step(SITE, DATE, run_id="bench") as ctx, warehouse.connect() as con:
        staged = stage_table(ctx, con, SYSTEM, table)
        n_staged = con.execute(f"SELECT count(*) FROM staging.{SYSTEM}__{table}").fetchone()[0]
    t_stage = time.perf_counter() - t0
    if staged.rows_loaded != n_staged:
        raise RuntimeError(f"stage_table reported {staged.rows_loaded} rows but the table holds {n_staged}")
    n = staged.rows_received
    detail = (
        f"{staged.rows_received} received = {staged.rows_loaded} staged + {staged.rows_rejected} rejected "
        f"({', '.join(f'{k}: {v}' for k, v in staged.reject_reasons.items()) or 'none'})"
    )
    return [
        Timing("medvault receive", n, t_receive, "list + sha256 + identify + raw copy + manifest"),
        Timing("medvault stage", n, t_stage, "read + validate + type + reject + 1-transaction insert"),
        Timing("medvault total", n, t_receive + t_stage, "receive + stage"),
    ], detail


def run_pandas_sqlite(csv: Path, work: Path, table: str) -> Timing:
    t0 = time.perf_counter()
    df = pd.read_csv(csv)
    t_read = time.perf_counter() - t0
    con = sqlite3.connect(work / "baseline.sqlite")
    try:
        df.to_sql(table, con, index=False)
        con.commit()
    finally:
        con.close()
    t = time.perf_counter() - t0
    n = len(df)
    del df
    gc.collect()
    return Timing(
        "pandas + sqlite", n, t, f"read_csv ({t_read:.2f}s) + to_sql into a sqlite3 file; no checks"
    )


def run_pandas_duckdb(csv: Path, work: Path, table: str) -> Timing:
    t0 = time.perf_counter()
    df = pd.read_csv(csv)
    t_read = time.perf_counter() - t0
    con = duckdb.connect(str(work / "baseline.duckdb"))
    try:
        con.register("df", df)
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM df")
        con.unregister("df")
    finally:
        con.close()
    t = time.perf_counter() - t0
    n = len(df)
    del df
    gc.collect()
    return Timing(
        "pandas + DuckDB insert", n, t, f"read_csv ({t_read:.2f}s) + register + CREATE TABLE AS; no checks"
    )


def run_duckdb_read_csv(csv: Path, work: Path, table: str) -> Timing:
    """The strongest peer on this machine: DuckDB reading the file itself into a table (auto-detected
    types, parallel reader), no checks at all."""
    t0 = time.perf_counter()
    con = duckdb.connect(str(work / "bare.duckdb"))
    try:
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_csv('{csv}')")
        n = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()
    return Timing("bare DuckDB read_csv", n, time.perf_counter() - t0, "read_csv into a table; no checks")


def _peak_mb() -> float:
    """This process's peak resident set (VmHWM): unlike ru_maxrss it does not carry the parent's peak
    across the exec that started this child."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024


def peak_child(kind: str, csv: Path, work: Path, table: str) -> None:
    """One loader in this (child) process; prints its peak resident set in MB as JSON."""
    rules = load_rules(REPO / "rules")
    before = _peak_mb()
    if kind == "medvault":
        run_medvault(csv, work, table, rules)
    else:
        run_duckdb_read_csv(csv, work, table)
    print(json.dumps({"peak_mb": _peak_mb(), "before_mb": before}))


def peak_memory(csv: Path, base: Path, table: str) -> dict[str, dict]:
    """Peak RSS of medvault and of bare read_csv, each staging `csv` in a fresh process."""
    out = {}
    for kind in ("medvault", "duckdb"):
        work = base / f"peak_{kind}"
        work.mkdir()
        done = subprocess.run(
            [sys.executable, __file__, "--peak-child", kind, str(csv), str(work), table],
            capture_output=True,
            text=True,
            check=True,
        )
        out[kind] = json.loads(done.stdout.strip().splitlines()[-1])
        shutil.rmtree(work)
    return out


def median(timings: list[Timing]) -> Timing:
    """The run with the median time (the runs of every loader are interleaved, so load drifts hit all)."""
    ordered = sorted(timings, key=lambda t: t.seconds)
    return ordered[len(ordered) // 2]


def bench_size(tmp: Path, table: str, rows: int, seed: int, repeat: int, rules) -> list[dict]:
    base = tmp / f"{table}_{rows}"
    base.mkdir()
    csv = base / f"{table}_{DATE.replace('-', '')}.csv"
    gen_s = generate(csv, table, rows, seed)
    size_mb = csv.stat().st_size / 1e6
    print(f"\n## {SYSTEM} v2 {table}: {rows:,} rows, {size_mb:.1f} MB CSV (generated in {gen_s:.1f}s)")

    medvault: dict[str, list[Timing]] = {}
    sqlite_runs, duck_runs, bare_runs = [], [], []
    detail = ""
    for r in range(repeat):
        work = base / f"run{r}"
        work.mkdir()
        timings, detail = run_medvault(csv, work, table, rules)
        for t in timings:
            medvault.setdefault(t.label, []).append(t)
        sqlite_runs.append(run_pandas_sqlite(csv, work, table))
        duck_runs.append(run_pandas_duckdb(csv, work, table))
        bare_runs.append(run_duckdb_read_csv(csv, work, table))
        shutil.rmtree(work)
    print(f"medvault: {detail}")
    mv_total = median(medvault["medvault total"])
    baselines = [median(sqlite_runs), median(duck_runs), median(bare_runs)]
    rows_out = [median(v) for v in medvault.values()] + baselines
    header = f"{'loader':<24} {'rows':>10} {'seconds':>8} {'rows/s':>11} {'MB/s':>6}  what"
    print(header)
    print("-" * len(header))
    for t in rows_out:
        print(
            f"{t.label:<24} {t.rows:>10,} {t.seconds:>8.2f} {t.rate:>11,.0f} {size_mb / t.seconds:>6.1f}  {t.note}"
        )
    for b in baselines:
        print(
            f"ratio medvault total / {b.label}: {mv_total.rate / b.rate:.2f}x the rows/s "
            f"({mv_total.seconds:.2f}s vs {b.seconds:.2f}s)"
        )
    if repeat > 1:
        print(f"(median of {repeat} interleaved runs each)")
    peaks = peak_memory(csv, base, table)
    mib = csv.stat().st_size / 2**20
    for label, kind in (("medvault total", "medvault"), ("bare DuckDB read_csv", "duckdb")):
        p = peaks[kind]
        added = p["peak_mb"] - p["before_mb"]
        print(
            f"peak memory, {label}: {p['peak_mb']:.0f} MB in its own process, {added:.0f} MB over the "
            f"{p['before_mb']:.0f} MB held before loading ({added / mib:.1f}x the {mib:.0f} MB file)"
        )
    return [
        {
            "name": f"medvault_peak_memory_{rows}_rows",
            "value": round(peaks["medvault"]["peak_mb"]),
            "unit": "MB",
            "ratio": round(
                peaks["medvault"]["peak_mb"] / peaks["duckdb"]["peak_mb"], 3
            ),  # against bare read_csv
        },
        {
            "name": f"medvault_total_{rows}_rows",
            "value": round(mv_total.rate),
            "unit": "rows/s",
            "ratio": round(mv_total.rate / baselines[0].rate, 3),  # against pandas + sqlite
        },
        {
            "name": f"medvault_total_{rows}_rows_vs_pandas_duckdb",
            "value": round(mv_total.rate),
            "unit": "rows/s",
            "ratio": round(mv_total.rate / baselines[1].rate, 3),
        },
        {
            "name": f"medvault_total_{rows}_rows_vs_bare_read_csv",
            "value": round(mv_total.rate),
            "unit": "rows/s",
            "ratio": round(mv_total.rate / baselines[2].rate, 3),
        },
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rows",
        default="1000000,100000",
        help="comma-separated row counts, one CSV-to-staged run each (default 1000000,100000)",
    )
    parser.add_argument("--table", choices=sorted(QUERIES), default="studies")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--repeat", type=int, default=3, help="interleaved runs per size; the median is shown"
    )
    parser.add_argument("--skip-idle", action="store_true", help="skip the idle sensor tick benchmark")
    parser.add_argument("--idle-ticks", type=int, default=10)
    parser.add_argument("--peak-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peak_child:
        kind, csv, work, table = args.peak_child
        peak_child(kind, Path(csv), Path(work), table)
        return
    sizes = [int(x.replace("_", "")) for x in args.rows.split(",") if x.strip()]

    print(
        f"medvault ingest benchmark: python {sys.version.split()[0]}, duckdb {duckdb.__version__}, "
        f"pandas {pd.__version__}, sqlite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs"
    )
    rules = load_rules(REPO / "rules")
    figures: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="medvault-bench-ingest-") as tmp:
        for rows in sizes:
            figures += bench_size(Path(tmp), args.table, rows, args.seed, args.repeat, rules)

    if not args.skip_idle:
        import idle_tick

        print(f"\n## idle sensor tick ({args.idle_ticks} idle ticks per store; benchmarks/idle_tick.py)")
        sys.stdout.flush()
        for row in idle_tick.main(["--ticks", str(args.idle_ticks)]):
            store = row["store"].split()[0]
            figures.append(
                {
                    "name": f"idle_tick_{store}",
                    "value": row["idle median ms"],
                    "unit": "ms",
                    "ratio": round(1 / row["full/idle ratio"], 3) if row["full/idle ratio"] else None,
                }
            )
    print(json.dumps({"benchmark": "ingest", "figures": figures}))


if __name__ == "__main__":
    main()

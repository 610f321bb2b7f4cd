"""Peak memory of staging one large CSV: medvault with its bounded DuckDB memory against the peers.

Generates a ~200 MB `ndc_smr01` admissions extract (1,800,000 rows) in a temp dir, receives it into a
fresh local lake, then stages it; each loader runs in its own child process, so each peak resident
set size (`VmHWM` of that child, which unlike `ru_maxrss` does not inherit the parent's) is its own:

- medvault, `MEDVAULT_DUCKDB_MEMORY_LIMIT` at its default (1GB): DuckDB spills past the limit;
- medvault with a 512MB limit (for a small machine);
- medvault with no limit (DuckDB's own default, 80% of RAM): what staging costs when memory is free;
- bare DuckDB `read_csv` into a table of a file database (the strongest peer: no validation);
- pandas `read_csv` (the naive peer: the frame alone, nothing written).

The ratio printed is peak / file size; the aim (issue 8) is under 2x the file plus a constant, i.e. a
peak that does not grow with the file. Prints figures only.

    .venv/bin/python benchmarks/memory.py [--rows 1800000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

HEADER = (
    "record_id,chi,admission_date,discharge_date,length_of_stay,sex,age_in_years,ethnic_group,marital_status,"
    "postcode,main_condition,other_condition_1,other_condition_2,other_condition_3,other_condition_4,"
    "main_operation_a,main_operation_b,modified_at\n"
)


def generate(folder: Path, rows: int) -> Path:
    import duckdb

    folder.mkdir(parents=True)
    body = folder.parent / "body.csv"
    duckdb.connect().execute(
        f"""COPY (SELECT 'SMR' || i, lpad(CAST((i * 7919) % 9999999999 AS VARCHAR), 10, '0'), '2026-03-01',
               '2026-03-02', 1 + i % 9, 1 + i % 2, 18 + i % 70, '1A', 'A', 'AB1 2CD', 'I10', 'J20', 'K30', '', '',
               'A10', '', '2026-03-02T10:00:00' FROM range({rows}) r(i)) TO '{body}' (HEADER false)"""
    )
    target = folder / "smr01_big.csv"
    with open(target, "w") as out, open(body) as src:
        out.write(HEADER)
        while chunk := src.read(1 << 24):
            out.write(chunk)
    body.unlink()
    (folder / "_DONE").write_text("")
    return target


def _peak_kb() -> int:
    """This process's peak resident set in kB (VmHWM: its own, not carried over from the parent)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))


def child(kind: str, root: Path, limit: str) -> None:
    """One loader in this process; prints its seconds and peak RSS in MB as JSON."""
    started = time.monotonic()
    csv = root / "drops" / "aurora_eye" / "2026-03-02" / "smr01_big.csv"
    if kind == "medvault":
        from medvault.platform.config import Settings
        from medvault.platform.rules import load_rules
        from medvault.platform.steps.context import Engine
        from medvault.platform.steps.stage import stage_table

        env = {
            "MEDVAULT_HOME": str(root),
            "MEDVAULT_DROPS": str(root / "drops"),
            "MEDVAULT_LAKE": str(root / "lake"),
            "MEDVAULT_QUARANTINE": str(root / "q"),
            "MEDVAULT_WAREHOUSE": str(root / f"w_{limit or 'none'}.duckdb"),
        }
        if limit:
            env["MEDVAULT_DUCKDB_MEMORY_LIMIT"] = limit
        settings = Settings.from_env(env)
        if not limit:
            settings = type(settings)(**{**settings.__dict__, "duckdb_memory_limit": ""})
        ctx = Engine(settings, load_rules(REPO / "rules")).step("aurora_eye", "2026-03-02", None)
        from medvault.platform.steps.receive import receive
        from medvault.platform.stores.local import LocalStore

        receive(ctx, LocalStore(root / "drops"), "local")
        base = _peak_kb()
        started = time.monotonic()
        with ctx.connect() as con:
            rows = stage_table(ctx, con, "ndc_smr01", "admissions").rows_loaded
    elif kind == "duckdb":
        import duckdb

        base = _peak_kb()
        con = duckdb.connect(str(root / "bare.duckdb"))
        con.execute(f"CREATE OR REPLACE TABLE t AS SELECT * FROM read_csv('{csv}')")
        rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
        con.close()
    else:
        import pandas as pd

        base = _peak_kb()
        rows = len(pd.read_csv(csv, dtype=str, keep_default_na=False))
    peak = _peak_kb()
    print(
        json.dumps(
            {
                "seconds": time.monotonic() - started,
                "peak_mb": peak / 1024,
                "base_mb": base / 1024,
                "rows": rows,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_800_000)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, root, limit = args.child
        child(kind, Path(root), "" if limit == "none" else limit)
        return
    with tempfile.TemporaryDirectory(prefix="medvault-bench-memory-") as tmp:
        root = Path(tmp)
        csv = generate(root / "drops" / "aurora_eye" / "2026-03-02", args.rows)
        size_mb = csv.stat().st_size / 1024 / 1024
        print(
            f"file: {csv.name}, {size_mb:.0f} MB, {args.rows:,} rows (peak = max resident set of its own process)"
        )
        results = {}
        for label, kind, limit in [
            ("medvault, memory limit 1GB (default)", "medvault", "1GB"),
            ("medvault, memory limit 512MB", "medvault", "512MB"),
            ("medvault, no memory limit", "medvault", "none"),
            ("bare DuckDB read_csv into a table", "duckdb", "none"),
            ("pandas read_csv (frame only)", "pandas", "none"),
        ]:
            out = subprocess.run(
                [sys.executable, __file__, "--child", kind, str(root), limit],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            r = json.loads(out.strip().splitlines()[-1])
            results[label] = r
            print(
                f"  {label:<40} peak {r['peak_mb']:7.0f} MB  ({r['peak_mb'] / size_mb:4.1f}x the file; "
                f"{r['base_mb']:4.0f} MB before loading)  {r['seconds']:6.1f} s"
            )
        bounded = results["medvault, memory limit 1GB (default)"]
        peer = results["bare DuckDB read_csv into a table"]
        print(
            json.dumps(
                {
                    "name": "staging_peak_memory_200mb_csv",
                    "value": round(bounded["peak_mb"]),
                    "unit": "MB",
                    "ratio_to_baseline": round(bounded["peak_mb"] / peer["peak_mb"], 2),
                    "baseline": "bare DuckDB read_csv",
                    "file_mb": round(size_mb),
                    "ratio_to_file": round(bounded["peak_mb"] / size_mb, 2),
                    "limit_512mb_mb": round(results["medvault, memory limit 512MB"]["peak_mb"]),
                    "unbounded_mb": round(results["medvault, no memory limit"]["peak_mb"]),
                }
            )
        )


if __name__ == "__main__":
    main()

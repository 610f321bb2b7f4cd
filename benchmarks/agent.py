"""The site agent, PACS database to central SFTP: medvault's `agent once` against a naive pandas push.

Creates a fresh MariaDB database (default `medvault_bench_agent` on 127.0.0.1:3306, user root) with the
Harmony-like v2 schema of `medvault.synth.pacs_db.ddl("v2", "mysql")` and fills it inside the server with
set-based `INSERT ... SELECT` from a sequence (MariaDB's SEQUENCE engine, `seq_1_to_N`; a cross join of
digits elsewhere): `--rows` instances (default 1,000,000; 50 per series, 2 series per study) with one
`files` row each, their series, studies, patients, orders and 8 stations, with `2.25.` UIDs. The fill is
timed apart and is not part of the figures. It then starts an OpenSSH sshd on loopback (tests.servers)
and measures, each in its own child process so each peak resident set (VmHWM) is its own:

- medvault agent: `medvault.platform.agent.run.once(AgentSettings(...))` with the rules of
  `rules/agent/harmony_pacs/v2.yaml`: one read-only snapshot, a server-side cursor per table, gzip CSV
  files chunk by chunk into the outbox, then the push (`.part` + rename, `_DONE` last). All six tables
  are pushed; only `instances` has many rows. rows/s = instance rows / seconds of the whole `once()`.
- naive (seed 000's way): `pandas.read_sql(<the same instances SELECT, without _row>, pymysql
  connection)`, `DataFrame.to_csv(index=False)` to a local file, then paramiko `SFTPClient.put` of it
  to the same server (key auth, pinned host key).

Both outputs are checked at the destination: the lines of the agent's decompressed `instances_*.csv.gz`
files and of the naive CSV, headers excluded, must equal `--rows`. `--profile` also runs the agent once
more under cProfile (not timed) and prints its top entries.

    .venv/bin/python benchmarks/agent.py [--rows 1000000] [--repeat 1] [--profile]

Prints figures only; the last line is one JSON object. The database, sshd and the temp dir are removed
at exit.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SITE = "bench_site"
DB_URL = "mysql://root@127.0.0.1:3306/medvault_bench_agent"
PER_SERIES, SERIES_PER_STUDY, STATIONS = 50, 2, 8
RULES = REPO / "rules" / "agent"
DAY = "2026-03-02"


# -- the database -------------------------------------------------------------------------------------
def uid(expr: str, salt: str) -> str:
    """A `2.25.<decimal>` UID (about 40 characters) from an MD5 of `expr`: deterministic, unique enough."""
    md5 = f"MD5(CONCAT('{salt}:', {expr}))"
    return (
        f"CONCAT('2.25.', CONV(SUBSTR({md5}, 1, 16), 16, 10), "
        f"LPAD(CONV(SUBSTR({md5}, 17, 12), 16, 10), 15, '0'))"
    )


def numbers_source(cur, n: int) -> str:
    """A table expression with column `seq` = 1..n: MariaDB's SEQUENCE engine, else a digits cross join."""
    cur.execute("SELECT support FROM information_schema.engines WHERE engine = 'SEQUENCE'")
    row = cur.fetchone()
    if row and row[0] in ("YES", "DEFAULT"):
        return f"seq_1_to_{n}"
    cur.execute("CREATE TABLE bench_digits (d INT PRIMARY KEY)")
    cur.execute("INSERT INTO bench_digits VALUES " + ",".join(f"({d})" for d in range(10)))
    cur.execute("CREATE TABLE bench_numbers (seq BIGINT PRIMARY KEY)")
    places = max(1, math.ceil(math.log10(n + 1)))
    joins = " CROSS JOIN ".join(f"bench_digits d{p}" for p in range(places))
    value = " + ".join(f"d{p}.d * {10**p}" for p in range(places))
    cur.execute(f"INSERT INTO bench_numbers SELECT {value} + 1 FROM {joins} WHERE {value} < {n}")
    return "bench_numbers"


def fill(con, rows: int) -> dict[str, int]:
    """Every table filled by INSERT ... SELECT inside the server; returns the row count of each."""
    n_series = math.ceil(rows / PER_SERIES)
    n_studies = math.ceil(n_series / SERIES_PER_STUDY)
    n_patients = max(1, math.ceil(n_studies * 5 / 8))
    with con.cursor() as cur:
        cur.execute("SET SESSION unique_checks = 0")
        cur.execute("SET SESSION foreign_key_checks = 0")
        seq = numbers_source(cur, max(rows, STATIONS))

        def upto(n: int) -> str:
            return (
                f"(SELECT seq FROM {seq} WHERE seq <= {n}) s"
                if seq.startswith("bench")
                else f"seq_1_to_{n} s"
            )

        cur.execute(f"""
INSERT INTO station (pk, station_name, ae_title, manufacturer, model, device_serial, department, modality,
                     modified_at)
SELECT s.seq, CONCAT('STN', LPAD(s.seq, 2, '0')), CONCAT('AE_STN', s.seq),
       ELT(1 + s.seq % 4, 'Topcon', 'Zeiss', 'Siemens', 'GE'),
       ELT(1 + s.seq % 4, 'TRC-NW8', 'Cirrus 6000', 'SOMATOM go', 'SIGNA Premier'),
       CONCAT('SN', 100000 + s.seq * 7919),
       ELT(1 + s.seq % 3, 'Ophthalmology', 'Radiology', 'Neuroradiology'),
       ELT(1 + s.seq % 4, 'OP', 'OPT', 'CT', 'MR'), TIMESTAMP '2026-03-01 06:00:00'
FROM {upto(STATIONS)}""")
        cur.execute(f"""
INSERT INTO patient (pk, patient_id, patient_name, birth_date, sex, modified_at)
SELECT s.seq, LPAD((s.seq * 7919) % 10000000000, 10, '0'),
       CONCAT(ELT(1 + s.seq % 8, 'Campbell', 'MacLeod', 'Stewart', 'Robertson', 'Murray', 'Fraser', 'Reid',
                  'Ross'), '^',
              ELT(1 + (s.seq DIV 8) % 8, 'Fiona', 'Iain', 'Morag', 'Callum', 'Eilidh', 'Hamish', 'Catriona',
                  'Alasdair')),
       DATE '1940-01-01' + INTERVAL (s.seq * 37) % 25000 DAY, ELT(1 + s.seq % 2, 'F', 'M'),
       TIMESTAMP '{DAY} 06:00:00' + INTERVAL s.seq % 3600 SECOND
FROM {upto(n_patients)}""")
        cur.execute(f"""
INSERT INTO study (pk, patient_fk, study_instance_uid, study_date, accession_number, study_description,
                   modality, referring_physician, modified_at)
SELECT s.seq, 1 + (s.seq * 7) % {n_patients}, {uid("s.seq", "study")},
       DATE '{DAY}' - INTERVAL s.seq % 3 DAY, CONCAT('BEN', LPAD(s.seq, 9, '0')),
       ELT(1 + s.seq % 6, 'Colour fundus photography', 'Diabetic retinopathy screening', 'OCT macula',
           'OCT optic disc', 'CT head', 'MRI brain'),
       ELT(1 + s.seq % 4, 'OP', 'OPT', 'CT', 'MR'),
       ELT(1 + s.seq % 4, 'Campbell^Fiona', 'MacLeod^Iain', 'Stewart^Morag', 'Robertson^Callum'),
       TIMESTAMP '{DAY} 07:00:00' + INTERVAL s.seq % 43200 SECOND
FROM {upto(n_studies)}""")
        cur.execute("""
INSERT INTO orders (pk, order_id, patient_fk, study_fk, order_type, status, created_at, modified_at)
SELECT st.pk, CONCAT('ORD', LPAD(st.pk, 9, '0')), st.patient_fk, st.pk,
       ELT(1 + st.pk % 2, 'ROUTINE', 'URGENT'), ELT(1 + st.pk % 3, 'SCHEDULED', 'COMPLETED', 'CANCELLED'),
       st.modified_at - INTERVAL 1 DAY, st.modified_at
FROM study st""")
        cur.execute(f"""
INSERT INTO series (pk, study_fk, series_instance_uid, series_number, modality, body_part_examined,
                    laterality, station_name, department, institution_name, modified_at)
SELECT s.seq, st.pk, {uid("s.seq", "series")}, 1 + (s.seq - 1) % {SERIES_PER_STUDY}, st.modality,
       CASE st.modality WHEN 'CT' THEN 'HEAD' WHEN 'MR' THEN 'BRAIN' ELSE 'EYE' END,
       CASE WHEN st.modality IN ('OP', 'OPT') THEN ELT(1 + s.seq % 2, 'R', 'L') END,
       CONCAT('STN', LPAD(1 + s.seq % {STATIONS}, 2, '0')),
       CASE WHEN st.modality IN ('OP', 'OPT') THEN 'Ophthalmology' ELSE 'Radiology' END,
       'Bench General Hospital', st.modified_at + INTERVAL (1 + (s.seq - 1) % {SERIES_PER_STUDY}) * 60 SECOND
FROM {upto(n_series)} JOIN study st ON st.pk = (s.seq - 1) DIV {SERIES_PER_STUDY} + 1""")
        cur.execute(f"""
INSERT INTO instance (pk, series_fk, sop_instance_uid, sop_class_uid, instance_number, transfer_syntax,
                      modified_at)
SELECT s.seq, se.pk, {uid("s.seq", "instance")},
       CASE se.modality WHEN 'OP' THEN '1.2.840.10008.5.1.4.1.1.77.1.5.1'
                        WHEN 'OPT' THEN '1.2.840.10008.5.1.4.1.1.77.1.5.4'
                        WHEN 'CT' THEN '1.2.840.10008.5.1.4.1.1.2' ELSE '1.2.840.10008.5.1.4.1.1.4' END,
       1 + (s.seq - 1) % {PER_SERIES},
       ELT(1 + s.seq % 3, '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.4.70', '1.2.840.10008.1.2.4.90'),
       se.modified_at + INTERVAL (1 + (s.seq - 1) % {PER_SERIES}) SECOND
FROM {upto(rows)} JOIN series se ON se.pk = (s.seq - 1) DIV {PER_SERIES} + 1""")
        cur.execute("""
INSERT INTO files (pk, instance_fk, file_size, created_at)
SELECT i.pk, i.pk, 400000 + (i.pk * 2654435761) % 9600000, i.modified_at FROM instance i""")
        for helper in ("bench_numbers", "bench_digits"):
            cur.execute(f"DROP TABLE IF EXISTS {helper}")
        counts = {}
        for table in ("station", "patient", "study", "orders", "series", "instance", "files"):
            cur.execute(f"SELECT COUNT(*) FROM {table}")
            counts[table] = cur.fetchone()[0]
    con.commit()
    return counts


def drop_database(url_text: str, password: str) -> None:
    """Drop the benchmark's database, only when it holds pacs_db's marker table (it made it)."""
    from medvault.platform.agent.database import DatabaseUrl, dbapi_connect
    from medvault.synth.pacs_db import MARKER

    url = DatabaseUrl.parse(url_text)
    con = dbapi_connect(url, password, database="")
    try:
        with con.cursor() as cur:
            cur.execute(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
                (url.database, MARKER),
            )
            if cur.fetchone()[0]:
                cur.execute(f"DROP DATABASE `{url.database}`")
    finally:
        con.close()


def naive_query() -> str:
    """The instances SELECT of rules/agent/harmony_pacs/v2.yaml without its `_row` column."""
    import yaml

    query = yaml.safe_load((RULES / "harmony_pacs" / "v2.yaml").read_text())["tables"]["instances"]["query"]
    stripped = re.sub(r",\s*[\w.]+\s+AS\s+_\w+", "", query, flags=re.IGNORECASE)
    if stripped == query or "_row" in stripped:
        raise RuntimeError("could not take the _row column out of the instances query")
    return stripped.strip()


# -- the children -------------------------------------------------------------------------------------
def peak_mb() -> float:
    """This process's peak resident set in MB: VmHWM, which starts afresh at exec. (`ru_maxrss` does not on
    Linux: a child keeps the high-water mark of the parent it was forked from, here pandas and all.)"""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def child_agent(job: dict) -> dict:
    import logging

    from medvault.platform.agent.run import once
    from medvault.platform.config.agent import AgentSettings

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="    %(message)s")
    settings = AgentSettings(
        site=SITE,
        db=job["db"],
        db_password=os.environ.get("MEDVAULT_AGENT_DB_PASSWORD", ""),
        to=f"sftp://{job['user']}@127.0.0.1:{job['port']}{job['root']}",
        state=Path(job["state"]),
        rules=RULES,
        version="v2",
        sftp_key_file=job["key_file"],
        sftp_known_hosts=job["known_hosts"],
        retries=1,
        backoff=0.5,
    )
    base, cpu0 = peak_mb(), cpu_seconds()
    profiler = None
    if job.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    report = once(settings)
    seconds = time.perf_counter() - started
    if profiler is not None:
        import io
        import pstats

        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(14)
        stats.sort_stats("tottime").print_stats(12)
        Path(job["profile"]).write_text(out.getvalue())
    return {
        "seconds": seconds,
        "cpu_s": cpu_seconds() - cpu0,
        "peak_mb": peak_mb(),
        "base_mb": base,
        "rows": report.tables.get("instances", 0),
        "all_rows": report.rows,
        "tables": report.tables,
        "bytes_sent": report.bytes_sent,
        "push_s": sum(p.seconds for p in report.pushed),
    }


def child_naive(job: dict) -> dict:
    import warnings

    import pandas as pd
    import paramiko
    import pymysql

    from medvault.platform.agent.database import DatabaseUrl

    url = DatabaseUrl.parse(job["db"])
    base, cpu0 = peak_mb(), cpu_seconds()
    started = time.perf_counter()
    con = pymysql.connect(
        host=url.host,
        port=url.port,
        user=url.user,
        password=os.environ.get("MEDVAULT_AGENT_DB_PASSWORD", ""),
        database=url.database,
        charset="utf8mb4",
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # pandas prefers SQLAlchemy; seed 000 did not
            df = pd.read_sql(job["query"], con)
    finally:
        con.close()
    t_read = time.perf_counter() - started
    local = Path(job["state"]) / "instances.csv"
    local.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(local, index=False)
    rows = len(df)
    t_csv = time.perf_counter() - started - t_read
    client = paramiko.SSHClient()
    client.load_host_keys(job["known_hosts"])
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        "127.0.0.1",
        job["port"],
        username=job["user"],
        key_filename=job["key_file"],
        allow_agent=False,
        look_for_keys=False,
        timeout=30,
    )
    try:
        sftp = client.open_sftp()
        remote = f"{job['root']}/naive"
        sftp.mkdir(remote)
        sftp.put(str(local), f"{remote}/instances.csv")
        sftp.close()
    finally:
        client.close()
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "cpu_s": cpu_seconds() - cpu0,
        "peak_mb": peak_mb(),
        "base_mb": base,
        "rows": rows,
        "all_rows": rows,
        "bytes_sent": local.stat().st_size,
        "read_s": t_read,
        "csv_s": t_csv,
        "push_s": seconds - t_read - t_csv,
    }


def run_child(kind: str, job: dict) -> tuple[dict, str]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, json.dumps(job)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the {kind} child failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


# -- checks at the destination ------------------------------------------------------------------------
def count_lines_gz(path: Path) -> int:
    n = 0
    with gzip.open(path, "rb") as fh:
        while block := fh.read(1 << 22):
            n += block.count(b"\n")
    return n


def count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 22):
            n += block.count(b"\n")
    return n


def agent_rows_at_destination(root: Path) -> tuple[int, int]:
    """(instance data rows, files) under <root>/<site>/<date>/, with its `_DONE` marker."""
    folders = [p for p in (root / SITE).iterdir() if p.is_dir()]
    if len(folders) != 1 or not (folders[0] / "_DONE").exists():
        raise RuntimeError(f"expected one complete drop folder under {root / SITE}, found {folders}")
    files = sorted(folders[0].glob("instances_*.csv.gz"))
    return sum(count_lines_gz(f) - 1 for f in files), len(files)


# -- main ---------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="instance rows (default 1000000)")
    parser.add_argument("--repeat", type=int, default=1, help="interleaved runs of each; the median counts")
    parser.add_argument(
        "--profile", action="store_true", help="one more agent run under cProfile (not timed)"
    )
    parser.add_argument("--db", default=DB_URL, help=f"database to create and drop (default {DB_URL})")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, job = args.child
        result = (child_agent if kind == "agent" else child_naive)(json.loads(job))
        print(json.dumps(result))
        return

    import pandas as pd
    import paramiko
    import pymysql

    from medvault.synth.pacs_db import open_site_database
    from tests.servers import start_sshd

    password = os.environ.get("MEDVAULT_AGENT_DB_PASSWORD", "")
    print(
        f"medvault agent benchmark: python {sys.version.split()[0]}, pandas {pd.__version__}, pymysql "
        f"{pymysql.__version__}, paramiko {paramiko.__version__}, {os.cpu_count()} CPUs"
    )
    figures: list[dict] = []
    sshd = None
    created = False
    with tempfile.TemporaryDirectory(prefix="medvault-bench-agent-") as tmp:
        tmp = Path(tmp)
        try:
            started = time.perf_counter()
            site_db = open_site_database(args.db, SITE, "v2", password)
            created = True
            try:
                server_version = site_db.con.get_server_info()
                counts = fill(site_db.con, args.rows)
            finally:
                site_db.close()
            print(
                f"database {args.db} ({server_version}), filled in {time.perf_counter() - started:.1f} s "
                f"(not in the figures): " + ", ".join(f"{t} {n:,}" for t, n in counts.items())
            )
            sshd = start_sshd(tmp / "sshd")
            query = naive_query()
            server = {  # what every child needs to reach the database and the SFTP server
                "db": args.db,
                "user": sshd.username,
                "port": sshd.port,
                "key_file": str(sshd.key_file),
                "known_hosts": str(sshd.known_hosts),
            }
            runs: dict[str, list[dict]] = {"agent": [], "naive": []}
            logs = ""
            for r in range(args.repeat):
                for kind in ("agent", "naive"):
                    root = tmp / f"sftp_{kind}_{r}"
                    root.mkdir()
                    job = {
                        **server,
                        "root": str(root),
                        "state": str(tmp / f"state_{kind}_{r}"),
                        "query": query,
                    }
                    result, stderr = run_child(kind, job)
                    if kind == "agent":
                        result["at_destination"], result["files"] = agent_rows_at_destination(root)
                        logs = stderr
                    else:
                        result["at_destination"] = count_lines(root / "naive" / "instances.csv") - 1
                        result["files"] = 1
                    if result["at_destination"] != args.rows or result["rows"] != args.rows:
                        raise RuntimeError(
                            f"{kind}: {result['rows']:,} rows reported, {result['at_destination']:,} at the "
                            f"destination, expected {args.rows:,}"
                        )
                    runs[kind].append(result)
                    shutil.rmtree(root, ignore_errors=True)
                    shutil.rmtree(job["state"], ignore_errors=True)
            agent = sorted(runs["agent"], key=lambda x: x["seconds"])[len(runs["agent"]) // 2]
            naive = sorted(runs["naive"], key=lambda x: x["seconds"])[len(runs["naive"]) // 2]
            print("agent log (last timed run):")
            print(
                "".join(line + "\n" for line in logs.splitlines() if "extracted" in line or "pushed" in line),
                end="",
            )

            header = (
                f"{'method':<34} {'rows':>10} {'seconds':>8} {'rows/s':>9} {'MB sent':>8} {'MB/s':>6} "
                f"{'peak MB':>8} {'cpu s':>6}  files"
            )
            print(header)
            print("-" * len(header))
            for label, r in (("medvault agent once() (csv.gz)", agent), ("naive read_sql+to_csv+put", naive)):
                print(
                    f"{label:<34} {r['rows']:>10,} {r['seconds']:>8.2f} {r['rows'] / r['seconds']:>9,.0f} "
                    f"{r['bytes_sent'] / 1e6:>8.1f} {r['bytes_sent'] / 1e6 / r['seconds']:>6.1f} "
                    f"{r['peak_mb']:>8.0f} {r['cpu_s']:>6.1f}  {r['files']}"
                )
            print(
                f"agent: {agent['all_rows']:,} rows in all ({', '.join(f'{t} {n:,}' for t, n in agent['tables'].items())}"
                f"); push {agent['push_s']:.2f} s of {agent['seconds']:.2f} s; {agent['base_mb']:.0f} MB before once()"
            )
            print(
                f"naive: read_sql {naive['read_s']:.2f} s, to_csv {naive['csv_s']:.2f} s, put {naive['push_s']:.2f} s; "
                f"{naive['base_mb']:.0f} MB before read_sql"
            )
            rate_ratio = (agent["rows"] / agent["seconds"]) / (naive["rows"] / naive["seconds"])
            mem_ratio = agent["peak_mb"] / naive["peak_mb"]
            bytes_ratio = agent["bytes_sent"] / naive["bytes_sent"]
            print(
                f"ratios agent / naive: rows/s {rate_ratio:.2f}x (higher is better), peak memory "
                f"{mem_ratio:.2f}x (lower is better), bytes sent {bytes_ratio:.2f}x (lower is better)"
            )
            print(
                "rows/s = instance rows / wall seconds of the whole run (the agent's also covers the five small "
                "tables and the outbox); peak = VmHWM of each child process; "
                f"both row counts checked at the destination ({args.rows:,})"
                + (f"; median of {args.repeat} interleaved runs" if args.repeat > 1 else "")
            )
            if args.profile:
                prof = tmp / "agent.prof.txt"
                root = tmp / "sftp_profile"
                root.mkdir()
                run_child(
                    "agent",
                    {**server, "root": str(root), "state": str(tmp / "state_profile"), "profile": str(prof)},
                )
                print("\nagent once() under cProfile (not timed above):")
                print(prof.read_text())
            figures = [
                {
                    "name": f"agent_rows_per_s_{args.rows}",
                    "value": round(agent["rows"] / agent["seconds"]),
                    "unit": "rows/s",
                    "ratio": round(rate_ratio, 3),
                    "better": "higher",
                },
                {
                    "name": f"agent_peak_rss_{args.rows}",
                    "value": round(agent["peak_mb"]),
                    "unit": "MB",
                    "ratio": round(mem_ratio, 3),
                    "better": "lower",
                },
                {
                    "name": f"agent_bytes_sent_{args.rows}",
                    "value": agent["bytes_sent"],
                    "unit": "bytes",
                    "ratio": round(bytes_ratio, 3),
                    "better": "lower",
                },
                {
                    "name": f"naive_bytes_sent_{args.rows}",
                    "value": naive["bytes_sent"],
                    "unit": "bytes",
                    "ratio": 1.0,
                    "better": "lower",
                },
            ]
        finally:
            if sshd is not None:
                sshd.stop()
            try:
                drop_database(args.db, password)  # only a database holding pacs_db's marker table
            except Exception as exc:
                if created:
                    raise
                print(f"(could not check for a database to drop: {exc})", file=sys.stderr)
    print(json.dumps({"benchmark": "agent", "figures": figures}))


if __name__ == "__main__":
    main()

"""Vault load throughput: 1,000,000 staged rows into one hub, one link and one satellite (first load),
a delta of the same extract with 10% of the patients changed (and the changed tenth alone, as a source
delivering only its changes would send it), then the same delta into a satellite
that already holds many rows (cost should follow the batch, not the history), and a source delivered
as a daily full extract (every key again each day, every other day a tenth changed): the last
days' loads against days 2-4's, a ratio that falls as each key's history grows unless a load reads only
its keys' newest version.

The batch is the AutomateDV peer's (`raw_patient_encounter`: four encounters per patient over three
sites, patient attributes a function of the patient, the delta changes every tenth patient's postcode),
so its figures compare with AutomateDV's run of the same rows (docs/performance.md). Baselines measured
in the same run, on the same rows:
  - naive set-based: the hash expressions in every statement, a window de-duplication and NOT EXISTS
    against the target, one statement per table (the vault loader before the hashed batch);
  - row by row: one INSERT per row after a lookup, as seed 002's loader does, on a 5,000-row sample.

The peer, when given (`--automatedv DIR`): AutomateDV, the most used open-source DV2.0 loader (a dbt
package), loading the same rows into its hub, link and satellite on the same DuckDB, in the same run.
DIR is a dbt project prepared as docs/performance.md says (AutomateDV and dbt-utils unpacked under
DIR/dbt_packages, dbt-core and dbt-duckdb in DIR/venv); nothing of it is in this repository, so `make
bench` runs without it. Its figure is the sum of dbt's execution times of the three models (dbt's own
start-up left out).

Usage: python benchmarks/vault_load.py [--rows 1000000] [--history 10000000] [--days 12] [--automatedv DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from medvault.platform.rules.models import (
    ColumnDef,
    HubDef,
    LinkDef,
    Rules,
    SatelliteLoad,
    SourceDef,
    TableDef,
    VaultLoad,
    VaultModel,
)
from medvault.platform.vault.ddl import create_vault_tables
from medvault.platform.vault.hashing import hash_key_sql, hashdiff_sql
from medvault.platform.vault.loader import load_objects
from medvault.platform.vault.model import compile_vault

TARGETS = ["hub_person", "link_person_event", "sat_person_patient_details"]
PAYLOAD = ["sex", "birth_date", "postcode"]


def rules() -> Rules:
    cols = [("patient_id", "varchar"), ("encounter_id", "varchar"), ("sex", "varchar")]
    cols += [("birth_date", "date"), ("postcode", "varchar")]
    table = TableDef(
        name="encounters",
        files=("enc*.csv",),
        columns=tuple(ColumnDef(n, n.upper(), t) for n, t in cols),
        key=("encounter_id",),
    )
    hubs = {
        "hub_person": HubDef("hub_person", "person", ("person_id",)),
        "hub_event": HubDef("hub_event", "event", ("event_id",)),
    }
    links = {"link_person_event": LinkDef("link_person_event", ("hub_person", "hub_event"))}
    load = VaultLoad(
        source="bench.encounters",
        hubs={"hub_person": ("patient_id",), "hub_event": ("encounter_id",)},
        links=("link_person_event",),
        satellites=(SatelliteLoad("sat_person_patient_details", "hub_person", tuple(PAYLOAD)),),
    )
    return Rules(
        sites={},
        sources=(SourceDef("bench", "v1", "csv", (table,)),),
        vault=VaultModel(hubs, links, (load,)),
    )


def stage(con, rows: int, day: date, delta: bool, site: str = "site_a", changes: str = "") -> None:
    """The peer's raw batch as one staged (site, date) slice; with `changes`, only the tenth of the
    patients whose postcode a delta changes, each to a value prefixed with it (a change-only delta)."""
    prefix, where = (changes, "WHERE p % 10 = 0") if changes else ("NEW", "")
    con.execute(
        f"""
        INSERT INTO staging.bench__encounters
        WITH base AS (SELECT i, i // 4 AS p, i % 3 AS s FROM range(0, {rows}) t(i))
        SELECT 'SITE' || s::VARCHAR || '-P' || lpad(p::VARCHAR, 8, '0'),
               'ENC' || lpad(i::VARCHAR, 10, '0'),
               CASE WHEN (p + s) % 2 = 0 THEN 'F' ELSE 'm ' END,
               DATE '1950-01-01' + CAST((p * 7919 + s) % 25000 AS INTEGER),
               CASE WHEN p % 17 = 0 THEN NULL
                    WHEN {int(delta or bool(changes))} = 1 AND p % 10 = 0 THEN '{prefix}' || ((p * 31) % 9000)::VARCHAR
                    ELSE 'ZIP' || ((p * 31) % 9000)::VARCHAR END,
               '{site}', DATE '{day}', 'sha', 'key', 'v1', i + 1, now()
        FROM base {where}
        """
    )


def fresh(path: Path):
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute("SET threads = 2")
    con.execute("CREATE SCHEMA staging")
    con.execute(
        "CREATE TABLE staging.bench__encounters (patient_id VARCHAR, encounter_id VARCHAR, sex VARCHAR, "
        "birth_date DATE, postcode VARCHAR, _site VARCHAR, _date DATE, _sha256 VARCHAR, _source_key VARCHAR, "
        "_version VARCHAR, _row_number BIGINT, _loaded_at TIMESTAMP)"
    )
    create_vault_tables(con, rules())
    return con


def medvault_load(con, day: date) -> float:
    started = time.perf_counter()
    load_objects(con, compile_vault(rules()), TARGETS, "site_a", day, datetime(2026, 1, 1))
    return time.perf_counter() - started


# --- baselines -------------------------------------------------------------------------------------

WHERE = "WHERE _site = 'site_a' AND _date = $day"
HK_PERSON = hash_key_sql(["patient_id"], tenant="_site")
HK_EVENT = hash_key_sql(["encounter_id"], tenant="_site")
HK_LINK = hash_key_sql(["patient_id", "encounter_id"], tenant="_site")
HD = hashdiff_sql(PAYLOAD)


def naive_load(con, day: date) -> float:
    """One statement per table, hashing in each, window de-duplication, NOT EXISTS against the target."""
    src = "staging.bench__encounters"
    started = time.perf_counter()
    con.execute("BEGIN")
    con.execute(
        f"""INSERT INTO vault.hub_person
        SELECT hk, _site, person_id, now()::TIMESTAMP, 'bench' FROM (
            SELECT {HK_PERSON} AS hk, _site, patient_id AS person_id FROM {src} {WHERE}
            QUALIFY row_number() OVER (PARTITION BY hk ORDER BY _row_number) = 1) b
        WHERE hk IS NOT NULL AND NOT EXISTS (SELECT 1 FROM vault.hub_person t WHERE t.hk_person = b.hk)""",
        {"day": day},
    )
    con.execute(
        f"""INSERT INTO vault.link_person_event
        SELECT hk, hp, he, _site, now()::TIMESTAMP, 'bench' FROM (
            SELECT {HK_LINK} AS hk, {HK_PERSON} AS hp, {HK_EVENT} AS he, _site FROM {src} {WHERE}
            QUALIFY row_number() OVER (PARTITION BY hk ORDER BY _row_number) = 1) b
        WHERE hk IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM vault.link_person_event t WHERE t.hk_link_person_event = b.hk)""",
        {"day": day},
    )
    con.execute(
        f"""INSERT INTO vault.sat_person_patient_details
        WITH b AS (
            SELECT {HK_PERSON} AS hk, {HD} AS hd, sex, birth_date, postcode, _site, _date FROM {src} {WHERE}
            QUALIFY row_number() OVER (PARTITION BY hk ORDER BY _row_number DESC) = 1),
        cur AS (
            SELECT hk_person, hashdiff FROM vault.sat_person_patient_details
            QUALIFY row_number() OVER (PARTITION BY hk_person ORDER BY effective_ts DESC) = 1)
        SELECT b.hk, b.hd, b.sex, b.birth_date, b.postcode, CAST(b._date AS TIMESTAMP), now()::TIMESTAMP,
               'bench', b._site, b._date
        FROM b LEFT JOIN cur c ON c.hk_person = b.hk
        WHERE b.hk IS NOT NULL AND (c.hk_person IS NULL OR c.hashdiff <> b.hd)""",
        {"day": day},
    )
    con.execute("COMMIT")
    return time.perf_counter() - started


def row_by_row_load(con, day: date, sample: int) -> float:
    """Seen-check then INSERT per row (seed 002's loader), over the first `sample` staged rows."""
    rows = con.execute(
        f"SELECT {HK_PERSON}, {HK_EVENT}, {HK_LINK}, {HD}, _site, patient_id, sex, birth_date, postcode "
        f"FROM staging.bench__encounters {WHERE} ORDER BY _row_number LIMIT {sample}",
        {"day": day},
    ).fetchall()
    started = time.perf_counter()
    con.execute("BEGIN")
    for hp, he, hl, hd, site, pid, sex, birth, postcode in rows:
        if not con.execute("SELECT 1 FROM vault.hub_person WHERE hk_person = ?", [hp]).fetchone():
            con.execute("INSERT INTO vault.hub_person VALUES (?, ?, ?, now(), 'bench')", [hp, site, pid])
        if not con.execute(
            "SELECT 1 FROM vault.link_person_event WHERE hk_link_person_event = ?", [hl]
        ).fetchone():
            con.execute(
                "INSERT INTO vault.link_person_event VALUES (?, ?, ?, ?, now(), 'bench')", [hl, hp, he, site]
            )
        cur = con.execute(
            "SELECT hashdiff FROM vault.sat_person_patient_details WHERE hk_person = ? "
            "ORDER BY effective_ts DESC LIMIT 1",
            [hp],
        ).fetchone()
        if cur is None or bytes(cur[0]) != bytes(hd):
            con.execute(
                "INSERT INTO vault.sat_person_patient_details VALUES (?, ?, ?, ?, ?, ?, now(), 'bench', ?, ?)",
                [hp, hd, sex, birth, postcode, day, site, day],
            )
    con.execute("COMMIT")
    return time.perf_counter() - started


PEER_MODELS = ("hub_patient", "link_patient_encounter", "sat_patient_details")


def automatedv_load(project: Path, rows: int, day: date, delta: bool) -> dict[str, float]:
    """One `dbt run` of the AutomateDV peer (its raw batch and stage, then hub, link and satellite);
    seconds per model from dbt's run_results.json."""
    dbt = project / "venv" / "bin" / "dbt"
    variables = json.dumps({"n_rows": rows, "delta": int(delta), "load_date": day.isoformat()})
    subprocess.run(
        [str(dbt), "run", "--vars", variables, "--select", "raw", "stage", *PEER_MODELS],
        cwd=project,
        env={**os.environ, "DBT_PROFILES_DIR": str(project)},
        check=True,
        capture_output=True,
    )
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    times = {r["unique_id"].rsplit(".", 1)[1]: r["execution_time"] for r in results}
    return {m: times[m] for m in PEER_MODELS}


def counts(con) -> dict:
    return {t: con.execute(f"SELECT count(*) FROM vault.{t}").fetchone()[0] for t in TARGETS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--history", type=int, default=10_000_000, help="satellite rows before the last delta"
    )
    parser.add_argument("--sample", type=int, default=5_000, help="rows for the row-by-row loader")
    parser.add_argument("--days", type=int, default=12, help="days of the daily full extract")
    parser.add_argument("--automatedv", type=Path, help="the AutomateDV peer's prepared dbt project")
    args = parser.parse_args()
    d1, d2 = date(2024, 1, 1), date(2024, 1, 2)
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        for name, loader in (("medvault", medvault_load), ("naive set-based", naive_load)):
            con = fresh(db)
            stage(con, args.rows, d1, delta=False)
            stage(con, args.rows, d2, delta=True)
            first = loader(con, d1)
            after_first = counts(con)
            delta = loader(con, d2)
            new = {t: n - after_first[t] for t, n in counts(con).items()}
            print(
                f"{name:16} first load {first:6.2f} s {after_first}; 10% delta {delta:6.2f} s, new rows {new}"
            )
            figures[name] = {"first": first, "delta": delta}
            if name == "medvault":  # the same tenth changed again, delivered alone
                stage(con, args.rows, d2 + timedelta(days=1), delta=False, changes="CDC")
                staged = con.execute(
                    "SELECT count(*) FROM staging.bench__encounters WHERE _date = $d",
                    {"d": d2 + timedelta(days=1)},
                ).fetchone()[0]
                before = counts(con)
                changes_only = loader(con, d2 + timedelta(days=1))
                new = {t: n - before[t] for t, n in counts(con).items()}
                print(f"{name:16} change-only delta of {staged:,} rows {changes_only:6.2f} s, new rows {new}")
            con.close()

        con = fresh(db)
        stage(con, args.rows, d1, delta=False)
        rbr = row_by_row_load(con, d1, args.sample)
        con.close()
        rbr_rate = args.sample / rbr
        print(
            f"row by row       {rbr_rate:,.0f} rows/s on {args.sample:,} rows (a 1M first load: {args.rows / rbr_rate:,.0f} s)"
        )

        # the same delta into a satellite with a long history: other sites' rows, same shape
        con = fresh(db)
        for n in range(max(1, args.history // args.rows)):
            stage(con, args.rows, d1, delta=False, site=f"site_h{n}")
            load_objects(con, compile_vault(rules()), TARGETS, f"site_h{n}", d1, datetime(2026, 1, 1))
        history = con.execute("SELECT count(*) FROM vault.sat_person_patient_details").fetchone()[0]
        stage(con, args.rows, d1, delta=False)
        stage(con, args.rows, d2, delta=True)
        medvault_load(con, d1)
        big_delta = medvault_load(con, d2)
        con.close()
        print(f"medvault         10% delta into a satellite of {history:,} rows: {big_delta:6.2f} s")

        # a daily full extract (a quarter of the rows): every key repeated each day
        con = fresh(db)
        daily = []
        for n in range(max(6, args.days)):
            day = d1 + timedelta(days=n)
            stage(con, args.rows // 4, day, delta=bool(n % 2))
            daily.append(medvault_load(con, day))
        con.close()
        early, late = statistics.median(daily[1:4]), statistics.median(daily[-3:])  # checkpoints are noisy
        shown = " ".join(f"{t:.2f}" for t in daily)
        print(
            f"medvault         daily full extract of {args.rows // 4:,} rows, days 1..{len(daily)}: {shown} s"
        )

    peer = None
    if args.automatedv:
        (args.automatedv / "dvpeer.duckdb").unlink(missing_ok=True)
        first = automatedv_load(args.automatedv, args.rows, d1, delta=False)
        delta = automatedv_load(args.automatedv, args.rows, d2, delta=True)
        peer = {"first": sum(first.values()), "delta": sum(delta.values())}
        shown = ", ".join(f"{m.split('_')[0]} {first[m]:.2f}/{delta[m]:.2f}" for m in PEER_MODELS)
        print(
            f"AutomateDV       first load {peer['first']:6.2f} s; 10% delta {peer['delta']:6.2f} s "
            f"(first/delta per model: {shown})"
        )

    mv, naive = figures["medvault"], figures["naive set-based"]
    out = [
        ("vault_first_load", args.rows / mv["first"], "rows/s", naive["first"] / mv["first"]),
        ("vault_delta", args.rows / mv["delta"], "rows/s", naive["delta"] / mv["delta"]),
        ("vault_delta_long_history", args.rows / big_delta, "rows/s", mv["delta"] / big_delta),
        ("vault_change_only_delta", staged / changes_only, "rows/s", mv["delta"] / changes_only),
        ("vault_daily_extract_last_days", args.rows // 4 / late, "rows/s", early / late),
        (
            "vault_first_load_vs_row_by_row",
            args.rows / mv["first"],
            "rows/s",
            (args.rows / mv["first"]) / rbr_rate,
        ),
    ]
    if peer:
        out += [
            (
                "vault_first_load_vs_automatedv",
                args.rows / mv["first"],
                "rows/s",
                peer["first"] / mv["first"],
            ),
            ("vault_delta_vs_automatedv", args.rows / mv["delta"], "rows/s", peer["delta"] / mv["delta"]),
        ]
    print(
        "ratios: first load and delta against the naive set-based loader (higher is faster); long history"
        " against the small delta (1.0 = cost follows the batch); the daily extract's last three days against"
        " days 2-4 (medians; 1.0 = cost does not grow with each key's history); the change-only delta"
        " against the full 10% delta; row by row against seed 002's loader"
    )
    print(json.dumps([{"name": n, "value": round(v), "unit": u, "ratio": round(r, 2)} for n, v, u, r in out]))


if __name__ == "__main__":
    main()

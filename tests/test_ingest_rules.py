"""The engine against the project's real source definitions under rules/ (which must load)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from medvault.platform.ingest import identify, load_file

RULES = Path(__file__).resolve().parents[1] / "rules"


@pytest.fixture(scope="module")
def rules():
    from medvault.platform.rules.loader import load_rules

    # the repository rules must load: a RulesError fails every test here instead of skipping it
    return load_rules(RULES)


def run(rules, path):
    ident = identify(path, path.name, rules)
    src = rules.source(ident.system, ident.version)
    con = duckdb.connect()
    result = load_file(con, path, src, src.table(ident.table), "t")
    return ident, result, con


def test_harmony_pacs_studies_v1_and_v2(rules, tmp_path):
    v1 = tmp_path / "studies_2026-01-02.csv"
    v1.write_text(
        "study_iuid,pat_id,study_date,accession_no,study_desc,mods_in_study,updated_time\n"
        "1.2.3.4,0123456789,2025-12-30,A1,OCT macula,op,2026-01-02 08:00:00\n"
        "1.2.3.5,0123456789,1980-01-01,A2,Fundus,XX,2026-01-02 08:00:00\n"
    )
    ident, result, con = run(rules, v1)
    assert (ident.system, ident.version, ident.table) == ("harmony_pacs", "v1", "studies")
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    assert con.execute("SELECT modality FROM t").fetchall() == [("OP",)]
    v2 = tmp_path / "studies_2026-01-03.csv"
    v2.write_text(
        "study_instance_uid,patient_id,study_date,accession_number,study_description,modality,referring_physician,modified_at\n"
        "1.2.3.4,0123456789,2025-12-30,A1,OCT macula,OPT,Dr X,2026-01-03T08:00:00\n"
    )
    ident, result, _ = run(rules, v2)
    assert (ident.version, result.rows_loaded) == ("v2", 1)


def test_karexpert_lab_orders_with_string_and_object_tests(rules, tmp_path):
    docs = [
        {
            "_id": {"$oid": "65a1b2c3d4e5f6a7b8c9d0e1"},
            "patientId": "0123456789",
            "facility": {"id": "F1", "name": "North"},
            "orderedAt": {"$date": {"$numberLong": "1767340800000"}},
            "status": "Ordered",
            "tests": ["hba1c", "ldl"],
            "updatedAt": {"$date": "2026-01-02T10:00:00Z"},
        },
        {
            "_id": {"$oid": "65a1b2c3d4e5f6a7b8c9d0e2"},
            "patientId": "0123456789",
            "status": "resulted",
            "tests": [{"code": "crp", "name": "C-reactive protein"}],
            "updatedAt": {"$date": "2026-01-02T11:00:00Z"},
        },
    ]
    p = tmp_path / "lab_orders_2026-01-02.ndjson"
    p.write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    ident, result, con = run(rules, p)
    assert (ident.system, ident.table) == ("karexpert_his", "lab_orders")
    assert (result.rows_loaded, result.rows_rejected) == (2, 0), con.execute(
        "SELECT * FROM t__rejected"
    ).fetchall()
    tests = con.execute(
        "SELECT lab_order_id, line_no, code, name FROM t__lab_order_tests ORDER BY 1, 2"
    ).fetchall()
    assert [(t[1], t[2], t[3]) for t in tests] == [
        (1, "HBA1C", None),
        (2, "LDL", None),
        (1, "CRP", "C-reactive protein"),
    ]

"""Reference tables from the rules: validated with key paths, written when their content changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from medvault.platform.rules import RulesError, load_rules
from medvault.platform.vault.reference import load_reference

REPO = Path(__file__).resolve().parents[1]


def _rules(tmp_path: Path, references: str | None = None) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules" / "vault", root / "vault")
    shutil.copytree(REPO / "rules" / "sources", root / "sources")
    (root / "sites.yaml").write_text("sites:\n  - {code: site_a, name: A, country: FI, timezone: UTC}\n")
    if references is not None:
        (root / "vault" / "references.yaml").write_text(references)
    return root


def test_shipped_references_load_and_are_rewritten_only_when_changed(tmp_path):
    root = _rules(tmp_path)
    refs = load_rules(root).vault.references
    assert set(refs) == {"ref_modality", "ref_icd10_chapter", "ref_sex", "ref_display_name", "ref_site"}
    assert refs["ref_site"].rows == (("site_a", "A", "FI", "UTC"),), "made from sites.yaml"
    con = duckdb.connect()
    assert load_reference(con, refs["ref_icd10_chapter"]) == 22
    row = con.execute(
        "SELECT title FROM vault.ref_icd10_chapter WHERE 'C71' BETWEEN first_code AND last_code"
    )
    assert row.fetchone() == ("Neoplasms",)
    assert load_reference(con, refs["ref_icd10_chapter"]) is None, "same content: left alone"

    csv = root / "vault" / "reference" / "modalities.csv"
    csv.write_text(csv.read_text() + "XC,External-camera Photography\n")
    changed = load_rules(root).vault.references["ref_modality"]
    assert load_reference(con, refs["ref_modality"]) == 19
    assert load_reference(con, changed) == 20
    assert con.execute("SELECT meaning FROM vault.ref_modality WHERE code = 'XC'").fetchone() == (
        "External-camera Photography",
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "references:\n  modality:\n    key: code\n    columns: [code]\n    rows: [[CT]]\n",
            "start with ref_",
        ),
        (
            "references:\n  ref_x:\n    key: id\n    columns: [code]\n    rows: [[CT]]\n",
            "'id' is not one of the columns",
        ),
        (
            "references:\n  ref_x:\n    key: code\n    columns: [code, m]\n    rows: [[CT]]\n",
            "rows[0]: expected 2 values",
        ),
        (
            "references:\n  ref_x:\n    key: code\n    columns: [code]\n    rows: [[CT], [CT]]\n",
            "rows[1]: code 'CT' appears twice",
        ),
        (
            "references:\n  ref_x:\n    key: code\n    columns: [code]\n    csv: nope.csv\n",
            "nope.csv: no such file",
        ),
        ("references:\n  ref_x:\n    key: code\n    columns: [code]\n", "give either rows or csv"),
        ("references:\n  ref_x:\n    key: code\n    columns: [code]\n    rows: []\n", "at least one row"),
    ],
)
def test_reference_mistakes_are_named_by_file_and_key(tmp_path, text, problem):
    with pytest.raises(RulesError) as err:
        load_rules(_rules(tmp_path, text))
    assert any("references.yaml: references." in p and problem in p for p in err.value.problems), (
        err.value.problems
    )


def test_ref_site_is_made_from_sites_yaml_and_cannot_be_declared(tmp_path):
    root = _rules(
        tmp_path,
        "references:\n  ref_site:\n    key: code\n    columns: [code, name]\n    rows:\n      - [x, y]\n",
    )
    with pytest.raises(RulesError, match="ref_site is made from sites.yaml"):
        load_rules(root)

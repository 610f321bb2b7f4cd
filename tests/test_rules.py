"""The rules validator: every problem names its file and key path, all problems are reported at once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from medvault.platform.rules import RulesError, load_rules

REPO_RULES = Path(__file__).resolve().parents[1] / "rules"


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    root = tmp_path / "rules"
    _write(
        root,
        "sites.yaml",
        "sites:\n  - {code: site_a, name: Site A, country: FI, timezone: Europe/Helsinki}\n",
    )
    _write(
        root,
        "sources/pacs/v1.yaml",
        """system: pacs
version: v1
format: csv
tables:
  patients:
    files: ["patients_*.csv"]
    key: [patient_id]
    modified: modified_at
    columns:
      - {name: patient_id, source: pat_id, required: true, pii: true}
      - {name: modified_at, source: updated_time, type: timestamp}
""",
    )
    _write(
        root,
        "vault/model.yaml",
        """hubs:
  hub_person: {family: person, business_key: [person_id]}
loads:
  - source: pacs.patients
    hubs: {hub_person: [patient_id]}
""",
    )
    return root


def test_repository_rules_are_valid():
    rules = load_rules(REPO_RULES)
    assert rules.sites, "sites.yaml lists the known sites"
    assert {s.system for s in rules.sources} >= {"harmony_pacs", "ndc_smr01", "dicom"}


def test_minimal_rules_load(rules_dir: Path):
    rules = load_rules(rules_dir)
    table = rules.source("pacs", "v1").table("patients")
    assert table.column("patient_id").source == "pat_id"
    assert table.column("modified_at").type == "timestamp"
    assert rules.vault.loads[0].hubs == {"hub_person": ("patient_id",)}


def test_errors_name_file_and_key_path(rules_dir: Path):
    _write(
        rules_dir,
        "sources/pacs/v1.yaml",
        """system: pacs
version: v1
format: xml
tables:
  patients:
    files: ["patients_*.csv"]
    key: [patient_nr]
    columns:
      - {name: patient_id, type: datetime}
      - {name: Bad-Name}
      - {name: sex, pattern: "([", case: title}
""",
    )
    with pytest.raises(RulesError) as err:
        load_rules(rules_dir)
    problems = "\n".join(err.value.problems)
    assert "rules/sources/pacs/v1.yaml: format: 'xml' is not one of" in problems
    assert "rules/sources/pacs/v1.yaml: tables.patients.columns[0].type: 'datetime' is not one of" in problems
    assert "tables.patients.columns[1].name: 'Bad-Name' must be lower_snake_case" in problems
    assert "tables.patients.columns[2].pattern: invalid regular expression" in problems
    assert "tables.patients.columns[2].case: 'title' must be upper or lower" in problems
    assert "tables.patients.key: 'patient_nr' is not a declared column" in problems
    # the vault load now names a column that no longer exists: reported too, from its own file
    assert len(err.value.problems) >= 6


def test_cross_file_vault_errors(rules_dir: Path):
    _write(
        rules_dir,
        "vault/model.yaml",
        """hubs:
  hub_person: {family: persons, business_key: [person_id]}
links:
  link_x: {hubs: [hub_person, hub_nowhere]}
loads:
  - source: pacs.studies
    hubs: {hub_person: [patient_id, extra]}
    satellites:
      details: {parent: hub_event, columns: [nope]}
""",
    )
    with pytest.raises(RulesError) as err:
        load_rules(rules_dir)
    problems = "\n".join(err.value.problems)
    assert "rules/vault/model.yaml: hubs.hub_person.family: 'persons' is not one of" in problems
    assert "links.link_x.hubs: unknown hub 'hub_nowhere'" in problems
    assert "loads[0].source: no source table 'pacs.studies' is declared in sources/" in problems
    assert "loads[0].hubs.hub_person: gives 2 columns for a 1-part business key" in problems
    assert "loads[0].satellites.details: satellite names follow sat_<hub>_<major>_<minor>" in problems
    assert "loads[0].satellites.details.parent: 'hub_event' is not a hub or link of this load" in problems


def test_yaml_syntax_error_names_line(rules_dir: Path):
    _write(rules_dir, "sites.yaml", "sites:\n  - {code: site_a\n")
    with pytest.raises(RulesError) as err:
        load_rules(rules_dir)
    assert any(p.startswith("rules/sites.yaml: line ") and "invalid YAML" in p for p in err.value.problems)


def test_folder_name_must_match_system(rules_dir: Path):
    shutil.move(rules_dir / "sources/pacs", rules_dir / "sources/ris")
    with pytest.raises(RulesError) as err:
        load_rules(rules_dir)
    assert any("system: 'pacs' does not match its folder 'ris'" in p for p in err.value.problems)


def test_missing_rules_folder(tmp_path: Path):
    with pytest.raises(RulesError, match="rules folder not found"):
        load_rules(tmp_path / "nope")


# -- what used to pass `rules check` and fail in a run ------------------------------------------------
def _copy_rules(tmp_path):
    import shutil

    target = tmp_path / "rules"
    shutil.copytree(Path(__file__).resolve().parents[1] / "rules", target)
    return target


def _problems(folder) -> list[str]:
    from medvault.platform.rules import RulesError
    from medvault.platform.steps.context import checked_rules

    try:
        checked_rules(folder)
    except RulesError as exc:
        return exc.problems
    return []


def test_a_date_literal_that_is_not_a_date(tmp_path):
    rules = _copy_rules(tmp_path)
    v1 = rules / "sources" / "ndc_smr01" / "v1.yaml"
    text = v1.read_text()
    assert "min: '1990-01-01'" in text
    v1.write_text(text.replace("min: '1990-01-01'", "min: 'yesterday'"))
    problems = _problems(rules)
    assert any(
        p.startswith("rules/sources/ndc_smr01/v1.yaml: tables.admissions.columns[")
        and ".min: min 'yesterday' is not a valid date" in p
        for p in problems
    ), problems


def test_allowed_as_a_string_is_not_a_list(tmp_path):
    rules = _copy_rules(tmp_path)
    v1 = rules / "sources" / "ndc_smr01" / "v1.yaml"
    v1.write_text(v1.read_text().replace("allowed: ['1', '2', '9']", "allowed: MF"))
    problems = _problems(rules)
    assert any(
        "ndc_smr01/v1.yaml: tables.admissions.columns[" in p and ".allowed: expected a list, got str" in p
        for p in problems
    ), problems


def test_site_instead_of_sites(tmp_path):
    rules = _copy_rules(tmp_path)
    sites = rules / "sites.yaml"
    sites.write_text(sites.read_text().replace("sites:", "site:", 1))
    assert any(p.startswith("rules/sites.yaml: site: unknown key (allowed: sites)") for p in _problems(rules))


def test_a_version_identical_to_another_is_ambiguous(tmp_path):
    rules = _copy_rules(tmp_path)
    v1 = rules / "sources" / "ndc_smr01" / "v1.yaml"
    (v1.parent / "v2.yaml").write_text(v1.read_text().replace("version: v1", "version: v2"))
    problems = _problems(rules)
    assert any(
        p.startswith(
            "rules/sources/ndc_smr01/v2.yaml: tables.admissions: cannot be told apart from rules/sources/ndc_smr01/v1.yaml"
        )
        for p in problems
    ), problems

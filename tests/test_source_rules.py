"""The rules folder loads, and the generator's files match the source definitions they claim to follow."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from medvault.platform.rules.loader import load_rules
from medvault.synth.generator import generate
from medvault.synth.sites import catalogue_size, site_specs

RULES = Path(__file__).resolve().parent.parent / "rules"
PII_COLUMNS = {"patient_id", "chi", "patient_name", "birth_date", "postcode", "referring_physician"}


@pytest.fixture(scope="module")
def rules():
    return load_rules(RULES)


@pytest.fixture(scope="module")
def drops(tmp_path_factory):
    out = tmp_path_factory.mktemp("drops")
    return out, generate(out, sites=4, days=3, seed=5, start=date(2026, 3, 2), dirty=True)


def _header(path: Path) -> list[str]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return next(csv.reader(io.StringIO(text)))


def _lookup(doc: dict, dotted: str):
    value = doc
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def test_rules_load(rules):
    systems = rules.systems()
    assert {s: sorted(v.version for v in vs) for s, vs in systems.items()} == {
        "dicom": ["v1"],
        "harmony_pacs": ["v1", "v2"],
        "karexpert_his": ["v1"],
        "ndc_smr01": ["v1"],
    }
    assert rules.source("dicom", "v1").format == "dicom"
    assert rules.source("karexpert_his", "v1").table("bills").children[0].name == "bill_items"


def test_sites_yaml_matches_generator_catalogue(rules):
    specs = site_specs(catalogue_size())
    assert list(rules.sites) == [s.code for s in specs]
    assert len(rules.sites) >= 6
    for spec in specs:
        site = rules.sites[spec.code]
        assert (site.name, site.country, site.timezone) == (spec.name, spec.country, spec.timezone)


def test_identifiers_are_marked_pii(rules):
    for source in rules.sources:
        for table in source.tables:
            for col in table.columns:
                if col.name in PII_COLUMNS:
                    assert col.pii, f"{source.system}/{source.version} {table.name}.{col.name} must be pii"
            for key in table.key:
                assert table.column(key).required, f"{source.system} {table.name}: key {key} must be required"


def test_every_file_matches_exactly_one_table(rules, drops):
    _, summary = drops
    patterns = [(s.system, t.name, p) for s in rules.sources for t in s.tables for p in t.files]
    for f in summary.files:
        matches = {(system, table) for system, table, p in patterns if fnmatchcase(f["file"], p)}
        assert matches == {(f["system"], f["table"])}, f["file"]
        rules.source(f["system"], f["version"]).table(f["table"])  # the claimed version declares the table


def test_csv_headers_match_their_version(rules, drops):
    out, summary = drops
    checked = set()
    for f in summary.files:
        if not f["file"].endswith(".csv"):
            continue
        header = _header(out / f["path"])
        table = rules.source(f["system"], f["version"]).table(f["table"])
        assert set(table.required_sources) <= set(header)
        assert set(table.distinguishing) <= set(header)
        assert header == list(table.source_columns)  # nothing undeclared, in declared order
        # The version is identifiable: no other version's distinguishing columns are all present.
        for other in rules.systems()[f["system"]]:
            if other.version != f["version"]:
                theirs = other.table(f["table"]).distinguishing
                assert not set(theirs) <= set(header)
                assert not set(theirs) & set(header)
        checked.add((f["system"], f["version"], f["table"]))
    assert {v for s, v, _ in checked if s == "harmony_pacs"} == {"v1", "v2"}
    assert len({t for s, _, t in checked if s == "harmony_pacs"}) == 6


def test_pacs_versions_differ_as_declared(rules):
    v1, v2 = rules.source("harmony_pacs", "v1"), rules.source("harmony_pacs", "v2")
    assert [t.name for t in v1.tables] == [t.name for t in v2.tables]
    for t1 in v1.tables:
        t2 = v2.table(t1.name)
        only1 = set(t1.source_columns) - set(t2.source_columns)
        only2 = set(t2.source_columns) - set(t1.source_columns)
        assert t1.distinguishing and t2.distinguishing
        assert set(t1.distinguishing) <= only1 and set(t2.distinguishing) <= only2
        # Both versions stage onto the same canonical columns (v2 may add some).
        assert {c.name for c in t1.columns} <= {c.name for c in t2.columns}
        assert (t1.key, t1.modified) == (t2.key, t2.modified)
    assert {"referring_physician"} <= {c.name for c in v2.table("studies").columns} - {
        c.name for c in v1.table("studies").columns
    }
    assert "transfer_syntax" in v2.table("instances").source_columns
    assert "transfer_syntax" not in {c.name for c in v1.table("instances").columns}
    assert "ae_title" in v2.table("stations").distinguishing


def test_ndjson_documents_carry_required_paths(rules, drops):
    out, summary = drops
    seen_columns: dict[tuple[str, str], set[str]] = {}
    for f in summary.files:
        if not f["file"].endswith(".ndjson"):
            continue
        table = rules.source(f["system"], f["version"]).table(f["table"])
        for line in (out / f["path"]).read_text(encoding="utf-8").splitlines():
            doc = json.loads(line)
            for col in table.columns:
                value = _lookup(doc, col.source)
                if col.required:
                    assert value is not None, (f["file"], col.source)
                if value is not None:
                    seen_columns.setdefault((f["system"], table.name), set()).add(col.name)
            for child in table.children:
                array = _lookup(doc, table.column(child.array).source)
                assert isinstance(array, list) and array
                for element in array:
                    if isinstance(element, dict):
                        assert all(c.source in element for c in child.columns if c.source != "$")
    his = rules.source("karexpert_his", "v1")
    for table in his.tables:
        assert seen_columns[("karexpert_his", table.name)] == {c.name for c in table.columns}, table.name

"""The vault rules cover every source: each staged table (and child extract) of every system feeds a
vault load, each hub, link and satellite of the model is fed, every T-P-O-L-E family has a hub; and a
small generated demo puts rows in every one of them.
"""

from __future__ import annotations

import pytest

from medvault.platform.rules.loader import load_rules
from medvault.platform.rules.models import FAMILIES
from medvault.platform.vault.bridge import bridges
from medvault.platform.vault.model import compile_vault, end_column, hash_column, table_name
from medvault.platform.warehouse.db import Warehouse
from tests.helpers import REPO_RULES, demo_run

# Two sites: site 0 sends the HIS export and runs PACS v1, site 1 runs PACS v2; day 0 sends the stations.
SITES, DAYS, SEED = 2, 2, 7


@pytest.fixture(scope="module")
def rules():
    return load_rules(REPO_RULES)


def _staged_sources(rules) -> set[str]:
    """Every "system.table" staging holds: each table and child extract of each version."""
    out = set()
    for (system, table), defs in rules.staged_tables().items():
        out.add(f"{system}.{table}")
        out.update(f"{system}.{child.name}" for _, t in defs for child in t.children)
    return out


def test_every_staged_table_feeds_the_vault(rules):
    fed = {load.source for load in rules.vault.loads}
    staged = _staged_sources(rules)
    assert {"harmony_pacs.studies", "ndc_smr01.admissions", "karexpert_his.bill_items"} <= staged
    assert sorted(staged - fed) == [], "staged tables no vault load reads"
    # the vault reads staging only: a load naming a table that is not staged (the DICOM headers live
    # in dicom.instances, not staging) would validate and silently load nothing
    assert sorted(fed - staged) == []


def test_every_vault_object_is_fed_and_every_family_has_a_hub(rules):
    model = compile_vault(rules)
    assert [o.name for o in model.objects.values() if not o.feeds] == []
    assert {h.family for h in rules.vault.hubs.values()} == set(FAMILIES)
    kinds = {o.kind for o in model.objects.values()}
    assert kinds == {"hub", "link", "transaction", "satellite", "effectivity", "tracking", "multi_active"}


@pytest.mark.slow
def test_generated_demo_fills_every_hub_link_and_satellite(tmp_path, rules):
    model = compile_vault(rules)
    with demo_run(tmp_path, sites=SITES, days=DAYS, seed=SEED, dirty=False) as (settings, *_, report):
        assert report.failed == []
        with Warehouse(settings.warehouse).connect(read_only=True) as con:

            def count(sql: str) -> int:
                return con.execute(sql).fetchone()[0]

            rows = {name: count(f"SELECT count(*) FROM {table_name(name)}") for name in model.objects}
            by_family: dict[str, dict[str, int]] = {}
            for hub in rules.vault.hubs.values():
                by_family.setdefault(hub.family, {})[hub.name] = rows[hub.name]
            assert set(by_family) == set(FAMILIES)
            empty = sorted(name for name, n in rows.items() if n == 0)
            assert empty == [], f"vault tables without rows: {empty}"
            # the marts job built every bridge: one row per row of its first link, fully walked somewhere
            for bridge in bridges(model):
                first, last = bridge.links[0], hash_column(bridge.hubs[-1])
                built = count(f"SELECT count(*) FROM {table_name(bridge.name)}")
                assert built >= count(f"SELECT count(*) FROM {table_name(first)}") > 0, bridge.name
                assert count(f"SELECT count({last}) FROM {table_name(bridge.name)}") > 0, bridge.name
            # marts.fact_study counts through bridge_study_images what the two links reach
            through_links = con.execute(
                """SELECT count(DISTINCT es.hk_series), count(DISTINCT si.hk_instance)
                   FROM vault.sat_event_study_details__current s
                   JOIN vault.link_event_series es ON es.hk_event = s.hk_event
                   LEFT JOIN vault.link_series_instance si ON si.hk_series = es.hk_series"""
            ).fetchone()
            in_mart = con.execute("SELECT sum(series), sum(images) FROM marts.fact_study").fetchone()
            assert in_mart == through_links and through_links[1] > 0
            # every key a link or satellite points at is in its hub (or link)
            for link in rules.vault.links.values():
                for end in link.ends():  # a hub twice (link_order_study) has a column per role
                    hk, column = hash_column(end.hub), end_column(end)
                    orphans = count(
                        f"SELECT count(*) FROM {table_name(link.name)} l "
                        f"ANTI JOIN {table_name(end.hub)} h ON h.{hk} = l.{column}"
                    )
                    assert orphans == 0, f"{link.name}: {orphans} keys not in {end.hub}"
            for name, obj in model.objects.items():
                if obj.kind == "satellite":
                    hk = hash_column(obj.parent)
                    orphans = count(
                        f"SELECT count(*) FROM {table_name(name)} s "
                        f"ANTI JOIN {table_name(obj.parent)} p ON p.{hk} = s.{hk}"
                    )
                    assert orphans == 0, f"{name}: {orphans} keys not in {obj.parent}"

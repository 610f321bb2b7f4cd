"""Examinations per month (seed 000's first report, `ORDERS WHERE ORDER_TYPE = 'STUDY'` by month).

Built from the vault, not from staging: every study event in `hub_event` joined to the
`sat_event_study_details` row in force now (its `__current` view, views.py). Events without a study satellite (e.g. SMR01 admissions) are not exams. A study whose
latest row has no study_date has month NULL and one without modality has modality NULL, so the totals
still reconcile with the vault.
"""

from __future__ import annotations

from medvault.platform.vault.model import hash_column, table_name
from medvault.platform.vault.views import current_view

HUB = "hub_event"
SATELLITE = "sat_event_study_details"
TABLE = "marts.exams_per_month"


def exams_per_month_sql(hub: str = HUB, satellite: str = SATELLITE) -> str:
    hk = hash_column(hub)
    return f"""
        WITH latest AS (SELECT {hk}, study_date, modality FROM {current_view(satellite)})
        SELECT h.site,
               CAST(date_trunc('month', s.study_date) AS DATE) AS month,
               s.modality,
               CAST(count(DISTINCT h.{hk}) AS BIGINT) AS exams
        FROM {table_name(hub)} h
        JOIN latest s ON s.{hk} = h.{hk}
        GROUP BY ALL
        ORDER BY site, month NULLS LAST, modality NULLS LAST
    """


def build_exams_per_month(con) -> int:
    """(Re)build marts.exams_per_month (site, month, modality, exams) and return its row count."""
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute(f"CREATE OR REPLACE TABLE {TABLE} AS {exams_per_month_sql()}")
    return int(con.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0])

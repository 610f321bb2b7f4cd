"""The images against the site's PACS extract (seed 000's Harmony tables, staged): an image whose study or
series the extract does not list, and a PACS instance still without an image once a grace period has passed,
are rows of `dicom.pacs_crosscheck` for the (site, date) that found them, never silently ignored.

Set-based: one INSERT ... SELECT per kind, over the partition's images and the site's staged PACS rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from medvault.platform.warehouse import quote_ident, table_exists

DDL = """
CREATE TABLE IF NOT EXISTS dicom.pacs_crosscheck (
    kind       VARCHAR NOT NULL,
    uid        VARCHAR NOT NULL,
    detail     VARCHAR NOT NULL,
    _site      VARCHAR NOT NULL,
    _date      DATE NOT NULL,
    _loaded_at TIMESTAMP NOT NULL DEFAULT current_timestamp
)"""
COLUMNS = {
    "kind": ("VARCHAR NOT NULL", "study_not_in_pacs, series_not_in_pacs or pacs_instance_without_image"),
    "uid": ("VARCHAR NOT NULL", "the study, series or SOP instance UID concerned"),
    "detail": ("VARCHAR NOT NULL", "the image file, or the PACS extract's partition date"),
}
KINDS = ("study_not_in_pacs", "series_not_in_pacs", "pacs_instance_without_image")


@dataclass(frozen=True)
class PacsTables:
    """The staged PACS tables (schema `staging`) and the grace period for an instance's image, in days."""

    studies: str = "harmony_pacs__studies"
    series: str = "harmony_pacs__series"
    instances: str = "harmony_pacs__instances"
    grace_days: int = 2


def write_crosscheck(con, site: str, day, pacs: PacsTables) -> dict[str, int]:
    """Replace the (site, date) slice of `dicom.pacs_crosscheck`; rows per kind. A site without a PACS
    extract is not cross-checked (nothing to compare with). Joins the caller's open transaction."""
    con.execute(DDL)
    con.execute("DELETE FROM dicom.pacs_crosscheck WHERE _site = ? AND _date = ?", [site, day])
    have = {name: table_exists(con, "staging", name) for name in (pacs.studies, pacs.series, pacs.instances)}
    if (
        not all(have.values())
        or not con.execute(
            f"SELECT 1 FROM staging.{quote_ident(pacs.studies)} WHERE _site = ? LIMIT 1", [site]
        ).fetchall()
    ):
        return {}
    st, se, ins = (f"staging.{quote_ident(t)}" for t in (pacs.studies, pacs.series, pacs.instances))
    con.execute(
        f"""INSERT INTO dicom.pacs_crosscheck (kind, uid, detail, _site, _date)
            SELECT 'study_not_in_pacs', i.study_uid, min(i._source_key), ?, CAST(? AS DATE)
            FROM dicom.instances i WHERE i._site = ? AND i._date = CAST(? AS DATE)
              AND NOT EXISTS (SELECT 1 FROM {st} s WHERE s._site = i._site AND s.study_uid = i.study_uid)
            GROUP BY i.study_uid
            UNION ALL
            SELECT 'series_not_in_pacs', i.series_uid, min(i._source_key), ?, CAST(? AS DATE)
            FROM dicom.instances i WHERE i._site = ? AND i._date = CAST(? AS DATE)
              AND NOT EXISTS (SELECT 1 FROM {se} s WHERE s._site = i._site AND s.series_uid = i.series_uid)
            GROUP BY i.series_uid
            UNION ALL
            SELECT 'pacs_instance_without_image', p.sop_instance_uid,
                   'listed in the extract of ' || CAST(min(p._date) AS VARCHAR), ?, CAST(? AS DATE)
            FROM {ins} p
            WHERE p._site = ? AND p._date <= CAST(? AS DATE) - CAST(? AS INTEGER)
              AND NOT EXISTS (SELECT 1 FROM dicom.instances i
                              WHERE i._site = p._site AND i.sop_instance_uid = p.sop_instance_uid)
            GROUP BY p.sop_instance_uid""",
        [site, day, site, day] * 2 + [site, day, site, day, pacs.grace_days],
    )
    rows = con.execute(
        "SELECT kind, count(*) FROM dicom.pacs_crosscheck WHERE _site = ? AND _date = ? GROUP BY kind",
        [site, day],
    ).fetchall()
    return dict(rows)

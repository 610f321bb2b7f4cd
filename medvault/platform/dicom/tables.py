"""`dicom.series` and `dicom.studies`: per (site, date), aggregated from that slice of `dicom.instances`
in SQL (one statement each), inside the DICOM step's transaction so the three tables never disagree."""

from __future__ import annotations

# column -> (DuckDB type, what it holds); the tables' DDL and their assets' column schemas come from here
SERIES_COLUMNS: dict[str, tuple[str, str]] = {
    "series_uid": ("VARCHAR NOT NULL", "SeriesInstanceUID (0020,000E)"),
    "study_uid": ("VARCHAR NOT NULL", "StudyInstanceUID (0020,000D) of the series"),
    "series_number": ("BIGINT", "SeriesNumber (0020,0011)"),
    "modality": ("VARCHAR", "Modality (0008,0060)"),
    "body_part": ("VARCHAR", "BodyPartExamined (0018,0015)"),
    "laterality": ("VARCHAR", "ImageLaterality / Laterality of the series' images (the most frequent)"),
    "station_name": ("VARCHAR", "StationName (0008,1010)"),
    "number_of_instances": ("BIGINT NOT NULL", "images of the series in this drop"),
    "bytes": ("BIGINT NOT NULL", "bytes of those image files"),
}
STUDIES_COLUMNS: dict[str, tuple[str, str]] = {
    "study_uid": ("VARCHAR NOT NULL", "StudyInstanceUID (0020,000D)"),
    "study_date": ("DATE", "StudyDate (0008,0020)"),
    "study_description": ("VARCHAR", "StudyDescription (0008,1030)"),
    "accession_number": ("VARCHAR", "AccessionNumber (0008,0050)"),
    "modalities": ("VARCHAR", "distinct modalities of the study's images, sorted, joined by a backslash"),
    "number_of_series": ("BIGINT NOT NULL", "series of the study in this drop"),
    "number_of_instances": ("BIGINT NOT NULL", "images of the study in this drop"),
    "bytes": ("BIGINT NOT NULL", "bytes of those image files"),
}
_LINEAGE = '    "_site" VARCHAR NOT NULL,\n    "_date" DATE NOT NULL,\n    "_loaded_at" TIMESTAMP NOT NULL'


def _ddl(table: str, columns: dict[str, tuple[str, str]]) -> str:
    body = ",\n".join(f'    "{c}" {t}' for c, (t, _) in columns.items())
    return f"CREATE TABLE IF NOT EXISTS dicom.{table} (\n{body},\n{_LINEAGE}\n)"


_SERIES = """
INSERT INTO dicom.series
SELECT series_uid, any_value(study_uid), min(series_number), min(modality), min(body_part),
       mode(laterality), min(station_name), count(*), sum(file_size), _site, _date, max(_loaded_at)
FROM dicom.instances WHERE _site = ? AND _date = ?
GROUP BY series_uid, _site, _date"""
_STUDIES = """
INSERT INTO dicom.studies
SELECT study_uid, min(study_date), min(study_description), min(accession_number),
       array_to_string(list_sort(list_distinct(list(modality))), '\\'), count(DISTINCT series_uid), count(*),
       sum(file_size), _site, _date, max(_loaded_at)
FROM dicom.instances WHERE _site = ? AND _date = ?
GROUP BY study_uid, _site, _date"""


def ensure_dicom_tables(con) -> None:
    """Every table of schema `dicom`, empty where nothing was loaded (marts read them all the same)."""
    from medvault.platform.dicom.crosscheck import DDL as CROSSCHECK_DDL
    from medvault.platform.dicom.extract import ensure_instances_table

    ensure_instances_table(con)
    con.execute(_ddl("series", SERIES_COLUMNS))
    con.execute(_ddl("studies", STUDIES_COLUMNS))
    con.execute(CROSSCHECK_DDL)


def write_series_and_studies(con, site: str, day) -> tuple[int, int]:
    """Replace the (site, date) slices of `dicom.series` and `dicom.studies`; (series, studies) rows.
    Joins the caller's open transaction."""
    con.execute(_ddl("series", SERIES_COLUMNS))
    con.execute(_ddl("studies", STUDIES_COLUMNS))
    counts = []
    for table, insert in (("series", _SERIES), ("studies", _STUDIES)):
        con.execute(f"DELETE FROM dicom.{table} WHERE _site = ? AND _date = ?", [site, day])
        counts.append(int(con.execute(insert, [site, day]).fetchone()[0]))
    return counts[0], counts[1]


def instance_headers(con, site: str, day) -> dict[str, dict]:
    """Each loaded image of the slice as {column: value}, by the file's content hash."""
    cur = con.execute("SELECT * FROM dicom.instances WHERE _site = ? AND _date = ?", [site, day])
    names = [d[0] for d in cur.description]
    return {row["_sha256"]: row for row in (dict(zip(names, r, strict=True)) for r in cur.fetchall())}

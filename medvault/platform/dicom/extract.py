"""Headers of many DICOM files into a DataFrame, and the `dicom.instances` (site, date) slice.

Header reads are CPU-bound and cheap with the native walker (native.py: ~8 us a file on one core). A
batch of at least pool.FORK_THRESHOLD files is read on every core by forked workers (pool.py), which
start in milliseconds with everything imported; smaller batches are a plain loop, which is faster than
any fork. Workers send back each header as a tuple of its values, cheaper to pickle than a dict.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from medvault.platform.dicom import pool
from medvault.platform.dicom.header import FIELD_NAMES, DicomFault, read_header
from medvault.platform.warehouse import transaction

# the system and table of DICOM files in the ledger (the rules' `format: dicom` source)
DICOM_SYSTEM, DICOM_TABLE = "dicom", "instances"

# column -> DuckDB type; the DataFrame of extract_rows has exactly these columns in this order
COLUMNS: dict[str, str] = {
    "sop_instance_uid": "VARCHAR",
    "study_uid": "VARCHAR",
    "series_uid": "VARCHAR",
    "sop_class_uid": "VARCHAR",
    "modality": "VARCHAR",
    "series_number": "BIGINT",
    "instance_number": "BIGINT",
    "laterality": "VARCHAR",
    "study_date": "DATE",
    "study_time": "VARCHAR",
    "station_name": "VARCHAR",
    "manufacturer": "VARCHAR",
    "model_name": "VARCHAR",
    "institution": "VARCHAR",
    "department": "VARCHAR",
    "rows": "INTEGER",
    "columns": "INTEGER",
    "bits_allocated": "INTEGER",
    "number_of_frames": "INTEGER",
    "transfer_syntax": "VARCHAR",
    "body_part": "VARCHAR",
    "accession_number": "VARCHAR",
    "study_description": "VARCHAR",
    "patient_id": "VARCHAR",  # PII
    "file_size": "BIGINT",
    "file_id": "BIGINT",
    "scan_id": "INTEGER",
    "pipeline_uid": "VARCHAR",
    "_sha256": "VARCHAR",
    "_source_key": "VARCHAR",
}
PII_COLUMNS = ("patient_id",)
# what each header column holds (the DICOM keyword it is read from), for the column schema
COLUMN_DOCS: dict[str, str] = {
    "sop_instance_uid": "SOPInstanceUID (0008,0018): the image",
    "study_uid": "StudyInstanceUID (0020,000D)",
    "series_uid": "SeriesInstanceUID (0020,000E)",
    "sop_class_uid": "SOPClassUID (0008,0016): the kind of image",
    "modality": "Modality (0008,0060)",
    "series_number": "SeriesNumber (0020,0011)",
    "instance_number": "InstanceNumber (0020,0013)",
    "laterality": "ImageLaterality (0020,0062), else Laterality (0020,0060)",
    "study_date": "StudyDate (0008,0020)",
    "study_time": "StudyTime (0008,0030)",
    "station_name": "StationName (0008,1010)",
    "manufacturer": "Manufacturer (0008,0070)",
    "model_name": "ManufacturerModelName (0008,1090)",
    "institution": "InstitutionName (0008,0080)",
    "department": "InstitutionalDepartmentName (0008,1040)",
    "rows": "Rows (0028,0010)",
    "columns": "Columns (0028,0011)",
    "bits_allocated": "BitsAllocated (0028,0100)",
    "number_of_frames": "NumberOfFrames (0028,0008), 1 when absent",
    "transfer_syntax": "TransferSyntaxUID (0002,0010)",
    "body_part": "BodyPartExamined (0018,0015)",
    "accession_number": "AccessionNumber (0008,0050)",
    "study_description": "StudyDescription (0008,1030)",
    "patient_id": "PatientID (0010,0020); patient identifier (pii)",
    "file_size": "bytes of the image file",
    "file_id": "FileID of the image pipeline (ops.pipeline_file.id, seed 004)",
    "scan_id": "ScanID: the (study, series) of the file, from 1",
    "pipeline_uid": "pipeline UID stamped into the delivered copy: <uid root>.<file id>.<scan id>",
}
_INT_COLUMNS = [c for c, t in COLUMNS.items() if t in ("INTEGER", "BIGINT")]
_NOT_NULL = {"sop_instance_uid", "study_uid", "series_uid", "sop_class_uid", "_sha256", "_source_key"}

FileItem = tuple[str, str, Path]  # (sha256, source key, local path)


def _one(item: FileItem, check_pixels: bool = False) -> tuple[tuple | None, tuple | None]:
    """(the header's values in FIELD_NAMES order, None) or (None, the fault's code, message and tag)."""
    _sha256, key, path = item
    try:
        return read_header(path, check_pixels=check_pixels, name=key.rsplit("/", 1)[-1]).as_tuple(), None
    except DicomFault as fault:
        return None, (fault.code, fault.message, fault.tag)
    except Exception as exc:  # never let one file kill the batch
        return None, ("unreadable", f"{key}: {type(exc).__name__}", None)


def _one_checked(item: FileItem) -> tuple[tuple | None, tuple | None]:
    return _one(item, True)


def frame(rows: Sequence[dict], extra: Sequence[str] = ()) -> pd.DataFrame:
    """A DataFrame with exactly COLUMNS and then the `extra` tag columns (nullable ints, study_date as
    datetime.date)."""
    df = pd.DataFrame(list(rows), columns=[*COLUMNS, *extra])
    for col in _INT_COLUMNS:
        df[col] = df[col].astype("Int64")
    return df


def extract_rows(
    files: Sequence[FileItem],
    *,
    check_pixels: bool = False,
    workers: int | None = None,
    threshold: int = pool.FORK_THRESHOLD,
) -> tuple[pd.DataFrame, list[tuple[str, str, DicomFault]]]:
    """Read every file's header: (DataFrame of good headers, [(sha256, key, DicomFault)] of bad files).

    On `workers` forked processes (default: every core) when there are at least `threshold` files,
    otherwise in a plain loop. Output order follows input order."""
    items = [(s, k, Path(p)) for s, k, p in files]
    fn = _one_checked if check_pixels else _one
    results = pool.map_forked(fn, items, workers=workers, threshold=threshold)
    rows: list[dict] = []
    faults: list[tuple[str, str, DicomFault]] = []
    for (sha256, key, _), (values, fault) in zip(items, results, strict=True):
        if values is not None:
            row = dict(zip(FIELD_NAMES, values, strict=True))
            row["_sha256"] = sha256
            row["_source_key"] = key
            rows.append(row)
        else:
            faults.append((sha256, key, DicomFault(*fault)))
    return frame(rows), faults


def instances_ddl() -> str:
    cols = ",\n".join(f'    "{c}" {t}' + (" NOT NULL" if c in _NOT_NULL else "") for c, t in COLUMNS.items())
    return (
        "CREATE TABLE IF NOT EXISTS dicom.instances (\n"
        f"{cols},\n"
        '    "_site" VARCHAR NOT NULL,\n    "_date" DATE NOT NULL,\n    "_loaded_at" TIMESTAMP NOT NULL\n)'
    )


def ensure_instances_table(con, extra: Sequence[str] = ()) -> None:
    """The table, with every column of COLUMNS and the `extra` tag columns (VARCHAR): a warehouse made
    before a column existed, or before an extra tag was configured, gets it."""
    con.execute("CREATE SCHEMA IF NOT EXISTS dicom")
    con.execute(instances_ddl())
    present = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'dicom' AND table_name = 'instances'"
        ).fetchall()
    }
    for column, sql_type in [*COLUMNS.items(), *((c, "VARCHAR") for c in extra)]:
        if column not in present:
            con.execute(f'ALTER TABLE dicom.instances ADD COLUMN "{column}" {sql_type}')


def write_instances(con, site: str, day: date | str, df: pd.DataFrame, extra: Sequence[str] = ()) -> int:
    """Replace the (site, date) slice of `dicom.instances` with `df` (COLUMNS, then the `extra` tag
    columns) in one transaction; return rows.

    Inside the caller's open transaction it joins it (the slice commits with its bookkeeping)."""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    types = {**COLUMNS, **dict.fromkeys(extra, "VARCHAR")}
    missing = [c for c in types if c not in df.columns]
    if missing:
        raise ValueError(f"write_instances: DataFrame lacks columns {missing}")
    ensure_instances_table(con, extra)
    view = f"_mv_instances_{uuid.uuid4().hex}"
    select = ", ".join(f'CAST("{c}" AS {t})' for c, t in types.items())
    cols = ", ".join(f'"{c}"' for c in types)
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    con.register(view, df[list(types)])
    try:
        with transaction(con):
            con.execute("DELETE FROM dicom.instances WHERE _site = ? AND _date = ?", [site, day])
            row = con.execute(
                f"INSERT INTO dicom.instances ({cols}, _site, _date, _loaded_at) "
                f"SELECT {select}, ?, ?, ? FROM {view}",
                [site, day, loaded_at],
            ).fetchall()[0]
    finally:
        con.unregister(view)
    return int(row[0]) if row else 0


def instances_on_other_dates(con, site: str, day: date | str) -> int:
    """SOP Instance UIDs of this (site, date) slice also loaded from another date of the same site."""
    return int(
        con.execute(
            """SELECT count(DISTINCT a.sop_instance_uid) FROM dicom.instances a JOIN dicom.instances b
               ON a.sop_instance_uid = b.sop_instance_uid AND a._site = b._site AND a._date <> b._date
               WHERE a._site = ? AND a._date = ?""",
            [site, day],
        ).fetchall()[0][0]
    )

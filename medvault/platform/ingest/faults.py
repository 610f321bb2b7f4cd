"""File-level faults and the row-level reason codes of the ingestion engine.

A `FileFault` means the whole file cannot be trusted (it is quarantined with `code` and `message`);
row-level problems never raise, they become rows of the `<target>__rejected` table instead.

Messages name the file, the row and the column only: never a cell value, because cell values may be
patient data and messages end up in logs, e-mails and quarantine reason files.
"""

from __future__ import annotations

import duckdb

# Failures that are not the file's (an operator's stop, memory, the disk): the run stops and is
# retried instead of quarantining the file, and no reader retries around them.
NOT_THE_FILES_FAULT = (duckdb.InterruptException, duckdb.OutOfMemoryException, duckdb.IOException)

# File-level fault codes -> what they mean (docs/ingestion.md renders the same table).
FILE_FAULTS: dict[str, str] = {
    "empty_file": "the file has 0 bytes (or only whitespace / a byte-order mark)",
    "binary_file": "the file is a known binary container that is not a supported format (zip, pdf, image...)",
    "undetectable_encoding": "the bytes are neither UTF-8/UTF-16 nor plausible cp1252/latin-1 text (NUL bytes, control characters)",
    "undecodable_bytes": "the file started as UTF-8 but later bytes are not valid UTF-8 (mixed encodings)",
    "truncated_archive": "a .gz file that does not decompress to its end (cut short or corrupt)",
    "no_header": "the first line is empty or looks like data, so there is no header row",
    "header_only": "a delimited file with a header and no data rows",
    "zero_rows": "a JSON/NDJSON/Parquet file without any record",
    "wrong_delimiter": "the header and the data rows do not split on the same delimiter, or a single-column header holds separators while the table expects many columns",
    "too_many_columns": "the header has more than 10,000 columns (the limit of one file; wider extracts must be split)",
    "ragged_file": "every data row has a different number of fields than the header",
    "not_json": "a .json/.ndjson file that does not start with an object or array, or whose array is malformed",
    "unreadable_file": "the reader failed on the file (corrupt Parquet, unsupported structure)",
    "load_failed": "the loader's SQL failed on this one file (the error class is in the reason); the table's other files still load",
    "unsupported_format": "the detected format is not one the engine reads into rows (for example DICOM)",
    "duplicate_column": "a declared source column appears more than once in the header",
    "missing_required_column": "the file looks like a known table but lacks required (or version-distinguishing) columns",
    "unknown_source": "no source definition fits the header",
    "not_dicom": "the file is named as a DICOM image (.dcm, .dicom) but its bytes are not DICOM",
    "ambiguous_source": "several source definitions fit the header equally well",
}

# Row-level reason codes (one row of <target>__rejected per problem).
ROW_REASONS: dict[str, str] = {
    "ragged_row": "the row has more or fewer fields than the header",
    "malformed_json": "the NDJSON line is not valid JSON or not a JSON object",
    "required_missing": "a required column is empty or absent",
    "bad_type": "the value cannot be read as the declared type (integer, bigint, double, boolean, json)",
    "bad_date": "the value cannot be read as the declared date or timestamp",
    "pattern_mismatch": "the value does not fully match the declared regular expression",
    "not_allowed": "the value is not one of the declared allowed values",
    "out_of_range": "the value is below the declared min or above the declared max",
    "duplicate_key": "another row of the same file has the same key and a later modified value (or comes later)",
}


class FileFault(Exception):
    """A file-level fault: the whole file is quarantined.

    `message` names the file (and row/column where known) but never a cell value.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        details: dict | None = None,
    ):
        self.code = code
        self.message = message
        self.row = row
        self.column = column
        self.details = details or {}  # e.g. {"candidates": [...]} from identify; never cell values
        super().__init__(f"[{code}] {message}")

    def to_dict(self) -> dict:
        """The quarantine reason payload (`code`, `message`, `row`, `column`, plus details)."""
        return {
            "code": self.code,
            "message": self.message,
            "row": self.row,
            "column": self.column,
            **self.details,
        }

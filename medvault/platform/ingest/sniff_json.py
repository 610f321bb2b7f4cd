"""JSON and NDJSON sniffing: the format (array, lines, concatenated objects), the dotted leaf keys of the
first records (MongoDB extended-JSON wrappers are leaves) and how many records the sample holds."""

from __future__ import annotations

import json
from collections.abc import Iterator

from medvault.platform.ingest.faults import FileFault

MAX_SAMPLE_RECORDS = 1000


def _fault(code: str, name: str, text: str) -> FileFault:
    return FileFault(code, f"{name}: {text}")


def _is_ejson(value: dict) -> bool:
    return bool(value) and all(isinstance(k, str) and k.startswith("$") for k in value)


def flatten_keys(obj: dict, prefix: str = "") -> Iterator[str]:
    """Dotted leaf paths of a JSON object; MongoDB extended-JSON wrappers ({"$oid": ..}) are leaves."""
    for key, value in obj.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and not _is_ejson(value):
            yield from flatten_keys(value, path + ".")
        else:
            yield path


def _json_objects(text: str, complete: bool) -> Iterator[object]:
    """Successive top-level JSON values of concatenated or array text (raw_decode, so no size limit)."""
    decoder = json.JSONDecoder()
    i, n = 0, len(text)
    in_array = text.lstrip().startswith("[")
    if in_array:
        i = text.index("[") + 1
    while i < n:
        while i < n and text[i] in " \t\r\n,":
            i += 1
        if i >= n or (in_array and text[i] == "]"):
            return
        try:
            value, i = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            if complete:
                raise
            return
        yield value


def _sniff_json(
    text: str, complete: bool, ext_format: str | None, name: str
) -> tuple[str, str, list[str], int]:
    stripped = text.lstrip()
    if not stripped.startswith(("[", "{")):
        raise _fault("not_json", name, "does not start with a JSON object or array")
    keys: dict[str, None] = {}
    rows = 0
    if stripped.startswith("["):
        try:
            for value in _json_objects(stripped, complete):
                if not isinstance(value, dict):
                    raise _fault("not_json", name, "the JSON array holds values that are not objects")
                rows += 1
                if rows <= MAX_SAMPLE_RECORDS:
                    keys.update(dict.fromkeys(flatten_keys(value)))
                else:
                    break
        except json.JSONDecodeError as exc:
            raise _fault("not_json", name, f"malformed JSON array (line {exc.lineno})") from None
        if rows == 0 and complete:
            raise _fault("zero_rows", name, "the JSON array is empty")
        return "json", "array", list(keys), rows
    lines = stripped.splitlines()
    if not complete and len(lines) > 1:
        lines = lines[:-1]
    good = bad = 0
    for line in lines[: MAX_SAMPLE_RECORDS * 2]:
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if isinstance(value, dict):
            good += 1
            if good <= MAX_SAMPLE_RECORDS:
                keys.update(dict.fromkeys(flatten_keys(value)))
        else:
            bad += 1
    if good == 0:
        # Maybe pretty-printed objects one after the other (mongoexport --pretty).
        try:
            values = list(_json_objects(stripped, complete))
        except json.JSONDecodeError:
            values = []
        if values and all(isinstance(v, dict) for v in values):
            for v in values[:MAX_SAMPLE_RECORDS]:
                keys.update(dict.fromkeys(flatten_keys(v)))
            return "json", "concatenated", list(keys), len(values)
        raise _fault("not_json", name, "no line of the sample is a JSON object")
    return "ndjson", "lines", list(keys), good

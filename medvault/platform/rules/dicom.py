"""`rules/dicom.yaml`: the extra header values to extract into `dicom.instances` (see dicom/extra.py).

Each is checked here (a column name that clashes, a keyword not in the DICOM dictionary, a path through
something that is not a sequence, a patient tag not marked pii) so `medvault rules check` reports it.
"""

from __future__ import annotations

from pathlib import Path

from medvault.platform.dicom.extra import ExtraTag, is_patient_tag, parse_path
from medvault.platform.dicom.extract import COLUMNS
from medvault.platform.rules.reading import Ctx, read_yaml

_RESERVED = set(COLUMNS) | {"_site", "_date", "_loaded_at"}


def _extra(ctx: Ctx, column: str, spec: object, where: str) -> ExtraTag | None:
    if isinstance(spec, str):
        spec = {"tag": spec}
    spec = ctx.mapping(spec, where)
    ctx.unknown(spec, {"tag", "pii", "description"}, where)
    text = ctx.text(spec, "tag", where)
    pii = spec.get("pii", False)
    if not isinstance(pii, bool):
        ctx.fail(f"{where}.pii", f"must be true or false, got {pii!r}")
        pii = True
    description = ctx.text(spec, "description", where, required=False, default="")
    ctx.identifier(column, where)
    if column in _RESERVED:
        ctx.fail(where, f"{column!r} is already a column of dicom.instances")
        return None
    if text is None:
        return None
    path, problem = parse_path(text)
    if problem:
        ctx.fail(f"{where}.tag", problem)
        return None
    if is_patient_tag(path) and not pii:
        ctx.fail(f"{where}.tag", f"{text!r} is patient data (group 0010): mark it `pii: true`")
        return None
    return ExtraTag(column, path, text, pii, description)


def load_dicom(path: Path, root: Path, problems: list[str]) -> tuple[ExtraTag, ...]:
    """The extra tags of `path` (none when the file does not exist), in the file's order."""
    if not path.exists():
        return ()
    ctx = Ctx(path, root, problems)
    data = ctx.mapping(read_yaml(path, ctx) or {}, "")
    ctx.unknown(data, {"extra_tags"}, "")
    out = []
    for column, spec in ctx.mapping(data.get("extra_tags") or {}, "extra_tags").items():
        extra = _extra(ctx, str(column), spec, f"extra_tags.{column}")
        if extra is not None:
            out.append(extra)
    return tuple(out)

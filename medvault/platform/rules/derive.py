"""`derive:` in a vault load: columns computed from staged columns before hashing, for keys and payloads
the staged columns do not give as they are.

    derive:
      appointment_day: {column: appointment_at, transform: date}           # a timestamp's day
      admitted_on:     {column: admitted, transform: date, format: '%d/%m/%Y'}   # text in a format
      ward_code:       {column: ward, transform: upper}                     # also: trim, lower
      sex_label:       {column: sex, transform: map, mapping: {'1': male, '2': female}}
      bed_key:         {columns: [ward, bed_no], transform: concat, sep: '-'}
"""

from __future__ import annotations

from medvault.platform.rules.models import DerivedColumn
from medvault.platform.rules.reading import Ctx

TRANSFORMS = ("trim", "upper", "lower", "date", "map", "concat")


def read_derive(ctx: Ctx, raw, key: str) -> dict[str, DerivedColumn]:
    out: dict[str, DerivedColumn] = {}
    for name, spec in ctx.mapping(raw or {}, key).items():
        dkey = f"{key}.{name}"
        item = ctx.mapping(spec, dkey)
        ctx.unknown(item, {"column", "columns", "transform", "format", "mapping", "sep"}, dkey)
        ctx.identifier(str(name), dkey)
        transform = ctx.text(item, "transform", dkey)
        if transform is not None and transform not in TRANSFORMS:
            ctx.fail(f"{dkey}.transform", f"{transform!r} is not one of {', '.join(TRANSFORMS)}")
        if transform == "concat":
            columns = tuple(str(c) for c in ctx.seq(item.get("columns"), f"{dkey}.columns"))
            if len(columns) < 2:
                ctx.fail(f"{dkey}.columns", "concat joins at least two columns")
        else:
            column = ctx.text(item, "column", dkey)
            columns = (column,) if column else ()
        mapping = ()
        if transform == "map":
            pairs = ctx.mapping(item.get("mapping"), f"{dkey}.mapping")
            if not pairs:
                ctx.fail(f"{dkey}.mapping", "a map needs at least one code")
            mapping = tuple((str(k), str(v)) for k, v in pairs.items())
        elif "mapping" in item:
            ctx.fail(f"{dkey}.mapping", "only a map transform takes a mapping")
        if "format" in item and transform != "date":
            ctx.fail(f"{dkey}.format", "only a date transform takes a format")
        out[str(name)] = DerivedColumn(
            str(name),
            transform or "",
            columns,
            format=ctx.text(item, "format", dkey, required=False),
            mapping=mapping,
            sep=str(item.get("sep", "")),
        )
    return out

"""The SQL of a load's derived columns (rules `derive:`, see rules/derive.py), computed in the hashed
batch before anything is hashed, so a derived column is keyed and compared like a staged one."""

from __future__ import annotations

from medvault.platform.rules.models import DerivedColumn, VaultLoad
from medvault.platform.warehouse import quote_ident as q
from medvault.platform.warehouse.sql import quote_literal


def derived_sql(d: DerivedColumn) -> str:
    text = [f"CAST({q(c)} AS VARCHAR)" for c in d.columns]
    if d.transform == "trim":
        return f"TRIM({text[0]})"
    if d.transform == "upper":
        return f"UPPER(TRIM({text[0]}))"
    if d.transform == "lower":
        return f"LOWER(TRIM({text[0]}))"
    if d.transform == "date":
        if d.format:  # text in a site's format; a value that does not parse is NULL
            return f"CAST(try_strptime(TRIM({text[0]}), {quote_literal(d.format)}) AS DATE)"
        return f"TRY_CAST({q(d.columns[0])} AS DATE)"
    if d.transform == "map":
        cases = " ".join(f"WHEN {quote_literal(k)} THEN {quote_literal(v)}" for k, v in d.mapping)
        return f"CASE TRIM({text[0]}) {cases} END"
    if d.transform == "concat":  # NULL when any part is NULL: a composite key is whole or absent
        return f" || {quote_literal(d.sep)} || ".join(f"TRIM({t})" for t in text)
    raise ValueError(f"{d.name}: unknown transform {d.transform!r}")


def derived_type(d: DerivedColumn) -> str:
    return "DATE" if d.transform == "date" else "VARCHAR"


def derive_select(load: VaultLoad) -> str:
    """`, <expr> AS <name>` for every derived column of the load ('' when there is none)."""
    return "".join(f", {derived_sql(d)} AS {q(name)}" for name, d in load.derive.items())

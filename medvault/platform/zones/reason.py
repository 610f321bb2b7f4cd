"""Why a file was quarantined: a stable code plus a message that names the file (never patient data)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    file: str
    row: int | None = None
    column: str | None = None
    details: dict | None = None

    def to_json(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None}, indent=2, sort_keys=True)

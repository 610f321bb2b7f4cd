"""The outbox: a batch extracted and not yet pushed, kept on local disk until the push is complete.

Why: a push interrupted by a dead network, a killed process or a reboot resumes with the very same files
(same names, same bytes) instead of querying again, so the central platform receives no row twice and
misses none. A batch is complete when its `manifest.json` exists (written last, atomically); a folder
without one is an extraction that did not finish and is discarded.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from medvault.platform.agent.state import write_json_atomic


@dataclass
class Batch:
    folder: Path
    manifest: dict

    @property
    def id(self) -> str:
        return self.manifest["batch"]

    @property
    def files(self) -> list[dict]:
        return [f for t in self.manifest["tables"].values() for f in t["files"]]

    @property
    def drop_folder(self) -> str:
        """The central drop folder: `<site>/<YYYY-MM-DD>`."""
        return f"{self.manifest['site']}/{self.manifest['date']}"


class Outbox:
    def __init__(self, folder: Path):
        self.folder = folder

    def discard_incomplete(self) -> list[str]:
        """Remove extractions that never finished (no manifest); return their names."""
        removed = []
        if self.folder.is_dir():
            for sub in sorted(self.folder.iterdir()):
                if sub.is_dir() and not (sub / "manifest.json").exists():
                    shutil.rmtree(sub, ignore_errors=True)
                    removed.append(sub.name)
        return removed

    def pending(self) -> list[Batch]:
        """Complete batches not yet pushed, oldest first."""
        if not self.folder.is_dir():
            return []
        out = []
        for sub in sorted(self.folder.iterdir()):
            manifest = sub / "manifest.json"
            if sub.is_dir() and manifest.exists():
                out.append(Batch(sub, json.loads(manifest.read_text(encoding="utf-8"))))
        return out

    def start(self, batch_id: str) -> Path:
        folder = self.folder / batch_id
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True, mode=0o700)
        return folder

    def seal(self, folder: Path, manifest: dict) -> Batch:
        write_json_atomic(folder / "manifest.json", manifest)
        return Batch(folder, manifest)

    @staticmethod
    def discard(folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)

    @staticmethod
    def remove(batch: Batch) -> None:
        Outbox.discard(batch.folder)

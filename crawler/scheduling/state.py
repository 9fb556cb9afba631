"""The scheduler's small state files: written atomically, read back after a restart."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from crawler.scheduling.staleness import SourceHistory

logger = logging.getLogger(__name__)

HISTORY_FORMAT = 1


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` so a reader sees the old file or the new one, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".tmp-{path.name}-", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2, sort_keys=True)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class HistoryStore:
    """Every source's :class:`SourceHistory`, kept in one JSON file. Thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._histories = self._load()

    def get(self, source: str) -> SourceHistory:
        """Return the history of ``source`` (empty if it never ran)."""
        with self._lock:
            return self._histories.get(source, SourceHistory())

    def all(self) -> dict[str, SourceHistory]:
        """Return every source's history."""
        with self._lock:
            return dict(self._histories)

    def put(self, source: str, history: SourceHistory) -> None:
        """Store a source's history and write the file."""
        with self._lock:
            self._histories[source] = history
            self._save()

    def _save(self) -> None:
        data = {
            "format": HISTORY_FORMAT,
            "sources": {name: h.to_dict() for name, h in sorted(self._histories.items())},
        }
        write_json_atomic(self.path, data)

    def _load(self) -> dict[str, SourceHistory]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as err:
            # Losing the history only delays staleness warnings; refusing to start would be worse.
            logger.warning("cannot read %s (%s); starting a fresh history", self.path, err)
            return {}
        histories: dict[str, SourceHistory] = {}
        sources = data.get("sources") if isinstance(data, dict) else None
        for name, entry in (sources or {}).items():
            try:
                histories[name] = SourceHistory.from_dict(entry)
            except (TypeError, ValueError, AttributeError) as err:
                logger.warning("%s: ignoring the history of source %s: %s", self.path, name, err)
        return histories

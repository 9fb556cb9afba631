"""Count what the archive holds of each source: from the run manifests, or by a scan."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import StorageError
from .export_select import iter_article_folders, ordered_map
from .records import VERSION_SCHEMA, decode_record
from .runs import RUN_SCHEMA, RUNS

if TYPE_CHECKING:
    from .storage import Storage


@dataclass(frozen=True)
class SourceStats:
    """What the archive holds of one source."""

    name: str
    articles: int
    versions: int
    counted_by: str
    """``runs`` (summed from run manifests) or ``scan`` (counted in the article folders)."""


def stats_from_runs(storage: Storage, read_ahead: int) -> dict[str, SourceStats]:
    """Sum the ``new`` and ``changed`` articles of every run manifest, by source.

    Return an empty mapping when the archive has no manifests.
    """
    manifest_keys = (key for key in storage.list(f"{RUNS}/") if key.endswith(".json"))
    totals: dict[str, list[int]] = {}

    def read(key: str) -> dict[str, Any] | None:
        return _manifest(storage, key)

    for manifest in ordered_map(read, manifest_keys, read_ahead):
        if manifest is None:
            continue
        for name in manifest.get("sources") or ():
            totals.setdefault(str(name), [0, 0])
        for name, summary in (manifest.get("by_source") or {}).items():
            archived = (summary.get("archived_by") or {}) if isinstance(summary, dict) else {}
            new, changed = int(archived.get("new", 0)), int(archived.get("changed", 0))
            counts = totals.setdefault(str(name), [0, 0])
            counts[0] += new
            counts[1] += new + changed
    return {
        name: SourceStats(name, articles, versions, "runs")
        for name, (articles, versions) in sorted(totals.items())
    }


def stats_from_scan(storage: Storage, read_ahead: int) -> dict[str, SourceStats]:
    """Count articles and versions by reading every article's first version record."""

    def first_source(version_keys: list[str]) -> tuple[str, int]:
        key = version_keys[0]
        data = storage.get(key)
        if data is None:
            raise StorageError(f"record {key} was listed but cannot be read")
        try:
            record = decode_record(data, VERSION_SCHEMA)
        except ValueError as err:
            raise StorageError(f"record {key} is not a valid {VERSION_SCHEMA} record") from err
        return str(record.get("source") or ""), len(version_keys)

    totals: dict[str, list[int]] = {}
    for name, count in ordered_map(first_source, iter_article_folders(storage), read_ahead):
        counts = totals.setdefault(name, [0, 0])
        counts[0] += 1
        counts[1] += count
    return {
        name: SourceStats(name, articles, versions, "scan")
        for name, (articles, versions) in sorted(totals.items())
    }


def _manifest(storage: Storage, key: str) -> dict[str, Any] | None:
    data = storage.get(key)
    if data is None:
        return None
    try:
        record = json.loads(data.decode("utf-8"))
    except ValueError as err:
        raise StorageError(f"run manifest {key} is not valid JSON: {err}") from err
    return record if isinstance(record, dict) and record.get("schema") == RUN_SCHEMA else None

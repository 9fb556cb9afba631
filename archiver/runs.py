"""Run manifests: one immutable record per crawl run, kept in the archive beside the articles.

A manifest says what a run was (id, start and end, sources, configuration hash, software) and
what it did (its counts), so a gap or a failure in the archive can be traced to a run::

    runs/{YYYY}/{MM}/{DD}/{run_id}.json
"""

from __future__ import annotations

import gzip
import json
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .errors import StorageError
from .records import compact_utc, encode_record, gzip_bytes, iso_utc

if TYPE_CHECKING:
    from .storage import Storage

RUNS = "runs"
RUN_SCHEMA = "newsarchive/run/1"
_RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}")


def new_run_id(started_at: datetime) -> str:
    """Return a run id that sorts by start time: ``20261128T040000Z-3fa9c1``."""
    return f"{compact_utc(started_at).split('.')[0]}Z-{secrets.token_hex(3)}"


def run_key(run_id: str) -> str:
    """Return the key of a run's manifest."""
    if not _RUN_ID.fullmatch(run_id):
        raise ValueError(f"not a run id: {run_id!r}")
    return f"{RUNS}/{run_id[0:4]}/{run_id[4:6]}/{run_id[6:8]}/{run_id}.json"


def run_manifest(
    *,
    run_id: str,
    started_at: datetime,
    finished_at: datetime,
    finish_reason: str,
    spider: str,
    sources: list[str],
    config_sha256: str,
    software: Mapping[str, str],
    counts: Mapping[str, Any],
    by_source: Mapping[str, Any],
) -> dict[str, Any]:
    """Build a run manifest (``newsarchive/run/1``)."""
    return {
        "schema": RUN_SCHEMA,
        "run_id": run_id,
        "spider": spider,
        "started_at": iso_utc(started_at),
        "finished_at": iso_utc(finished_at),
        "finish_reason": finish_reason,
        "sources": sorted(sources),
        "config_sha256": config_sha256,
        "software": dict(software),
        "counts": dict(counts),
        "by_source": dict(by_source),
    }


def write_run_manifest(storage: Storage, manifest: Mapping[str, Any]) -> str:
    """Store a manifest under its run id (never overwriting one) and return its key."""
    key = run_key(str(manifest["run_id"]))
    storage.put(key, encode_record(manifest), content_type="application/json", if_none_match=True)
    return key


def checks_key(run_id: str) -> str:
    """Return the key of a run's log of articles found unchanged before extraction."""
    return run_key(run_id).removesuffix(".json") + ".checks.jsonl.gz"


def write_run_checks(storage: Storage, run_id: str, checks: Iterable[Mapping[str, Any]]) -> str:
    """Store a run's checks (one JSON line each, gzip) once, and return the key.

    A 304 or a byte-identical page writes nothing of its own: one object per run keeps the
    evidence that the article was seen unchanged, and when.
    """
    lines = b"".join(
        json.dumps(check, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n"
        for check in checks
    )
    key = checks_key(run_id)
    storage.put(key, gzip_bytes(lines), content_type="application/gzip", if_none_match=True)
    return key


def iter_run_checks(storage: Storage, run_id: str) -> Iterator[dict[str, Any]]:
    """Yield the checks a run logged (nothing if it logged none)."""
    data = storage.get(checks_key(run_id))
    if data is None:
        return
    for line in gzip.decompress(data).splitlines():
        if line.strip():
            yield json.loads(line)


def iter_run_manifests(storage: Storage, day: datetime | None = None) -> Iterator[dict[str, Any]]:
    """Yield run manifests oldest first: every one, or those of one UTC day."""
    prefix = f"{RUNS}/"
    if day is not None:
        day = day.astimezone(UTC)
        prefix = f"{RUNS}/{day:%Y/%m/%d}/"
    for key in sorted(storage.list(prefix)):
        if not key.endswith(".json"):
            continue
        data = storage.get(key)
        if data is None:
            continue
        try:
            record = json.loads(data.decode("utf-8"))
        except ValueError as err:
            raise StorageError(f"run manifest {key} is not valid JSON: {err}") from err
        if isinstance(record, dict) and record.get("schema") == RUN_SCHEMA:
            yield record

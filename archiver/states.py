"""State changes of an article: removed, redirected to another story, paywalled, restored.

Revisits find some articles gone. Each failed sighting is kept as an observation (reason
``removed_unconfirmed``, ``removed``, ...); a change confirmed by two sightings is kept as a
state record beside the article's versions::

    articles/{id[:2]}/{id}/state/{confirmed_at}-{random8}.json   newsarchive/state/1

so one listing of the article's folder still returns its whole history. Records are created
with a conditional create and never overwritten. Writing blocks (storage I/O).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from . import keys
from .errors import CaptureError, ConflictError, InvalidKeyError, StorageError
from .records import (
    OBSERVATION_SCHEMA,
    ObservationReason,
    compact_utc,
    decode_record,
    encode_record,
    iso_utc,
)

if TYPE_CHECKING:
    from .storage import Storage
    from .store import SnapshotStore

logger = logging.getLogger(__name__)

STATE_SCHEMA = "newsarchive/state/1"
StateName = Literal["removed", "redirected", "paywalled", "restored"]
STATES: tuple[str, ...] = ("removed", "redirected", "paywalled", "restored")
PREVIOUS_STATES: tuple[str, ...] = ("present", "removed", "redirected", "paywalled")
EVIDENCE_FIELDS = ("observed_at", "http_status", "final_url", "reason")
JSON_TYPE = "application/json"
_MAX_ATTEMPTS = 16


def states_prefix(aid: str) -> str:
    """Return the prefix that lists only an article's state records."""
    return f"{keys.article_prefix(aid)}state/"


def state_key(aid: str, compact_time: str, token: str) -> str:
    """Return the key of one state record; ``compact_time`` sorts chronologically."""
    if not re.fullmatch(r"\d{8}T\d{6}(\.\d+)?Z", compact_time):
        raise InvalidKeyError(f"not a compact UTC time: {compact_time!r}")
    if not re.fullmatch(r"[0-9a-f]{8}", token):
        raise InvalidKeyError(f"not an 8-digit hex token: {token!r}")
    return f"{states_prefix(aid)}{compact_time}-{token}.json"


def record_state(
    store: SnapshotStore,
    *,
    identity_url: str,
    source: str,
    state: StateName,
    previous_state: str,
    detected_at: datetime,
    confirmed_at: datetime,
    evidence: Sequence[Mapping[str, Any]],
) -> str:
    """Write a confirmed state change of an article and return its key.

    ``evidence`` lists the sightings behind it, oldest first, each with ``observed_at``,
    ``http_status``, ``final_url`` and ``reason``. The record names the article's latest
    version at the time.
    """
    if state not in STATES:
        raise CaptureError(f"not a state: {state!r}")
    if previous_state not in PREVIOUS_STATES:
        raise CaptureError(f"not a previous state: {previous_state!r}")
    proof = [_evidence(item) for item in evidence]
    if not proof:
        raise CaptureError(f"a state change of {identity_url} needs evidence")
    aid = keys.article_id(identity_url)
    version, version_key = _latest(store, identity_url)
    record = {
        "schema": STATE_SCHEMA,
        "article_id": aid,
        "identity_url": identity_url,
        "state": state,
        "previous_state": previous_state,
        "detected_at": iso_utc(detected_at),
        "confirmed_at": iso_utc(confirmed_at),
        "evidence": proof,
        "version": version,
        "version_key": version_key,
        "source": source,
    }
    key = _create(store.storage, encode_record(record), aid, confirmed_at, state_key)
    logger.info("Recorded %s as %s (was %s): %s", identity_url, state, previous_state, key)
    return key


def record_sighting(
    store: SnapshotStore,
    *,
    identity_url: str,
    source: str,
    observed_at: datetime,
    status: int | None,
    url: str | None,
    reason: ObservationReason,
    provenance: Mapping[str, Any],
) -> str:
    """Write an observation of a failed sighting (removed, redirected, paywalled); return its key.

    It is an ordinary ``newsarchive/observation/1`` record of the latest version, with no
    content or HTML hash (nothing of the article was seen) and no validators, so the next
    fetch of the article asks unconditionally.
    """
    aid = keys.article_id(identity_url)
    version, version_key = _latest(store, identity_url)
    record = {
        "schema": OBSERVATION_SCHEMA,
        "article_id": aid,
        "identity_url": identity_url,
        "observed_at": iso_utc(observed_at),
        "version": version,
        "version_key": version_key,
        "content_sha256": None,
        "html_sha256": None,
        "source": source,
        "url": url,
        "http": {"status": status},
        "reason": reason,
        "provenance": dict(provenance),
    }
    key = _create(store.storage, encode_record(record), aid, observed_at, keys.observation_key)
    logger.info("Observed %s %s (%s): %s", identity_url, reason, status, key)
    return key


def read_states(storage: Storage, identity_url: str) -> list[dict[str, Any]]:
    """Return every state record of an article, oldest first (one prefix listing)."""
    records = []
    for key in sorted(storage.list(states_prefix(keys.article_id(identity_url)))):
        data = storage.get(key)
        if data is None:
            raise StorageError(f"record {key} was listed but cannot be read")
        try:
            records.append(decode_record(data, STATE_SCHEMA))
        except ValueError as err:
            raise StorageError(f"record {key} is not a valid {STATE_SCHEMA} record: {err}") from err
    return records


def _latest(store: SnapshotStore, identity_url: str) -> tuple[int | None, str | None]:
    latest = store.latest(identity_url)
    if latest is None:
        return None, None
    version = latest.get("version")
    if not isinstance(version, int):
        raise StorageError(f"the latest version record of {identity_url} has no version number")
    return version, keys.version_key(keys.article_id(identity_url), version)


def _evidence(item: Mapping[str, Any]) -> dict[str, Any]:
    missing = [name for name in EVIDENCE_FIELDS if name not in item]
    if missing:
        raise CaptureError(f"evidence lacks {', '.join(missing)}: {dict(item)!r}")
    return {name: item[name] for name in EVIDENCE_FIELDS}


def _create(
    storage: Storage,
    data: bytes,
    aid: str,
    moment: datetime,
    make_key: Callable[[str, str, str], str],
) -> str:
    """Create a record under a fresh time-and-token key; a taken key only means a new token."""
    for _attempt in range(_MAX_ATTEMPTS):
        key = make_key(aid, compact_utc(moment), secrets.token_hex(4))
        try:
            storage.put(key, data, content_type=JSON_TYPE, if_none_match=True)
        except ConflictError:
            continue
        return key
    raise ConflictError(f"could not find a free key for a record of article {aid}")

"""State records and failed-sighting observations: written once, listed with the article."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from archiver import CaptureError, open_store
from archiver.keys import article_id, article_prefix
from archiver.states import STATE_SCHEMA, record_sighting, record_state, states_prefix

from .support import CaptureFactory

HEADERS = {"Content-Type": "text/html", "ETag": '"v1"'}
SEEN = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
CONFIRMED = datetime(2026, 11, 28, 8, 0, 0, 250000, tzinfo=UTC)


def evidence(at: datetime, status: int | None = 410) -> dict[str, object]:
    return {
        "observed_at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "http_status": status,
        "final_url": "https://news.example/world/ceasefire-talks",
        "reason": f"http_{status}",
    }


def test_a_removal_is_kept_beside_the_versions(
    archive_uri: str, make_capture: CaptureFactory
) -> None:
    with open_store(archive_uri) as store:
        capture = make_capture(headers=HEADERS)
        store.archive(capture)
        identity = capture.identity_url
        first = record_sighting(
            store,
            identity_url=identity,
            source="news-example",
            observed_at=SEEN,
            status=410,
            url=capture.url,
            reason="removed_unconfirmed",
            provenance={"discovered_via": "revisit", "discovered_from": identity},
        )
        key = record_state(
            store,
            identity_url=identity,
            source="news-example",
            state="removed",
            previous_state="present",
            detected_at=SEEN,
            confirmed_at=CONFIRMED,
            evidence=[evidence(SEEN), evidence(CONFIRMED, 404)],
        )
        aid = article_id(identity)
        assert key.startswith(f"{states_prefix(aid)}20261128T080000.250000Z-")
        assert key.startswith(f"{article_prefix(aid)}state/")
        [state] = store.states(identity)
        assert state == {
            "schema": STATE_SCHEMA,
            "article_id": aid,
            "identity_url": identity,
            "state": "removed",
            "previous_state": "present",
            "detected_at": "2026-11-28T07:00:00.000000Z",
            "confirmed_at": "2026-11-28T08:00:00.250000Z",
            "evidence": [evidence(SEEN), evidence(CONFIRMED, 404)],
            "version": 1,
            "version_key": f"{article_prefix(aid)}v000001.json",
            "source": "news-example",
        }
        [observation] = store.observations(identity)
        assert first.startswith(f"{article_prefix(aid)}obs/20261128T070000.000000Z-")
        assert observation["reason"] == "removed_unconfirmed"
        assert observation["http"] == {"status": 410}
        assert (observation["version"], observation["content_sha256"]) == (1, None)
        # One listing of the article's folder still holds its whole history.
        listed = list(store.storage.list(article_prefix(aid)))
        assert key in listed
        assert first in listed
        # The history of versions is unchanged, and so is what the next fetch compares with,
        # minus the validators: after a failed sighting the article is asked for in full.
        assert [r["version"] for r in store.history(identity)] == [1]
        hints = store.fetch_hints(identity)
        assert hints is not None
        assert (hints.version, hints.etag) == (1, None)
        assert hints.html_sha256 == store.history(identity)[0]["html_sha256"]


def test_state_records_never_overwrite_each_other(
    tmp_path: Path, make_capture: CaptureFactory
) -> None:
    with open_store(str(tmp_path / "archive")) as store:
        capture = make_capture()
        store.archive(capture)
        keys = {
            record_state(
                store,
                identity_url=capture.identity_url,
                source="news-example",
                state=state,
                previous_state="present",
                detected_at=SEEN,
                confirmed_at=SEEN,
                evidence=[evidence(SEEN, 200)],
            )
            for state in ("paywalled", "restored", "paywalled")
        }
        assert len(keys) == 3
        assert sorted(r["state"] for r in store.states(capture.identity_url)) == [
            "paywalled",
            "paywalled",
            "restored",
        ]
        assert store.states("https://news.example/never-archived") == []


def test_bad_state_records_are_refused_before_writing(
    tmp_path: Path, make_capture: CaptureFactory
) -> None:
    with open_store(str(tmp_path / "archive")) as store:
        capture = make_capture()
        store.archive(capture)

        def record(state: str, proof: list[dict[str, object]]) -> str:
            return record_state(
                store,
                identity_url=capture.identity_url,
                source="news-example",
                state=state,  # type: ignore[arg-type]
                previous_state="present",
                detected_at=SEEN,
                confirmed_at=SEEN,
                evidence=proof,
            )

        with pytest.raises(CaptureError, match="not a state"):
            record("vanished", [evidence(SEEN)])
        with pytest.raises(CaptureError, match="needs evidence"):
            record("removed", [])
        with pytest.raises(CaptureError, match="evidence lacks http_status"):
            record("removed", [{"observed_at": "x", "final_url": None, "reason": "r"}])
        assert store.states(capture.identity_url) == []

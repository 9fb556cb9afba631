"""SnapshotStore against a local folder, SeaweedFS and moto: versions, observations, races."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from archiver import (
    ArchiveResult,
    Capture,
    CaptureError,
    SnapshotStore,
    StorageError,
    content_sha256,
    open_store,
)
from archiver.keys import article_id, article_prefix
from archiver.storage import Storage
from archiver.store import _Latest, _LatestCache
from archiver.uri import open_storage

from .support import CaptureFactory

IDENTITY = "https://news.example/world/ceasefire-talks"
BODY_V2 = "Delegations met on Friday.\nThe talks collapsed on Saturday."


@pytest.fixture
def store(archive_uri: str) -> Iterator[SnapshotStore]:
    with open_store(archive_uri) as opened:
        yield opened


def keys_under(store: SnapshotStore, identity_url: str = IDENTITY) -> list[str]:
    return list(store.storage.list(article_prefix(article_id(identity_url))))


def run_together(count: int, work: Callable[[int], ArchiveResult]) -> list[ArchiveResult]:
    """Run ``work(n)`` in ``count`` threads released at the same moment."""
    barrier = threading.Barrier(count)

    def start(n: int) -> ArchiveResult:
        barrier.wait()
        return work(n)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(start, range(count)))


def test_first_capture_is_version_1_with_record_and_html(
    store: SnapshotStore, make_capture: CaptureFactory
) -> None:
    html = "<html><body><p>Caf\u00e9 talks</p></body></html>".encode()
    capture = make_capture(html=html, captured_at="2026-11-28T04:40:12.5+01:00")
    result = store.archive(capture)

    aid = article_id(IDENTITY)
    assert result == ArchiveResult("new", aid, 1, f"{article_prefix(aid)}v000001.json")
    raw = store.storage.get(result.key)
    assert raw is not None
    record = json.loads(raw)
    html_sha = hashlib.sha256(html).hexdigest()
    assert record == {
        "schema": "newsarchive/version/1",
        "article_id": aid,
        "identity_url": IDENTITY,
        "url": capture.url,
        "requested_url": "https://news.example/r/123",
        "canonical_url": capture.canonical_url,
        "source": "news-example",
        "captured_at": "2026-11-28T03:40:12.500000Z",
        "version": 1,
        "previous_version": None,
        "previous_key": None,
        "content_sha256": content_sha256(capture.article),
        "html_sha256": html_sha,
        "html_key": f"{article_prefix(aid)}html/{html_sha}.html.gz",
        "html_size": len(html),
        "http": {
            "status": 200,
            "headers": {"content-type": "text/html; charset=utf-8", "x-cache": "HIT"},
        },
        "provenance": dict(capture.provenance),
        "software": {
            "newsarchive": "0.1.0",
            "trafilatura": "2.3.0",
            "archiver": "newsarchive/version/1",
            "content_definition": "newsarchive/content/1",
        },
        "article": dict(capture.article),
    }
    stored_html = store.storage.get(record["html_key"])
    assert stored_html is not None
    assert gzip.decompress(stored_html) == html
    assert keys_under(store) == [record["html_key"], result.key]
    assert store.latest(IDENTITY) == record


def test_same_content_with_other_html_is_only_an_observation(
    store: SnapshotStore, make_capture: CaptureFactory
) -> None:
    first = store.archive(make_capture())
    noisy = make_capture(
        html=b"<html><body><div class=ad>new ad</div><p>Delegations met</p></body></html>",
        body="  Delegations met on Friday. \n\n The talks are expected   to last a week.\n",
        captured_at="2026-11-28T05:00:00Z",
        status=203,
    )
    again = store.archive(noisy)

    assert again.outcome == "unchanged"
    assert again.version == 1
    assert again.key.startswith(f"{article_prefix(first.article_id)}obs/20261128T050000.000000Z-")
    assert len(store.history(IDENTITY)) == 1
    html_objects = [key for key in keys_under(store) if "/html/" in key]
    assert len(html_objects) == 1
    (observation,) = store.observations(IDENTITY)
    assert observation == {
        "schema": "newsarchive/observation/1",
        "article_id": first.article_id,
        "identity_url": IDENTITY,
        "observed_at": "2026-11-28T05:00:00.000000Z",
        "version": 1,
        "version_key": first.key,
        "content_sha256": content_sha256(noisy.article),
        "html_sha256": hashlib.sha256(noisy.html).hexdigest(),
        "source": "news-example",
        "url": noisy.url,
        "http": {"status": 203},
        "reason": "content_unchanged",
        "provenance": dict(noisy.provenance),
    }


def test_changed_body_is_version_2_linked_to_version_1(
    store: SnapshotStore, make_capture: CaptureFactory
) -> None:
    first = store.archive(make_capture())
    second = store.archive(make_capture(body=BODY_V2, html=b"<p>collapsed</p>"))
    third = store.archive(make_capture(captured_at="2026-11-29T00:00:00Z"))

    assert (second.outcome, second.version) == ("changed", 2)
    # Going back to the first text is a change too: versions compare with the latest only.
    assert (third.outcome, third.version) == ("changed", 3)
    history = store.history(IDENTITY)
    assert [record["version"] for record in history] == [1, 2, 3]
    assert [record["previous_version"] for record in history] == [None, 1, 2]
    assert [record["previous_key"] for record in history] == [None, first.key, second.key]
    assert history[1]["article"]["body"] == BODY_V2
    assert history[0]["content_sha256"] == history[2]["content_sha256"]
    assert store.latest(IDENTITY) == history[2]


def test_a_restarted_store_finds_the_latest_version_in_the_archive(
    archive_uri: str, make_capture: CaptureFactory
) -> None:
    with open_store(archive_uri) as before:
        before.archive(make_capture())
        before.archive(make_capture(body=BODY_V2))
    with open_store(archive_uri) as after:
        assert after.archive(make_capture(body=BODY_V2)).outcome == "unchanged"
        assert after.archive(make_capture(identity_url=IDENTITY + "/2")).outcome == "new"
        assert [r["version"] for r in after.history(IDENTITY)] == [1, 2]


def test_a_cached_latest_version_is_checked_against_the_archive(
    archive_uri: str, make_capture: CaptureFactory
) -> None:
    storage = open_storage(archive_uri)
    with SnapshotStore(storage) as one:
        other = SnapshotStore(storage)
        assert one.archive(make_capture()).version == 1
        assert other.archive(make_capture(body=BODY_V2)).version == 2
        # ``one`` still caches version 1; its text is no longer the latest, so this is new.
        result = one.archive(make_capture())
        assert (result.outcome, result.version) == ("changed", 3)


def test_racing_writers_with_one_content_store_it_once(
    archive_uri: str, make_capture: CaptureFactory
) -> None:
    # One store per writer, as in separate processes: no shared lock or cache, only the
    # archive keeps them apart. They share one client, which is thread-safe.
    storage = open_storage(archive_uri)
    stores = [SnapshotStore(storage) for _ in range(8)]
    try:
        results = run_together(8, lambda n: stores[n].archive(make_capture()))
    finally:
        storage.close()
    assert sorted(result.outcome for result in results) == ["new"] + ["unchanged"] * 7
    with open_store(archive_uri) as store:
        assert len(store.history(IDENTITY)) == 1
        assert len(store.observations(IDENTITY)) == 7


def test_racing_writers_with_different_contents_lose_no_version(
    archive_uri: str, make_capture: CaptureFactory
) -> None:
    bodies = [f"Update number {n}." for n in range(8)]
    storage = open_storage(archive_uri)
    stores = [SnapshotStore(storage) for _ in range(8)]
    try:
        results = run_together(8, lambda n: stores[n].archive(make_capture(body=bodies[n])))
    finally:
        storage.close()
    assert sorted(result.version for result in results) == list(range(1, 9))
    with open_store(archive_uri) as store:
        history = store.history(IDENTITY)
    assert [record["version"] for record in history] == list(range(1, 9))
    assert sorted(record["article"]["body"] for record in history) == sorted(bodies)
    for older, newer in itertools.pairwise(history):
        assert newer["previous_key"].endswith(f"v{older['version']:06d}.json")


def test_threads_sharing_one_store_archive_each_change_once(
    store: SnapshotStore, make_capture: CaptureFactory
) -> None:
    captures = [
        make_capture(body=f"Body {n % 3}", identity_url=f"{IDENTITY}/{n % 2}") for n in range(12)
    ]
    results = run_together(12, lambda n: store.archive(captures[n]))
    assert sum(result.outcome == "new" for result in results) == 2
    for url in (f"{IDENTITY}/0", f"{IDENTITY}/1"):
        hashes = [record["content_sha256"] for record in store.history(url)]
        # No two consecutive versions share a content.
        assert all(a != b for a, b in itertools.pairwise(hashes))
        assert len(store.history(url)) + len(store.observations(url)) == 6


class ListingRecorder:
    """A storage that notes the prefixes listed and passes every call to a real one."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.listed: list[str] = []

    @property
    def uri(self) -> str:
        return self.inner.uri

    def get(self, key: str) -> bytes | None:
        return self.inner.get(key)

    def put(self, key: str, data: bytes, **options: Any) -> None:
        self.inner.put(key, data, **options)

    def list(self, prefix: str) -> Iterator[str]:
        self.listed.append(prefix)
        return self.inner.list(prefix)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def close(self) -> None:
        self.inner.close()


def test_history_is_one_listing_of_the_article_prefix(
    store: SnapshotStore, make_capture: CaptureFactory
) -> None:
    for n in range(11):
        store.archive(make_capture(body=f"Revision {n}"))
        store.archive(make_capture(body=f"Revision {n}", captured_at=f"2026-11-28T05:{n:02d}:00Z"))
    recorder = ListingRecorder(store.storage)
    history = SnapshotStore(recorder).history(IDENTITY)
    assert recorder.listed == [article_prefix(article_id(IDENTITY))]
    assert [record["version"] for record in history] == list(range(1, 12))
    observed = [record["observed_at"] for record in store.observations(IDENTITY)]
    assert observed == sorted(observed)
    assert len(observed) == 11


def test_unknown_article_has_no_history(store: SnapshotStore) -> None:
    assert store.latest("https://news.example/never") is None
    assert store.history("https://news.example/never") == []
    assert store.observations("https://news.example/never") == []


def test_bad_capture_time_is_refused_before_anything_is_written(
    store: SnapshotStore, make_capture: CaptureFactory
) -> None:
    with pytest.raises(CaptureError):
        store.archive(make_capture(captured_at="last tuesday"))
    with pytest.raises(CaptureError):
        store.archive(make_capture(html="<p>text, not bytes</p>"))
    with pytest.raises(CaptureError):
        store.archive(make_capture(identity_url=""))
    with pytest.raises(CaptureError):
        store.archive(make_capture(article={"headline": "H", "body": "B", "when": object()}))
    assert keys_under(store) == []


def test_capture_is_immutable(make_capture: Callable[..., Capture]) -> None:
    capture = make_capture()
    with pytest.raises(AttributeError):
        capture.url = "x"  # type: ignore[misc]


WRITER_SCRIPT = """
import json, sys
from archiver import Capture, open_store
fields = json.loads(sys.argv[2])
capture = Capture(**{**fields, "html": fields["html"].encode()})
with open_store(sys.argv[1]) as store:
    sys.stdout.write("ready\\n")
    sys.stdout.flush()
    sys.stdin.readline()
    result = store.archive(capture)
print(json.dumps([result.outcome, result.version]))
"""


def archive_in_processes(root: Path, captures: list[Capture]) -> list[list[Any]]:
    """Archive each capture in its own Python process, all released at once."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    processes = []
    for capture in captures:
        fields = {
            **capture.__dict__,
            "html": capture.html.decode(),
            "headers": dict(capture.headers),
        }
        processes.append(
            subprocess.Popen(
                [sys.executable, "-c", WRITER_SCRIPT, str(root), json.dumps(fields)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )
        )
    for process in processes:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    outputs = [process.communicate()[0] for process in processes]
    assert [process.returncode for process in processes] == [0] * len(processes)
    return [json.loads(output) for output in outputs]


def test_processes_racing_on_a_local_archive_keep_one_copy_of_each_content(
    tmp_path: Path, make_capture: CaptureFactory
) -> None:
    same = archive_in_processes(tmp_path, [make_capture() for _ in range(4)])
    assert sorted(outcome for outcome, _version in same) == ["new"] + ["unchanged"] * 3
    changed = archive_in_processes(tmp_path, [make_capture(body=f"Body {n}") for n in range(4)])
    assert sorted(version for _outcome, version in changed) == [2, 3, 4, 5]
    with open_store(str(tmp_path)) as store:
        history = store.history(IDENTITY)
        assert [record["version"] for record in history] == [1, 2, 3, 4, 5]
        assert len({record["content_sha256"] for record in history}) == 5
        assert len(store.observations(IDENTITY)) == 3
    assert list(tmp_path.rglob(".tmp-*")) == []


def test_a_corrupt_version_record_is_a_storage_error(
    tmp_path: Path, make_capture: CaptureFactory
) -> None:
    with open_store(str(tmp_path)) as store:
        key = store.archive(make_capture()).key
    (tmp_path / key).write_bytes(b"{not json")
    with open_store(str(tmp_path)) as store, pytest.raises(StorageError, match=re.escape(key)):
        store.archive(make_capture(body=BODY_V2))


def test_latest_cache_is_bounded_and_never_goes_back() -> None:
    cache = _LatestCache(2)
    for name in ("a", "b", "c"):
        cache.put(name, _Latest(1, "h", name))
    assert cache.get("a") is None
    assert cache.get("b") is not None
    cache.put("c", _Latest(5, "h5", "c5"))
    cache.put("c", _Latest(4, "h4", "c4"))
    assert cache.get("c") == _Latest(5, "h5", "c5")

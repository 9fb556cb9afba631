"""Revisits end to end: crawls and revisit crawls of the demo site in child processes.

Each run is ``python -m crawler.cli crawl|revisit`` into a local archive and a state folder of
its own, with revisit steps of zero seconds so articles are due at once. The demo site edits,
removes, redirects and paywalls articles between runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from archiver import SnapshotStore, open_store
from archiver.runs import iter_run_checks
from crawler.demosite.server import DemoSite
from crawler.revisit_policy import RevisitEntry, parse_iso
from crawler.revisits import RevisitQueue
from crawler.urls import normalize_url

HERALD = "harbour-herald"
FAST = [
    "-s",
    "DOWNLOAD_DELAY=0",
    "-s",
    "AUTOTHROTTLE_ENABLED=False",
    "-s",
    "RETRY_TIMES=1",
    "-s",
    "ARCHIVE_RETRY_BACKOFF_BASE=0.1",
    "-s",
    "ARCHIVE_REVISIT_CONFIRM_AFTER=0s",
]
NOW_STEPS = ["-s", "ARCHIVE_REVISIT_STEPS=0s,0s,0s"]


@dataclass
class Run:
    sources: Path
    archive: Path
    state: Path
    tmp: Path

    def newsarchive(self, command: str, *extra: str) -> dict[str, Any]:
        summary = self.tmp / f"summary-{uuid.uuid4().hex[:8]}.json"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "crawler.cli",
                command,
                "--sources",
                str(self.sources),
                "--archive",
                str(self.archive),
                "--summary",
                str(summary),
                *FAST,
                *extra,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        data: dict[str, Any] = json.loads(summary.read_text(encoding="utf-8"))
        return data

    def scrapy_revisit(self, *extra: str) -> dict[str, Any]:
        """Run ``scrapy crawl revisit`` as documented, outside the project folder."""
        summary = self.tmp / f"summary-{uuid.uuid4().hex[:8]}.json"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "scrapy",
                "crawl",
                "revisit",
                "-a",
                f"sources_file={self.sources}",
                "-s",
                f"ARCHIVE_URI={self.archive}",
                "-s",
                f"ARCHIVE_STATE_DIR={self.state}",
                "-s",
                f"ARCHIVE_SUMMARY_FILE={summary}",
                *FAST,
                *extra,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.tmp,
            env={**os.environ, "SCRAPY_SETTINGS_MODULE": "crawler.settings"},
            check=False,
        )
        assert result.returncode == 0, result.stderr
        data: dict[str, Any] = json.loads(summary.read_text(encoding="utf-8"))
        return data

    def crawl(self, *extra: str) -> dict[str, Any]:
        return self.newsarchive("crawl", "-s", f"ARCHIVE_STATE_DIR={self.state}", *extra)

    def revisit(self, *extra: str) -> dict[str, Any]:
        return self.newsarchive("revisit", "--state-dir", str(self.state), *extra)

    def store(self) -> SnapshotStore:
        return open_store(str(self.archive))

    def entry(self, identity: str) -> RevisitEntry:
        with RevisitQueue.in_state_dir(self.state) as queue:
            found = queue.get(identity)
        assert found is not None, identity
        return found

    def entries(self) -> dict[str, RevisitEntry]:
        with RevisitQueue.in_state_dir(self.state) as queue:
            return {e.identity_url: e for e in queue.entries()}


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite() as running:
        yield running


@pytest.fixture
def run(site: DemoSite, tmp_path: Path) -> Run:
    site.set_edition(1)
    sources = site.write_sources(tmp_path / "sources.toml")
    return Run(sources, tmp_path / "archive", tmp_path / "state", tmp_path)


def articles(site: DemoSite, outlet: str) -> list[dict[str, Any]]:
    """The pages of ``outlet`` a crawl archives as articles."""
    return [
        page
        for page in site.manifest["outlets"][outlet]["pages"]
        if page["is_article"] and page["discovered_via"] and "disallowed" not in page["roles"]
    ]


def plain_article(site: DemoSite, n: int) -> tuple[str, str]:
    """The path and identity of the ``n``-th ordinary article of the Harbour Herald."""
    page = [p for p in articles(site, HERALD) if not p["roles"]][n]
    return page["path"], normalize_url(site.url(HERALD, page["path"]))


def states(summary: dict[str, Any]) -> dict[str, int]:
    by: dict[str, int] = summary["totals"].get("states_by", {})
    return by


def reasons(store: SnapshotStore, identity: str) -> list[str]:
    return [record["reason"] for record in store.observations(identity)]


def test_new_articles_are_queued_and_a_revisit_catches_the_edit(site: DemoSite, run: Run) -> None:
    text = run.sources.read_text(encoding="utf-8")
    text = text.replace("[sources.meridian-wire]\n", "[sources.meridian-wire]\nrevisit = []\n")
    text = text.replace(
        "[sources.le-quotidien]\n", '[sources.le-quotidien]\nrevisit = ["30m", "2h"]\n'
    )
    run.sources.write_text(text, encoding="utf-8")
    first = run.crawl("-s", "ARCHIVE_REVISIT_STEPS=0s,1h")
    herald = {normalize_url(site.url(HERALD, p["canonical_path"])) for p in articles(site, HERALD)}
    quotidien = {
        normalize_url(site.url("le-quotidien", p["canonical_path"]))
        for p in articles(site, "le-quotidien")
    }
    assert first["totals"]["archived_by"]["new"] > len(herald) + len(quotidien)  # meridian too

    # Every new article is queued, first seen when its first version was captured; a source
    # with `revisit = []` is not queued at all, one with its own list gets that list.
    entries = run.entries()
    assert set(entries) == herald | quotidien
    store = run.store()
    for identity, entry in entries.items():
        [version] = store.history(identity)
        assert entry.first_seen == parse_iso(version["captured_at"])
        assert entry.step == 0
        if identity in herald:
            assert entry.steps == (timedelta(0), timedelta(hours=1))
            assert entry.next_due == entry.first_seen
        else:
            assert entry.steps == (timedelta(minutes=30), timedelta(hours=2))
            assert entry.next_due == entry.first_seen + timedelta(minutes=30)

    # The live article is edited: the revisit archives exactly that one change.
    edited = next(p for p in articles(site, HERALD) if "two_editions" in p["roles"])
    edited_identity = normalize_url(site.url(HERALD, edited["canonical_path"]))
    site.set_edition(2)
    try:
        revisit = run.revisit("-s", "ARCHIVE_REVISIT_STEPS=0s,1h")
    finally:
        site.set_edition(1)
    totals = revisit["totals"]
    assert totals["revisited"] == len(herald), revisit
    assert totals["archived_by"] == {"changed": 1}
    assert totals["unchanged_by"] == {"not_modified": len(herald) - 1}
    assert "states_by" not in totals
    store = run.store()
    history = store.history(edited_identity)
    assert [r["version"] for r in history] == [1, 2]
    assert history[1]["article"]["headline"] == edited["editions"]["2"]["headline"]
    assert history[1]["provenance"]["discovered_via"] == "revisit"
    assert history[1]["provenance"]["discovered_from"] == edited_identity
    for identity in herald | quotidien:
        assert len(store.history(identity)) == (2 if identity == edited_identity else 1)
        assert store.states(identity) == []

    # Each Herald article moved on to its next step, an hour after this revisit; the others
    # were not due.
    for identity, entry in run.entries().items():
        if identity in herald:
            assert entry.step == 1
            assert entry.last_revisit is not None
            assert entry.next_due == entry.last_revisit + timedelta(hours=1)
            assert entry.last_outcome in ("present:unchanged", "present:changed")
        else:
            assert (entry.step, entry.last_revisit) == (0, None)
    assert run.revisit()["totals"].get("revisited", 0) == 0


def test_a_removal_is_confirmed_twice_then_restored_and_the_schedule_ends(
    site: DemoSite, run: Run
) -> None:
    path, identity = plain_article(site, 0)
    run.crawl("--url", site.url(HERALD, path), *NOW_STEPS)
    site.remove(HERALD, path, status=410)
    try:
        # First sighting: an observation and a pending state; no state record yet.
        confirm_soon = ["-s", "ARCHIVE_REVISIT_CONFIRM_AFTER=1s"]
        first = run.revisit(*NOW_STEPS, *confirm_soon)
        assert states(first) == {"removed_pending": 1}
        assert first["totals"]["sightings_by"] == {"removed_unconfirmed": 1}
        assert first["totals"]["failed_by"] == {"http_410": 1}
        store = run.store()
        assert store.states(identity) == []
        assert reasons(store, identity) == ["removed_unconfirmed"]
        entry = run.entry(identity)
        assert (entry.pending, entry.pending_count, entry.state, entry.step) == (
            "removed",
            1,
            "present",
            0,
        )
        assert entry.last_revisit is not None
        assert entry.next_due == entry.last_revisit + timedelta(seconds=1)
        _wait_until(entry.next_due)

        # The confirming revisit: one `removed` state record with both sightings.
        second = run.revisit(*NOW_STEPS)
        assert states(second) == {"removed": 1}
        assert second["totals"]["sightings_by"] == {"removed": 1}
        [removed] = run.store().states(identity)
        assert (removed["state"], removed["previous_state"]) == ("removed", "present")
        assert [e["http_status"] for e in removed["evidence"]] == [410, 410]
        assert [e["reason"] for e in removed["evidence"]] == ["http_410", "http_410"]
        observed = run.store().observations(identity)
        assert removed["detected_at"] == observed[0]["observed_at"]
        assert removed["confirmed_at"] == removed["evidence"][1]["observed_at"]
        assert (removed["version"], removed["source"]) == (1, HERALD)
        assert reasons(run.store(), identity) == ["removed_unconfirmed", "removed"]
        assert (run.entry(identity).state, run.entry(identity).step) == ("removed", 1)
    finally:
        site.restore(HERALD, path)

    # It comes back: recorded at once as restored, and no new version (the same page).
    third = run.revisit(*NOW_STEPS)
    assert states(third) == {"restored": 1}
    assert third["totals"]["unchanged"] == 1
    store = run.store()
    assert [s["state"] for s in store.states(identity)] == ["removed", "restored"]
    restored = store.states(identity)[1]
    assert restored["previous_state"] == "removed"
    assert [e["http_status"] for e in restored["evidence"]] == [200]
    assert len(store.history(identity)) == 1

    # The last step, then nothing is due any more.
    last = run.revisit(*NOW_STEPS)
    assert last["totals"]["revisited"] == 1
    assert "states_by" not in last["totals"]
    entry = run.entry(identity)
    assert (entry.step, entry.next_due, entry.finished, entry.state) == (3, None, True, "present")
    assert run.revisit(*NOW_STEPS)["totals"].get("revisited", 0) == 0


def test_one_404_followed_by_the_article_records_no_state_change(site: DemoSite, run: Run) -> None:
    path, identity = plain_article(site, 1)
    run.crawl("--url", site.url(HERALD, path), *NOW_STEPS)
    site.remove(HERALD, path, status=404)
    try:
        assert states(run.revisit(*NOW_STEPS)) == {"removed_pending": 1}
    finally:
        site.restore(HERALD, path)
    back = run.scrapy_revisit("-a", f"source={HERALD},meridian-wire", *NOW_STEPS)
    assert states(back) == {"cancelled": 1}
    assert back["sources"][HERALD]["revisited"] == 1
    store = run.store()
    assert store.states(identity) == []
    # The failed sighting stays in the history; the page came back byte for byte, which the
    # run's check log records (a byte-identical page writes nothing of its own).
    assert reasons(store, identity) == ["removed_unconfirmed"]
    checks = [
        c for c in iter_run_checks(store.storage, back["run_id"]) if c["identity_url"] == identity
    ]
    assert [c["reason"] for c in checks] == ["same_html"]
    entry = run.entry(identity)
    assert (entry.state, entry.pending, entry.pending_count, entry.step) == ("present", None, 0, 1)


def test_a_redirect_to_another_story_or_the_front_becomes_redirected(
    site: DemoSite, run: Run
) -> None:
    path, identity = plain_article(site, 2)
    other, other_identity = plain_article(site, 3)
    run.crawl("--url", site.url(HERALD, path), *NOW_STEPS)
    try:
        site.redirect(HERALD, path, other)
        first = run.revisit(*NOW_STEPS)
        assert states(first) == {"redirected_pending": 1}
        assert first["totals"]["skipped_by"] == {"redirect": 1}
        site.redirect(HERALD, path, "/")
        assert states(run.revisit(*NOW_STEPS)) == {"redirected": 1}
    finally:
        site.restore(HERALD, path)
    store = run.store()
    [redirected] = store.states(identity)
    assert (redirected["state"], redirected["previous_state"]) == ("redirected", "present")
    assert [e["final_url"] for e in redirected["evidence"]] == [
        site.url(HERALD, other),
        site.url(HERALD, "/"),
    ]
    assert [e["reason"] for e in redirected["evidence"]] == ["redirect", "redirect"]
    assert reasons(store, identity) == ["redirected_unconfirmed", "redirected"]
    # The story it was sent to is not archived by a revisit of another.
    assert store.history(other_identity) == []


def test_an_article_behind_a_paywall_becomes_paywalled(site: DemoSite, run: Run) -> None:
    path, identity = plain_article(site, 4)
    run.crawl("--url", site.url(HERALD, path), *NOW_STEPS)
    site.paywall(HERALD, path)
    try:
        first = run.revisit(*NOW_STEPS)
        assert states(first) == {"paywalled_pending": 1}
        assert first["totals"]["skipped_by"] == {"not_article": 1}
        assert states(run.revisit(*NOW_STEPS)) == {"paywalled": 1}
    finally:
        site.restore(HERALD, path)
    [paywalled] = run.store().states(identity)
    assert (paywalled["state"], paywalled["previous_state"]) == ("paywalled", "present")
    assert [e["reason"] for e in paywalled["evidence"]] == ["paywall", "paywall"]
    assert [e["http_status"] for e in paywalled["evidence"]] == [200, 200]
    assert len(run.store().history(identity)) == 1


def _wait_until(moment: datetime | None) -> None:
    """Sleep until ``moment`` (at most a second or so in these tests)."""
    assert moment is not None
    delay = (moment - datetime.now(UTC)).total_seconds()
    assert delay < 5
    if delay > 0:
        time.sleep(delay)

"""The reading API on the demo site crawled twice into SeaweedFS (and once into a folder)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from archiver import ArchiverError
from archiver.local import LocalStorage
from archiver.read_filter import ArticleFilter, ReadError, UnknownArticleError, record_time
from archiver.reader import ArchiveReader, open_reader
from crawler.demosite.server import DemoSite, load_manifest
from tests.archive_support import DemoArchive, build_demo_archive
from tests.servers.seaweedfs import SeaweedFS

DOC = Path(__file__).resolve().parent.parent / "docs" / "reading.md"
SOURCES = ["harbour-herald", "le-quotidien", "meridian-wire"]


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite() as running:
        yield running


@pytest.fixture(scope="module")
def seaweed() -> Iterator[SeaweedFS]:
    with SeaweedFS() as server:
        yield server


@pytest.fixture(scope="module")
def demo(
    site: DemoSite, seaweed: SeaweedFS, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoArchive]:
    """The demo site crawled twice (one article edited between) into a fresh S3 bucket."""
    bucket = seaweed.create_bucket("reader")
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("AWS_")]:
            patch.delenv(name)
        for name, value in seaweed.environ().items():
            patch.setenv(name, value)
        tmp = tmp_path_factory.mktemp("reader")
        yield build_demo_archive(site, f"s3://{bucket}/news", tmp, seaweed.environ())


@pytest.fixture(scope="module")
def reader(demo: DemoArchive) -> Iterator[ArchiveReader]:
    with open_reader(demo.uri) as opened:
        yield opened


@pytest.fixture(scope="module")
def french() -> set[str]:
    """The paths of the demo site's French articles."""
    paths = set()
    for spec in load_manifest()["outlets"].values():
        for page in spec["pages"]:
            if page["is_article"] and page["discovered_via"] and page["language"] == "fr-FR":
                paths.add(page["canonical_path"])
    return paths


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def test_sources_from_run_manifests_match_a_scan(reader: ArchiveReader, demo: DemoArchive) -> None:
    assert reader.sources() == SOURCES
    from_runs = reader.source_stats()
    scanned = reader.source_stats(scan=True)
    assert {stats.counted_by for stats in from_runs.values()} == {"runs"}
    assert {stats.counted_by for stats in scanned.values()} == {"scan"}
    counts = {name: (stats.articles, stats.versions) for name, stats in from_runs.items()}
    assert counts == {name: (stats.articles, stats.versions) for name, stats in scanned.items()}
    assert sum(stats.articles for stats in scanned.values()) == len(demo.identities)
    assert sum(stats.versions for stats in scanned.values()) == len(demo.identities) + 1


def test_articles_yield_the_latest_version_of_each_article(
    reader: ArchiveReader, demo: DemoArchive
) -> None:
    latest = {summary.identity_url: summary for summary in reader.articles()}
    assert set(latest) == set(demo.identities)
    edited = latest[demo.edited]
    assert (edited.version, edited.versions) == (2, 2)
    assert edited.headline == demo.edited_headlines[1]
    assert edited.article["headline"] == edited.headline
    assert edited.record["version"] == 2
    assert edited.key.endswith("/v000002.json")
    others = [summary for url, summary in latest.items() if url != demo.edited]
    assert {(summary.version, summary.versions) for summary in others} == {(1, 1)}
    assert edited.to_json()["authors"] == edited.article["authors"]
    assert "record" not in edited.to_json()

    every = list(reader.articles(latest_only=False))
    assert len(every) == len(demo.identities) + 1
    versions = [summary for summary in every if summary.identity_url == demo.edited]
    assert [(v.version, v.headline) for v in versions] == [
        (1, demo.edited_headlines[0]),
        (2, demo.edited_headlines[1]),
    ]


def test_source_language_and_text_filters(
    reader: ArchiveReader, demo: DemoArchive, french: set[str]
) -> None:
    quotidien = list(reader.articles(source="le-quotidien"))
    assert quotidien
    assert {summary.source for summary in quotidien} == {"le-quotidien"}
    two = list(reader.articles(source=["le-quotidien", "meridian-wire"]))
    assert {summary.source for summary in two} == {"le-quotidien", "meridian-wire"}
    assert len(two) == len(demo.identities) - len(list(reader.articles(source="harbour-herald")))

    fr = list(reader.articles(language="fr"))
    assert {path_of(summary.identity_url) for summary in fr} == french
    assert {summary.language for summary in fr} == {"fr-FR"}
    assert list(reader.articles(language="FR-fr")) == fr
    assert list(reader.articles(language="f")) == []

    # "tsunami advisory" is only in version 2, "tsunami warning" only in version 1.
    advisory = " ".join(demo.edited_headlines[1].split()[-2:])
    found = list(reader.articles(text_contains=advisory.upper()))
    assert [summary.identity_url for summary in found] == [demo.edited]
    warning = " ".join(demo.edited_headlines[0].split()[-2:])
    old = [
        summary
        for summary in reader.articles(text_contains=warning, latest_only=False)
        if summary.identity_url == demo.edited
    ]
    assert [summary.version for summary in old] == [1]
    assert list(reader.articles(text_contains="no article says zqxj")) == []


def test_capture_bounds_give_articles_as_they_read_then(
    reader: ArchiveReader, demo: DemoArchive
) -> None:
    first, second = reader.versions(demo.edited)
    between = _between(first["captured_at"], second["captured_at"])
    then = {summary.identity_url: summary for summary in reader.articles(captured_to=between)}
    assert then[demo.edited].version == 1
    assert then[demo.edited].headline == demo.edited_headlines[0]
    after = list(reader.articles(captured_from=between))
    assert [(summary.identity_url, summary.version) for summary in after] == [(demo.edited, 2)]
    day = datetime.fromisoformat(second["captured_at"]).date()
    assert len(list(reader.articles(captured_from=day, captured_to=day))) == len(demo.identities)
    assert list(reader.articles(captured_to=day - timedelta(days=1))) == []


def test_publication_bounds(reader: ArchiveReader, demo: DemoArchive) -> None:
    days = sorted(_published_day(summary.date_published) for summary in reader.articles())
    assert len(days) == len(demo.identities)
    day = days[len(days) // 2]
    same_day = list(reader.articles(published_from=day, published_to=day.isoformat()))
    earlier = list(reader.articles(published_to=day - timedelta(days=1)))
    later = list(reader.articles(published_from=f"{day + timedelta(days=1)}T00:00Z"))
    assert [len(same_day), len(earlier), len(later)] == [
        days.count(day),
        sum(1 for other in days if other < day),
        sum(1 for other in days if other > day),
    ]
    assert earlier
    assert later
    assert {_published_day(summary.date_published) for summary in same_day} == {day}
    edited_day = _published_day(reader.latest(demo.edited)["article"]["date_published"])
    on_edited_day = reader.articles(published_from=edited_day, published_to=edited_day)
    assert demo.edited in {summary.identity_url for summary in on_edited_day}
    with pytest.raises(ReadError, match="publication range is empty"):
        list(reader.articles(published_from="2026-11-28", published_to="2026-11-27"))
    with pytest.raises(ReadError, match="not an ISO 8601"):
        list(reader.articles(captured_from="last tuesday"))


def test_history_lists_both_versions_in_time_order(
    reader: ArchiveReader, demo: DemoArchive
) -> None:
    events = reader.history(demo.edited)
    versions = [event for event in events if event.kind == "version"]
    assert [(event.version, event.headline) for event in versions] == [
        (1, demo.edited_headlines[0]),
        (2, demo.edited_headlines[1]),
    ]
    assert versions[0].at < versions[1].at
    records = reader.versions(demo.edited)
    assert [event.content_sha256 for event in versions] == [
        record["content_sha256"] for record in records
    ]
    assert versions[1].to_json()["key"] == versions[1].key
    assert [event.at for event in events] == sorted(event.at for event in events)


def test_history_with_checks_adds_the_unchanged_refetch(
    reader: ArchiveReader, demo: DemoArchive
) -> None:
    unchanged = next(url for url in demo.identities if url != demo.edited)
    assert [event.kind for event in reader.history(unchanged)] == ["version"]
    events = reader.history(unchanged, include_checks=True)
    assert [event.kind for event in events] == ["version", "check"]
    check = events[1]
    assert check.reason in {"not_modified", "same_html"}
    assert check.version == 1
    assert check.key is not None
    assert demo.second_run["run_id"] in check.key
    assert check.at > events[0].at


def test_as_of_before_between_and_after_the_edit(reader: ArchiveReader, demo: DemoArchive) -> None:
    first, second = reader.versions(demo.edited)
    between = _between(first["captured_at"], second["captured_at"])

    def current(when: datetime | str) -> tuple[int, str] | None:
        record = reader.as_of(demo.edited, when)
        return None if record is None else (record["version"], record["article"]["headline"])

    assert current(between) == (1, demo.edited_headlines[0])
    assert current(first["captured_at"]) == (1, demo.edited_headlines[0])
    assert current(second["captured_at"]) == (2, demo.edited_headlines[1])
    assert current(between.astimezone(UTC).replace(tzinfo=None)) == current(between)
    assert current("2999-01-01T00:00Z") == (2, demo.edited_headlines[1])
    before = datetime.fromisoformat(first["captured_at"]) - timedelta(microseconds=1)
    assert current(before) is None


def test_version_and_raw_html(reader: ArchiveReader, demo: DemoArchive) -> None:
    for number, headline in enumerate(demo.edited_headlines, start=1):
        record = reader.version(demo.edited, number)
        assert record["version"] == number
        html = reader.raw_html(demo.edited, number)
        assert hashlib.sha256(html).hexdigest() == record["html_sha256"]
        assert headline in html.decode("utf-8")
    with pytest.raises(ReadError, match="no version 3"):
        reader.version(demo.edited, 3)
    with pytest.raises(ReadError, match="start at 1"):
        reader.version(demo.edited, 0)


def test_urls_resolve_to_the_identity(reader: ArchiveReader, demo: DemoArchive) -> None:
    slashed = next(url for url in demo.identities if url.endswith("/") and url.count("/") > 3)
    for given, identity in (
        (demo.edited + "?utm_source=rss&utm_medium=feed", demo.edited),
        (demo.edited + "#comments", demo.edited),
        (demo.edited + "/", demo.edited),
        (slashed.rstrip("/"), slashed),
        (slashed.replace("http://", "HTTP://"), slashed),
    ):
        assert reader.resolve(given) == identity, given
    assert len(reader.history(demo.edited + "/?fbclid=x")) >= 2
    with pytest.raises(UnknownArticleError, match="no article archived"):
        reader.history(demo.edited.replace("earthquake", "volcano"))
    with pytest.raises(ArchiverError):
        reader.as_of("http://127.0.0.1:1/nothing", datetime.now(UTC))


def test_articles_stream_one_folder_at_a_time(
    site: DemoSite, demo: DemoArchive, tmp_path: Path
) -> None:
    """A folder archive gives the same answers, and the first article comes before the rest."""
    local = build_demo_archive(site, str(tmp_path / "archive"), tmp_path)
    with open_reader(local.uri) as folder, open_reader(demo.uri) as bucket:
        assert folder.sources() == bucket.sources()
        assert {s.identity_url: (s.version, s.headline) for s in folder.articles()} == {
            s.identity_url: (s.version, s.headline) for s in bucket.articles()
        }

    counting = _CountingStorage(tmp_path / "archive")
    streamed = ArchiveReader(counting, read_ahead=1).articles()
    next(streamed)
    # Only the first folder's latest version was read; the rest of the archive was not.
    assert counting.gets == 1
    assert sum(1 for _ in streamed) == len(local.identities) - 1
    assert counting.gets == len(local.identities)


def test_article_filter_bounds() -> None:
    record: dict[str, Any] = {
        "source": "s",
        "captured_at": "2026-11-27T23:59:59.999999Z",
        "article": {"language": "en_GB", "date_published": "2026-11-27", "body": "Ça va"},
    }
    assert ArticleFilter.build(captured_to=date(2026, 11, 27)).matches(record)
    assert ArticleFilter.build(captured_to="2026-11-27T23:59:59.999999Z").matches(record)
    assert not ArticleFilter.build(captured_to="2026-11-27T23:59:59Z").matches(record)
    assert not ArticleFilter.build(captured_from="2026-11-28").matches(record)
    assert ArticleFilter.build(published_from="2026-11-27T00:00Z").matches(record)
    assert ArticleFilter.build(language="en-gb", text_contains="ÇA").matches(record)
    assert not ArticleFilter.build(language="en-US").matches(record)
    assert not ArticleFilter.build(published_to="2026-11-26").matches(record)
    no_date = {**record, "article": {}}
    assert not ArticleFilter.build(published_from="2000-01-01").matches(no_date)


def test_doc_examples_run(demo: DemoArchive) -> None:
    """Run the Python blocks of docs/reading.md, in order, against the demo archive."""
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) >= 4
    code = "\n".join(blocks)
    placeholders = ('ARCHIVE_URI = "s3://news-archive/prod"', 'URL = "https://news.example/')
    assert all(placeholder in code for placeholder in placeholders)
    code = code.replace(placeholders[0], f"ARCHIVE_URI = {demo.uri!r}")
    code = re.sub(r'URL = "https://news\.example/[^"]*"', f"URL = {demo.edited!r}", code)
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        # The documentation's own examples, run as a reader would run them.
        exec(compile(code, str(DOC), "exec"), {"__name__": "reading_doc"})  # noqa: S102
    printed = output.getvalue()
    assert str(SOURCES) in printed
    assert demo.edited_headlines[0] in printed
    assert "bytes of HTML in version 2" in printed


def _published_day(value: str | None) -> date:
    moment = record_time(value)
    assert moment is not None, value
    return moment.date()


def _between(earlier: str, later: str) -> datetime:
    start, end = datetime.fromisoformat(earlier), datetime.fromisoformat(later)
    return start + (end - start) / 2


class _CountingStorage(LocalStorage):
    """A real folder storage that counts the objects it reads."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.gets = 0

    def get(self, key: str) -> bytes | None:
        self.gets += 1
        return super().get(key)

"""Fetch hints let the crawler ask conditionally and skip extraction of identical pages."""

from __future__ import annotations

from archiver import open_store

from .support import CaptureFactory

HEADERS = {
    "Content-Type": "text/html",
    "ETag": '"v1"',
    "Last-Modified": "Fri, 27 Nov 2026 10:00:00 GMT",
}


def test_an_unknown_article_has_no_hints(archive_uri: str) -> None:
    with open_store(archive_uri) as store:
        assert store.fetch_hints("https://news.example/world/never-seen") is None


def test_hints_follow_the_last_fetch_and_observations_say_why(
    archive_uri: str, make_capture: CaptureFactory
) -> None:
    with open_store(archive_uri) as store:
        first = make_capture(headers=HEADERS, html=b"<html>first</html>")
        store.archive(first)
        hints = store.fetch_hints(first.identity_url)
        assert hints is not None
        assert (hints.version, hints.etag, hints.last_modified) == (
            1,
            '"v1"',
            "Fri, 27 Nov 2026 10:00:00 GMT",
        )
        assert hints.html_sha256 is not None

        # A 304: the observation confirms version 1 and keeps the validators it was asked with.
        not_modified = make_capture(
            headers={"ETag": '"v1"'}, html=b"", article={}, captured_at="2026-11-28T05:00:00Z"
        )
        result = store.observe(not_modified, hints, "not_modified")
        assert (result.outcome, result.version) == ("unchanged", 1)
        observation = store.observations(first.identity_url)[-1]
        assert observation["reason"] == "not_modified"
        assert observation["html_sha256"] == hints.html_sha256
        assert observation["http"] == {"status": 200, "etag": '"v1"'}

        # A new ETag seen on an unchanged fetch becomes the validator of the next request.
        renewed = make_capture(
            headers={"ETag": '"v1b"'},
            html=b"<html>ads moved</html>",
            captured_at="2026-11-28T06:00:00Z",
        )
        assert store.archive(renewed).outcome == "unchanged"
        later = store.fetch_hints(first.identity_url)
        assert later is not None
        assert later.etag == '"v1b"'
        assert later.last_modified is None
        assert later.html_sha256 != hints.html_sha256
        assert len(store.history(first.identity_url)) == 1

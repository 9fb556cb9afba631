"""Content hashing, header filtering and record building."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from archiver import CaptureError, content_sha256
from archiver.records import (
    CONTENT_FIELDS,
    canonical_json,
    compact_utc,
    content_fields,
    encode_record,
    gzip_bytes,
    iso_utc,
    normalise_text,
    parse_time,
    safe_headers,
)

from .support import sample_article


def test_content_hash_is_sha256_of_canonical_json_of_the_content_fields() -> None:
    article = sample_article()
    expected = json.dumps(
        {name: article[name] for name in CONTENT_FIELDS},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")
    assert content_sha256(article) == hashlib.sha256(expected).hexdigest()


def test_fetch_dependent_fields_do_not_change_the_content_hash() -> None:
    base = content_sha256(sample_article())
    assert content_sha256(sample_article(url="https://news.example/amp/1", word_count=99)) == base
    assert content_sha256({**sample_article(), "extracted_by": "x"}) == base


def test_whitespace_noise_does_not_change_the_content_hash() -> None:
    base = content_sha256(sample_article())
    noisy = sample_article(
        headline="  Ceasefire   talks\tresume in Geneva \n",
        body="Delegations met on Friday.  \r\n\r\n\n   The talks are expected to last a week.\n",
        authors=["Ana  Ruiz ", "", "Tom Okafor"],
        description="Negotiators return to the table.\u00a0",
    )
    assert content_sha256(noisy) == base


def test_unicode_normal_forms_hash_alike() -> None:
    composed = sample_article(headline="Caf\u00e9 talks")
    decomposed = sample_article(headline="Cafe\u0301 talks")
    assert content_sha256(composed) == content_sha256(decomposed)


@pytest.mark.parametrize(
    "change",
    [
        {"body": "Delegations met on Friday.\nThe talks are expected to last two weeks."},
        {"body": "Delegations met on Friday. The talks are expected to last a week."},
        {"headline": "Ceasefire talks collapse in Geneva"},
        {"authors": ["Ana Ruiz"]},
        {"date_modified": "2026-11-28T10:00:00+01:00"},
        {"tags": ["diplomacy"]},
        {"canonical_url": "https://news.example/world/ceasefire-talks-2"},
        {"images": [{"src": "https://news.example/img/geneva.jpg", "caption": "Delegates."}]},
    ],
)
def test_a_change_a_reader_would_notice_changes_the_hash(change: dict[str, object]) -> None:
    assert content_sha256(sample_article(**change)) != content_sha256(sample_article())


def test_missing_and_empty_fields_are_the_same_content() -> None:
    sparse = {"headline": "H", "body": "B"}
    explicit: dict[str, Any] = {
        "headline": "H",
        "body": "B",
        "authors": [],
        "tags": None,
        "description": " ",
    }
    assert content_sha256(sparse) == content_sha256(explicit)
    assert content_fields(sparse)["images"] == []
    assert content_fields(sparse)["section"] is None


def test_image_fields_outside_the_definition_are_ignored() -> None:
    image = sample_article()["images"][0]
    with_extra = sample_article(images=[{**image, "width": 640}])
    assert content_sha256(with_extra) == content_sha256(sample_article())


def test_normalise_text_keeps_paragraph_breaks() -> None:
    assert normalise_text(" a  b \n\n c\td \n") == "a b\nc d"


def test_non_json_article_is_a_capture_error() -> None:
    with pytest.raises(CaptureError):
        canonical_json({"body": object()})
    with pytest.raises(CaptureError):
        encode_record({"value": float("nan")})


def test_credential_headers_are_dropped_and_names_lowered() -> None:
    kept = safe_headers(
        {
            "Content-Type": "text/html",
            "Set-Cookie": "a=1",
            "Cookie": "b=2",
            "Authorization": "Bearer x",
            "Proxy-Authorization": "Basic y",
            "X-Amz-Security-Token": "z",
            "X-Api-Key": "k",
            "Vary": "Accept",
            "vary": "Cookie",
        }
    )
    assert kept == {"content-type": "text/html", "vary": "Accept, Cookie"}


def test_gzip_is_reproducible_and_lossless() -> None:
    html = "<p>caf\u00e9</p>".encode() * 100
    assert gzip_bytes(html) == gzip_bytes(html)
    assert gzip.decompress(gzip_bytes(html)) == html


def test_times_are_normalised_to_utc() -> None:
    moment = parse_time("2026-11-28T04:40:12.5+01:00")
    assert moment == datetime(2026, 11, 28, 3, 40, 12, 500000, tzinfo=UTC)
    assert iso_utc(moment) == "2026-11-28T03:40:12.500000Z"
    assert compact_utc(moment) == "20261128T034012.500000Z"
    assert parse_time("2026-11-28T03:40:12") == datetime(2026, 11, 28, 3, 40, 12, tzinfo=UTC)
    with pytest.raises(CaptureError):
        parse_time("yesterday")

"""The key layout and the checks that keep keys inside the archive root."""

from __future__ import annotations

import hashlib

import pytest

from archiver import InvalidKeyError
from archiver.keys import (
    article_id,
    article_prefix,
    check_key,
    check_prefix,
    html_key,
    observation_key,
    parse_version,
    version_key,
)

URL = "https://news.example/world/ceasefire-talks"


def test_article_id_is_the_first_32_hex_digits_of_sha256() -> None:
    assert article_id(URL) == hashlib.sha256(URL.encode()).hexdigest()[:32]
    assert article_id(URL) != article_id(URL + "?page=2")


def test_every_key_of_an_article_lives_under_its_prefix() -> None:
    aid = article_id(URL)
    prefix = article_prefix(aid)
    assert prefix == f"articles/{aid[:2]}/{aid}/"
    assert version_key(aid, 7) == f"{prefix}v000007.json"
    assert html_key(aid, "ab" * 32) == f"{prefix}html/{'ab' * 32}.html.gz"
    observed = observation_key(aid, "20261128T034012.123456Z", "0badcafe")
    assert observed == f"{prefix}obs/20261128T034012.123456Z-0badcafe.json"


def test_version_keys_sort_in_version_order() -> None:
    aid = article_id(URL)
    numbers = [1, 2, 9, 10, 99, 100, 999_999]
    assert sorted(version_key(aid, n) for n in numbers) == [version_key(aid, n) for n in numbers]


def test_parse_version_reads_only_version_records() -> None:
    aid = article_id(URL)
    assert parse_version(version_key(aid, 12)) == 12
    assert parse_version(version_key(aid, 1_234_567)) == 1_234_567
    assert parse_version(html_key(aid, "0" * 64)) is None
    assert parse_version(f"{article_prefix(aid)}obs/v000001.json.tmp") is None


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/etc/passwd",
        "../outside",
        "articles/../../outside",
        "articles/./x",
        "articles//x",
        "articles\\x",
        "articles/x\x00y",
        "articles/x\ny",
        "articles/.tmp-123-v000001.json",
        "articles/",
    ],
)
def test_unsafe_keys_are_refused(key: str) -> None:
    with pytest.raises(InvalidKeyError):
        check_key(key)


def test_safe_keys_and_prefixes_pass() -> None:
    assert check_key("articles/ab/x/v000001.json") == "articles/ab/x/v000001.json"
    assert check_prefix("") == ""
    assert check_prefix("articles/ab/") == "articles/ab/"
    assert check_prefix("articles/a") == "articles/a"
    with pytest.raises(InvalidKeyError):
        check_prefix("articles//")
    with pytest.raises(InvalidKeyError):
        check_prefix("../")


def test_article_prefix_refuses_what_is_not_an_id() -> None:
    with pytest.raises(InvalidKeyError):
        article_prefix("../../etc")
    with pytest.raises(ValueError, match="start at 1"):
        version_key(article_id(URL), 0)

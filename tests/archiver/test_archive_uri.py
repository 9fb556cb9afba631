"""ARCHIVE_URI parsing, opening, and the S3 client settings derived from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from archiver import ArchiveURIError, open_store
from archiver.local import LocalStorage
from archiver.s3 import S3Storage, addressing_style, make_client
from archiver.uri import ArchiveLocation, parse_archive_uri


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("archive", ArchiveLocation("file", path=Path("archive"))),
        ("/data/archive", ArchiveLocation("file", path=Path("/data/archive"))),
        ("file:///data/archive", ArchiveLocation("file", path=Path("/data/archive"))),
        (
            "file://localhost/data/my%20archive",
            ArchiveLocation("file", path=Path("/data/my archive")),
        ),
        ("s3://news-bucket", ArchiveLocation("s3", bucket="news-bucket")),
        ("s3://news-bucket/", ArchiveLocation("s3", bucket="news-bucket")),
        (
            "s3://news-bucket/archive/v1/",
            ArchiveLocation("s3", bucket="news-bucket", prefix="archive/v1"),
        ),
    ],
)
def test_supported_forms_parse(uri: str, expected: ArchiveLocation) -> None:
    assert parse_archive_uri(uri) == expected


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "   ",
        "s3://",
        "s3://ab",
        "s3://Upper-Case",
        "s3://bucket..name",
        "s3:bucket/prefix",
        "s3://bucket/../escape",
        "s3://bucket/a//b",
        "s3://bucket/prefix?versionId=1",
        "s3://bucket/prefix#frag",
        "file://otherhost/data",
        "file:relative",
        "gs://bucket/prefix",
        "https://bucket.example/prefix",
        "dir\x00name",
    ],
)
def test_bad_uris_are_refused(uri: str) -> None:
    with pytest.raises(ArchiveURIError):
        parse_archive_uri(uri)


def test_credentials_in_a_uri_are_refused_without_being_echoed() -> None:
    with pytest.raises(ArchiveURIError) as caught:
        parse_archive_uri("s3://AKIDEXAMPLE:wJalrXUtnFEMI@bucket/prefix")
    assert "wJalrXUtnFEMI" not in str(caught.value)
    assert "AKIDEXAMPLE" not in str(caught.value)


def test_a_file_where_the_folder_should_be_is_refused(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("not a folder")
    with pytest.raises(ArchiveURIError):
        open_store(str(tmp_path / "taken"))


def test_local_uri_opens_a_folder_store_lazily(tmp_path: Path) -> None:
    with open_store(f"file://{tmp_path}/archive") as store:
        assert isinstance(store.storage, LocalStorage)
        assert store.uri == (tmp_path / "archive").as_uri()
        assert store.latest("https://news.example/a") is None
    # Reading an empty archive creates nothing.
    assert not (tmp_path / "archive").exists()


def test_s3_uri_opens_a_bucket_store() -> None:
    with open_store("s3://news-bucket/archive/") as store:
        assert isinstance(store.storage, S3Storage)
        assert store.uri == "s3://news-bucket/archive"
        assert store.storage.prefix == "archive/"


@pytest.mark.parametrize(
    ("environ", "style"),
    [
        ({}, None),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:8333"}, "path"),
        ({"AWS_ENDPOINT_URL": "http://[::1]:8333"}, "path"),
        ({"AWS_ENDPOINT_URL_S3": "http://localhost:9000"}, "path"),
        ({"AWS_ENDPOINT_URL": "http://seaweedfs:8333"}, "path"),
        ({"AWS_ENDPOINT_URL": "https://s3.eu-west-1.amazonaws.com"}, None),
        (
            {"AWS_ENDPOINT_URL": "http://127.0.0.1:8333", "AWS_S3_ADDRESSING_STYLE": "virtual"},
            "virtual",
        ),
        ({"AWS_S3_ADDRESSING_STYLE": "Path"}, "path"),
    ],
)
def test_addressing_style(environ: dict[str, str], style: str | None) -> None:
    assert addressing_style(environ) == style


def test_client_uses_path_style_and_sigv4_for_a_loopback_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    client = make_client()
    try:
        assert client.meta.endpoint_url == "http://127.0.0.1:9"
        url = client.generate_presigned_url("get_object", Params={"Bucket": "b-1", "Key": "k"})
        assert url.startswith("http://127.0.0.1:9/b-1/k?")
        assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url
    finally:
        client.close()

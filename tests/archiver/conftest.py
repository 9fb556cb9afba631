"""Fixtures for the archiver tests: real S3 servers on loopback and sample captures."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archiver import Capture
from tests.servers.seaweedfs import SeaweedFS

from .support import ACCESS_KEY, BACKENDS, SECRET_KEY, CaptureFactory, new_bucket, sample_article


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Give boto3 fixed dummy credentials and nothing from the machine's own AWS setup."""
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_S3_ADDRESSING_STYLE",
        "AWS_MAX_ATTEMPTS",
        "AWS_RETRY_MODE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="module")
def seaweedfs() -> Iterator[str]:
    """Run one SeaweedFS server for the test module; yield its S3 endpoint."""
    server = SeaweedFS(access_key=ACCESS_KEY, secret_key=SECRET_KEY)
    with server:
        pid = server.pid
        yield server.endpoint_url
    # Stopping leaves no process and no socket behind.
    assert pid is not None
    assert not Path(f"/proc/{pid}").exists()
    grpc_ports = [port for name, port in server.ports.items() if name.endswith(".grpc")]
    assert [p for port in grpc_ports for p in Path("/tmp").glob(f"seaweedfs-*-{port}.sock")] == []


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    """Run one moto S3 server for the test module; yield its endpoint."""
    server_module = pytest.importorskip("moto.server")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(params=BACKENDS)
def archive_uri(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """Return the URI of an empty archive: a fresh folder, or a fresh bucket on a real server."""
    backend: str = request.param
    if backend == "local":
        return str(tmp_path / "archive")
    endpoint: str = request.getfixturevalue(backend if backend == "seaweedfs" else "moto_server")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    return f"s3://{new_bucket(endpoint)}/news"


@pytest.fixture
def closed_port() -> int:
    """Return a loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def make_capture() -> CaptureFactory:
    """Return a factory of captures of one article; keywords override fields."""

    def build(
        *,
        body: str | None = None,
        html: bytes = b"<html><body><p>Delegations met on Friday.</p></body></html>",
        identity_url: str = "https://news.example/world/ceasefire-talks",
        captured_at: str = "2026-11-28T03:40:12.123456Z",
        article: dict[str, Any] | None = None,
        **changes: Any,
    ) -> Capture:
        if article is None:
            article = sample_article() if body is None else sample_article(body=body)
        values: dict[str, Any] = {
            "source": "news-example",
            "identity_url": identity_url,
            "url": article.get("url", "https://news.example/world/ceasefire-talks"),
            "requested_url": "https://news.example/r/123",
            "canonical_url": article.get("canonical_url"),
            "captured_at": captured_at,
            "status": 200,
            "headers": {
                "Content-Type": "text/html; charset=utf-8",
                "Set-Cookie": "session=abc",
                "X-Cache": "HIT",
            },
            "html": html,
            "article": article,
            "provenance": {"discovered_via": "feed", "discovered_from": "https://news.example/rss"},
            "software": {"newsarchive": "0.1.0", "trafilatura": "2.3.0"},
        }
        values.update(changes)
        return Capture(**values)

    return build

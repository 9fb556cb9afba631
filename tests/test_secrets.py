"""Credentials never reach logs, manifests, records or local state, even at DEBUG."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.demosite.server import DemoSite
from tests.archive_support import CRAWL_SETTINGS
from tests.servers.seaweedfs import SeaweedFS

SECRET = f"canary-secret-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def seaweed() -> Iterator[SeaweedFS]:
    with SeaweedFS(secret_key=SECRET) as server:
        yield server


def every_object(seaweed: SeaweedFS, bucket: str) -> Iterator[tuple[str, bytes]]:
    client = seaweed.client()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            yield item["Key"], client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    client.close()


def readable(data: bytes) -> bytes:
    """Return the bytes as stored and, for gzip, decompressed too."""
    if data[:2] == b"\x1f\x8b":
        return data + gzip.decompress(data)
    return data


def test_a_crawl_at_debug_level_writes_the_secret_key_nowhere(
    seaweed: SeaweedFS, tmp_path: Path
) -> None:
    bucket = seaweed.create_bucket("secrets")
    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(seaweed.environ(), ARCHIVE_STATE_DIR=str(state), ARCHIVE_LOG_LEVEL="DEBUG")
    with DemoSite() as site:
        sources = site.write_sources(tmp_path / "sources.toml")
        result = subprocess.run(
            [
                *(sys.executable, "-m", "crawler.cli", "crawl", "--sources", str(sources)),
                *("--archive", f"s3://{bucket}/news", "--summary", str(tmp_path / "s.json")),
                *CRAWL_SETTINGS,
            ],
            env=env,
            capture_output=True,
            timeout=300,
            check=False,
        )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    needle = SECRET.encode()
    # The crawl did log a lot, and did talk to S3 with the key: the search means something.
    assert b"DEBUG" in result.stderr
    assert b"botocore" in result.stderr
    assert needle not in result.stdout
    assert needle not in result.stderr
    objects = dict(every_object(seaweed, bucket))
    assert any(key.startswith("news/runs/") for key in objects)
    assert any(key.startswith("news/articles/") for key in objects)
    for key, data in objects.items():
        assert needle not in readable(data), key
    local = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert any(path.name == "s.json" for path in local)
    for path in local:
        assert needle not in readable(path.read_bytes()), path

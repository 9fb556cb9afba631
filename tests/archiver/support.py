"""Helpers shared by the archiver tests: credentials, bucket setup and a sample article."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from archiver import Capture

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

ACCESS_KEY = "archiver-test-key"
SECRET_KEY = "archiver-test-secret-do-not-log"
BACKENDS = ("local", "seaweedfs", "moto")

CaptureFactory = Callable[..., Capture]


def s3_client(endpoint_url: str) -> S3Client:
    """Return a plain boto3 client for setting up and inspecting a bucket."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name="us-east-1",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def new_bucket(endpoint_url: str) -> str:
    """Create a bucket with a fresh name and return the name."""
    name = f"test-{uuid.uuid4().hex[:16]}"
    client = s3_client(endpoint_url)
    try:
        client.create_bucket(Bucket=name)
    finally:
        client.close()
    return name


def sample_article(**changes: Any) -> dict[str, Any]:
    """Return an extracted article as ``Article.to_dict()`` gives it."""
    article: dict[str, Any] = {
        "url": "https://news.example/world/2026/11/27/ceasefire-talks",
        "headline": "Ceasefire talks resume in Geneva",
        "body": "Delegations met on Friday.\nThe talks are expected to last a week.",
        "canonical_url": "https://news.example/world/ceasefire-talks",
        "section": "World",
        "authors": ["Ana Ruiz", "Tom Okafor"],
        "date_published": "2026-11-27T09:00:00+01:00",
        "date_modified": None,
        "language": "en",
        "description": "Negotiators return to the table.",
        "images": [
            {
                "src": "https://news.example/img/geneva.jpg",
                "caption": "Delegates arrive at the Palais des Nations.",
                "credit": "Jean Dupont/AP",
                "alt": "Delegates walking",
                "role": "lead",
            }
        ],
        "tags": ["diplomacy", "ceasefire"],
        "site_name": "News Example",
        "word_count": 12,
    }
    article.update(changes)
    return article

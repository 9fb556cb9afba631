"""docs/compose.yaml: newsarchive beside SeaweedFS, with no secret in the file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import yaml

from tests.servers.seaweedfs import SeaweedFS

ROOT = Path(__file__).resolve().parent.parent
SECRET_NAME = re.compile(r"secret|password|passwd|token|access_?key|private_?key", re.IGNORECASE)
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?[-?][^}]*)?\}")
EMBEDDED_SECRET = re.compile(r"\"(\w*(?:secret|password|token|key)\w*)\"\s*:\s*\"([^\"]*)\"", re.I)
AWS_LIKE = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b|(?<![\w/+=])[A-Za-z0-9/+=]{40}(?![\w/+=])")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "docs" / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {str(name): str(value) for name, value in env.items()}


def interpolate(text: str, variables: dict[str, str]) -> str:
    """Fill in ``${NAME}``, ``${NAME:?message}`` and ``${NAME:-default}`` as Compose does."""
    return INTERPOLATION.sub(lambda m: variables[m.group(1)], text)


def secret_like_values(node: Any, key: str = "") -> list[str]:
    """Return values that look like real credentials rather than ``${VARIABLE}`` references."""
    found: list[str] = []
    if isinstance(node, dict):
        for name, value in node.items():
            found += secret_like_values(value, str(name))
    elif isinstance(node, list):
        for item in node:
            found += secret_like_values(item, key)
    elif isinstance(node, str):
        if SECRET_NAME.search(key) and not INTERPOLATION.fullmatch(node):
            found.append(node)
        found += [v for _, v in EMBEDDED_SECRET.findall(node) if not INTERPOLATION.fullmatch(v)]
        found += AWS_LIKE.findall(node)
    return found


def s3_port(seaweedfs: dict[str, Any]) -> int:
    command = seaweedfs["command"]
    words = command.split() if isinstance(command, str) else command
    ports = [int(w.split("=", 1)[1]) for w in words if w.startswith("-s3.port=")]
    return ports[0] if ports else 8333


def test_compose_runs_newsarchive_beside_seaweedfs(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"seaweedfs", "newsarchive", "createbucket"} <= set(services)
    seaweedfs, newsarchive = services["seaweedfs"], services["newsarchive"]
    assert seaweedfs["image"].startswith("chrislusf/seaweedfs:")
    assert "healthz" in " ".join(seaweedfs["healthcheck"]["test"])
    assert str(s3_port(seaweedfs)) in " ".join(seaweedfs["healthcheck"]["test"])
    assert newsarchive["depends_on"]["seaweedfs"]["condition"] == "service_healthy"
    assert newsarchive["depends_on"]["createbucket"]["condition"] == (
        "service_completed_successfully"
    )
    assert newsarchive["build"]["context"] == ".."


def test_compose_points_newsarchive_at_the_seaweedfs_service(compose: dict[str, Any]) -> None:
    services = compose["services"]
    env = environment(services["newsarchive"])
    assert urlsplit(env["ARCHIVE_URI"]).scheme == "s3"
    endpoint = urlsplit(env["AWS_ENDPOINT_URL"])
    assert (endpoint.hostname, endpoint.port) == ("seaweedfs", s3_port(services["seaweedfs"]))
    # The bucket job reads the same ARCHIVE_URI, so it creates the bucket newsarchive writes to.
    assert environment(services["createbucket"]) == env


def test_compose_holds_no_secrets(compose: dict[str, Any]) -> None:
    assert secret_like_values(compose) == []
    env = environment(compose["services"]["newsarchive"])
    assert INTERPOLATION.fullmatch(env["AWS_SECRET_ACCESS_KEY"])
    assert INTERPOLATION.fullmatch(env["AWS_ACCESS_KEY_ID"])


def test_secret_detection_catches_inline_credentials() -> None:
    assert secret_like_values({"environment": {"AWS_SECRET_ACCESS_KEY": "hunter2"}}) == ["hunter2"]
    assert secret_like_values({"content": '{"secretKey": "hunter2"}'}) == ["hunter2"]
    assert secret_like_values(["AKIAABCDEFGHIJKLMNOP"]) == ["AKIAABCDEFGHIJKLMNOP"]
    assert secret_like_values({"AWS_SECRET_ACCESS_KEY": "${AWS_SECRET_ACCESS_KEY:?}"}) == []


def test_seaweedfs_accepts_exactly_the_credentials_newsarchive_uses(
    compose: dict[str, Any],
) -> None:
    seaweedfs = compose["services"]["seaweedfs"]
    (mount,) = seaweedfs["configs"]
    assert f"-s3.config={mount['target']}" in seaweedfs["command"]
    given = {"AWS_ACCESS_KEY_ID": "key-from-env", "AWS_SECRET_ACCESS_KEY": "secret-from-env"}
    identities = json.loads(interpolate(compose["configs"][mount["source"]]["content"], given))
    env = environment(compose["services"]["newsarchive"])
    client = (
        interpolate(env["AWS_ACCESS_KEY_ID"], given),
        interpolate(env["AWS_SECRET_ACCESS_KEY"], given),
    )
    credentials = [
        (c["accessKey"], c["secretKey"])
        for identity in identities["identities"]
        for c in identity["credentials"]
    ]
    assert credentials == [("key-from-env", "secret-from-env")] == [client]


def test_the_bucket_job_creates_the_bucket_once(compose: dict[str, Any], tmp_path: Path) -> None:
    job = compose["services"]["createbucket"]
    assert job["entrypoint"] == ["python", "-c"]
    (code,) = job["command"]
    bucket = f"container-{uuid.uuid4().hex[:12]}"
    with SeaweedFS() as server:
        env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
        env.update(server.environ())
        env.update(
            ARCHIVE_URI=f"s3://{bucket}/archive",
            AWS_CONFIG_FILE=str(tmp_path / "no-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
            AWS_EC2_METADATA_DISABLED="true",
        )
        outputs = []
        for _ in range(2):
            result = subprocess.run(
                [sys.executable, "-c", code],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert result.returncode == 0, result.stderr
            outputs.append(result.stdout.strip())
        s3 = boto3.client(
            "s3",
            endpoint_url=server.endpoint_url,
            aws_access_key_id=server.access_key,
            aws_secret_access_key=server.secret_key,
            region_name="us-east-1",
        )
        names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert outputs == [f"bucket {bucket} created", f"bucket {bucket} exists"]
    assert bucket in names

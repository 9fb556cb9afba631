"""The storage contract, run against a local folder, SeaweedFS and moto."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from archiver import ConflictError, InvalidKeyError, StorageError, open_store
from archiver.local import LocalStorage
from archiver.s3 import S3Storage
from archiver.storage import Storage
from archiver.uri import open_storage

from .support import SECRET_KEY, new_bucket, s3_client

KEYS = ["a/x", "a/y/z", "a0", "b/\u00e9t\u00e9.json", "b/ete.json", "ab"]
# Whole-key order puts "a-c" and "a.b" before "a/x" ("-" < "." < "/"). SeaweedFS lists folder by
# folder and puts "a/x" first; the archive layout never has such neighbours.
TRICKY_KEYS = ["a.b", "a/x", "a/y/z", "a-c", "a0", "a/b.c/d", "a/b/c", "a/b0"]


@pytest.fixture
def storage(archive_uri: str) -> Storage:
    return open_storage(archive_uri)


def test_get_returns_none_for_a_missing_object(storage: Storage) -> None:
    assert storage.get("articles/00/missing.json") is None
    assert not storage.exists("articles/00/missing.json")


def test_put_then_get_round_trips(storage: Storage) -> None:
    storage.put("x/one.json", b'{"a": 1}', content_type="application/json")
    assert storage.get("x/one.json") == b'{"a": 1}'
    assert storage.exists("x/one.json")
    storage.put("x/one.json", b"{}", content_type="application/json")
    assert storage.get("x/one.json") == b"{}"


def test_conditional_put_never_overwrites(storage: Storage) -> None:
    storage.put("x/once.json", b"first", content_type="text/plain", if_none_match=True)
    with pytest.raises(ConflictError, match=re.escape("x/once.json")):
        storage.put("x/once.json", b"second", content_type="text/plain", if_none_match=True)
    assert storage.get("x/once.json") == b"first"


def test_list_yields_keys_in_utf8_order(storage: Storage) -> None:
    for key in KEYS:
        storage.put(key, key.encode(), content_type="text/plain")
    expected = sorted(KEYS, key=lambda key: key.encode("utf-8"))
    assert list(storage.list("")) == expected
    assert list(storage.list("a")) == [key for key in expected if key.startswith("a")]
    assert list(storage.list("a/")) == ["a/x", "a/y/z"]
    assert list(storage.list("b/")) == ["b/ete.json", "b/\u00e9t\u00e9.json"]
    assert list(storage.list("nothing/")) == []


def test_local_list_matches_s3_whole_key_order(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    for key in TRICKY_KEYS:
        storage.put(key, b"x", content_type="text/plain")
    assert list(storage.list("")) == sorted(TRICKY_KEYS)
    assert list(storage.list("a/b")) == sorted(k for k in TRICKY_KEYS if k.startswith("a/b"))


def test_moto_list_matches_s3_whole_key_order(moto_server: str) -> None:
    bucket = new_bucket(moto_server)
    client = s3_client(moto_server)
    try:
        storage = S3Storage(client, bucket)
        for key in TRICKY_KEYS:
            storage.put(key, b"x", content_type="text/plain")
        assert list(storage.list("")) == sorted(TRICKY_KEYS)
    finally:
        client.close()


@pytest.mark.parametrize("key", ["../escape", "/abs", "a\\b", "a/../../b", "a\x00b", ""])
def test_unsafe_keys_are_refused_by_every_operation(storage: Storage, key: str) -> None:
    with pytest.raises(InvalidKeyError):
        storage.put(key, b"x", content_type="text/plain")
    with pytest.raises(InvalidKeyError):
        storage.get(key)
    with pytest.raises(InvalidKeyError):
        storage.exists(key)


def test_local_writes_stay_inside_the_root_and_leave_no_temp_files(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    storage = LocalStorage(root)
    with pytest.raises(InvalidKeyError):
        storage.put("../outside.json", b"x", content_type="application/json")
    storage.put("a/b.json", b"x", content_type="application/json", if_none_match=True)
    with pytest.raises(ConflictError):
        storage.put("a/b.json", b"y", content_type="application/json", if_none_match=True)
    assert not (tmp_path / "outside.json").exists()
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == ["a", "a/b.json"]


def test_local_list_skips_writes_in_flight(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.put("a/v000001.json", b"x", content_type="application/json")
    (tmp_path / "a" / ".tmp-0123-v000002.json").write_bytes(b"partial")
    assert list(storage.list("a/")) == ["a/v000001.json"]


def test_local_conditional_put_is_atomic_between_processes(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from archiver.errors import ConflictError\n"
        "from archiver.local import LocalStorage\n"
        "storage = LocalStorage(sys.argv[1])\n"
        "sys.stdout.write('ready\\n'); sys.stdout.flush(); sys.stdin.readline()\n"
        "try:\n"
        "    storage.put('k/v000001.json', sys.argv[2].encode(), content_type='text/plain',"
        " if_none_match=True)\n"
        "    print('won')\n"
        "except ConflictError:\n"
        "    print('lost')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path), f"writer-{n}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for n in range(6)
    ]
    for process in processes:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    outputs = [process.communicate()[0].strip() for process in processes]
    assert all(process.returncode == 0 for process in processes)
    assert sorted(outputs) == ["lost"] * 5 + ["won"]
    winner = outputs.index("won")
    assert LocalStorage(tmp_path).get("k/v000001.json") == f"writer-{winner}".encode()


@pytest.mark.parametrize("server", ["seaweedfs", "moto_server"])
def test_s3_server_honours_if_none_match(request: pytest.FixtureRequest, server: str) -> None:
    endpoint: str = request.getfixturevalue(server)
    bucket = new_bucket(endpoint)
    client = s3_client(endpoint)
    try:
        client.put_object(Bucket=bucket, Key="k", Body=b"first", IfNoneMatch="*")
        storage = S3Storage(client, bucket)
        with pytest.raises(ConflictError, match="PreconditionFailed"):
            storage.put("k", b"second", content_type="text/plain", if_none_match=True)
        assert storage.get("k") == b"first"
    finally:
        client.close()


@pytest.mark.parametrize("server", ["seaweedfs", "moto_server"])
def test_s3_list_follows_pages_and_strips_the_prefix(
    request: pytest.FixtureRequest, server: str
) -> None:
    endpoint: str = request.getfixturevalue(server)
    bucket = new_bucket(endpoint)
    client = s3_client(endpoint)
    try:
        client.put_object(Bucket=bucket, Key="outside/p/0", Body=b"x")
        storage = S3Storage(client, bucket, "/deep/prefix/")
        keys = [f"p/{n:02d}" for n in range(7)]
        for key in keys:
            storage.put(key, b"x", content_type="text/plain")
        storage.page_size = 2
        assert list(storage.list("p/")) == keys
        assert storage.uri == f"s3://{bucket}/deep/prefix"
        assert client.head_object(Bucket=bucket, Key="deep/prefix/p/00")["ContentLength"] == 1
    finally:
        client.close()


def test_s3_fallback_without_conditional_writes_checks_first(seaweedfs: str) -> None:
    bucket = new_bucket(seaweedfs)
    client = s3_client(seaweedfs)
    try:
        storage = S3Storage(client, bucket, conditional_writes=False)
        storage.put("k", b"first", content_type="text/plain", if_none_match=True)
        with pytest.raises(ConflictError, match="exists"):
            storage.put("k", b"second", content_type="text/plain", if_none_match=True)
        assert storage.get("k") == b"first"
    finally:
        client.close()


def test_missing_bucket_is_a_storage_error_not_a_missing_object(
    seaweedfs: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", seaweedfs)
    storage = open_storage("s3://no-such-bucket-here/p")
    try:
        with pytest.raises(StorageError, match="NoSuchBucket"):
            storage.get("k")
        with pytest.raises(StorageError, match="no-such-bucket-here"):
            list(storage.list(""))
    finally:
        storage.close()


def test_unreachable_endpoint_is_a_storage_error(
    closed_port: int, monkeypatch: pytest.MonkeyPatch, make_capture: object
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port}")
    quick = Config(connect_timeout=1, read_timeout=1, retries={"total_max_attempts": 1})
    storage = open_storage("s3://news-bucket/p", s3_config=quick)
    try:
        with pytest.raises(StorageError, match=re.escape("s3://news-bucket/p/x/k.json")) as caught:
            storage.put("x/k.json", b"{}", content_type="application/json")
        assert isinstance(caught.value.__cause__, BotoCoreError)
        assert SECRET_KEY not in str(caught.value)
        with pytest.raises(StorageError, match="get"):
            storage.get("x/k.json")
        with pytest.raises(StorageError, match="head"):
            storage.exists("x/k.json")
    finally:
        storage.close()
    with open_store("s3://news-bucket/p", s3_config=quick) as store, pytest.raises(StorageError):
        store.latest("https://news.example/a")


def test_seaweedfs_refuses_other_credentials(
    seaweedfs: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = new_bucket(seaweedfs)
    monkeypatch.setenv("AWS_ENDPOINT_URL", seaweedfs)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "someone-else")
    storage = open_storage(f"s3://{bucket}")
    try:
        with pytest.raises(StorageError, match="InvalidAccessKeyId") as caught:
            storage.get("k")
        assert SECRET_KEY not in str(caught.value)
    finally:
        storage.close()


def test_small_puts_send_their_body_without_waiting_for_100_continue(
    seaweedfs: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", seaweedfs)
    storage = open_storage(f"s3://{new_bucket(seaweedfs)}/news")
    assert isinstance(storage, S3Storage)
    sent: dict[str, bool] = {}

    def note(request: object, **_kwargs: object) -> None:
        headers = request.headers  # type: ignore[attr-defined]
        sent[request.url.rsplit("/", 1)[-1]] = "Expect" in headers  # type: ignore[attr-defined]

    storage._client.meta.events.register("before-send.s3.PutObject", note)
    try:
        storage.put("small", b"x" * 1000, content_type="text/plain", if_none_match=True)
        storage.put("large", b"x" * (2 << 20), content_type="text/plain")
        assert storage.get("small") == b"x" * 1000
        assert storage.get("large") == b"x" * (2 << 20)
    finally:
        storage.close()
    assert sent == {"small": False, "large": True}

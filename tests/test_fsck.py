"""``newsarchive fsck`` finds each way an archive can be broken, and passes a clean one.

The demo site is crawled twice (one article edited in between) into a local folder and into
SeaweedFS, once per module; each test corrupts its own copy and checks that the finding has the
right code and key. Most run the command as users do, in a child process.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from archiver import Capture, keys, open_store
from archiver.fsck import ArchiveChecker, FsckReport, check_archive
from archiver.fsck_problems import CODES, Problem
from archiver.local import LocalStorage
from archiver.records import gzip_bytes, sha256_hex
from archiver.states import record_state
from crawler.demosite.server import DemoSite
from tests.archive_support import DemoArchive, build_demo_archive
from tests.servers.seaweedfs import SeaweedFS


@dataclass(frozen=True)
class Outcome:
    """What one ``newsarchive fsck --json`` run printed, and its exit status."""

    status: int
    findings: list[dict[str, str]]
    summary: dict[str, Any]
    stderr: str

    def keys(self, code: str) -> list[str]:
        """Return the keys of the findings with ``code``."""
        return [finding["key"] for finding in self.findings if finding["code"] == code]

    def codes(self) -> set[str]:
        return {finding["code"] for finding in self.findings}


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite() as running:
        yield running


@pytest.fixture(scope="module")
def built(site: DemoSite, tmp_path_factory: pytest.TempPathFactory) -> DemoArchive:
    """The demo site crawled twice into a local folder; tests copy it, never change it."""
    tmp = tmp_path_factory.mktemp("fsck-local")
    return build_demo_archive(site, str(tmp / "archive"), tmp)


@pytest.fixture
def root(built: DemoArchive, tmp_path: Path) -> Path:
    """This test's own copy of the local archive."""
    copy = tmp_path / "archive"
    shutil.copytree(built.uri, copy)
    return copy


@pytest.fixture(scope="module")
def child_env() -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.pop("ARCHIVE_URI", None)
    return env


def fsck(env: dict[str, str], archive: str | Path, *args: str) -> Outcome:
    """Run ``newsarchive fsck --json`` in a child process and parse what it printed."""
    result = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "fsck", "--archive", str(archive), "--json", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    summary = lines.pop() if lines and "summary" in lines[-1] else {}
    return Outcome(result.returncode, lines, summary.get("summary", {}), result.stderr)


def article_dir(root: Path, identity: str) -> Path:
    aid = keys.article_id(identity)
    return root / keys.article_prefix(aid)


def version_key(identity: str, number: int) -> str:
    return keys.version_key(keys.article_id(identity), number)


def read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def write_json(path: Path, record: dict[str, Any]) -> None:
    path.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def others(demo: DemoArchive) -> list[str]:
    """The identity URLs of the articles with one version, in a fixed order."""
    return sorted(identity for identity in demo.identities if identity != demo.edited)


def html_key_of(root: Path, key: str) -> str:
    html_key: str = read_json(root / key)["html_key"]
    return html_key


def catalog_parts(root: Path) -> list[Path]:
    return sorted((root / "catalog").rglob("*.parquet"))


def rewrite_catalog_row(root: Path, json_key: str, replacement: str | None) -> str:
    """Drop the catalog row naming ``json_key``, or point it at ``replacement``; return the part."""
    for part in catalog_parts(root):
        table = pq.read_table(part)
        names = table.column("json_key").to_pylist()
        if json_key not in names:
            continue
        if replacement is None:
            table = table.filter(pc.not_equal(table.column("json_key"), json_key))
        else:
            changed = [replacement if name == json_key else name for name in names]
            position = table.schema.get_field_index("json_key")
            table = table.set_column(position, "json_key", pa.array(changed, pa.string()))
        pq.write_table(table, part, compression="zstd")
        return part.relative_to(root).as_posix()
    raise AssertionError(f"no catalog row names {json_key}")


# --- the clean archive --------------------------------------------------------------------------


def test_a_clean_archive_passes(built: DemoArchive, child_env: dict[str, str]) -> None:
    outcome = fsck(child_env, built.uri)
    assert outcome.status == 0, outcome
    assert outcome.findings == []
    versions = len(built.identities) + 1
    assert outcome.summary["checked"] == {
        "articles": len(built.identities),
        "versions": versions,
        "html": versions,
        "observations": 0,
        "states": 0,
        "runs": 2,
        "check_logs": 1,
        "listings": outcome.summary["checked"]["listings"],
        "catalog_parts": len(catalog_parts(Path(built.uri))),
        "catalog_rows": versions,
    }
    assert outcome.summary["checked"]["listings"] > 0
    assert (outcome.summary["problems"], outcome.summary["notices"]) == (0, 0)
    assert outcome.summary["failed"] is False

    text = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "fsck", "--archive", built.uri, "--strict"],
        capture_output=True,
        text=True,
        timeout=120,
        env=child_env,
        check=False,
    )
    assert text.returncode == 0, text.stderr
    checked, verdict = text.stdout.splitlines()
    assert checked.startswith(f"checked {Path(built.uri).absolute().as_uri()}: ")
    assert f"{versions} versions" in checked
    assert verdict == "clean: 0 problems, 0 notices"


# --- corruptions, through the command line ------------------------------------------------------


def test_truncated_record(root: Path, built: DemoArchive, child_env: dict[str, str]) -> None:
    key = version_key(others(built)[0], 1)
    data = (root / key).read_bytes()
    (root / key).write_bytes(data[: len(data) // 2])
    outcome = fsck(child_env, root)
    assert outcome.status == 1
    assert outcome.keys("record-unparseable") == [key]
    # Its HTML is now named by no record; the catalog row still names an existing key.
    assert outcome.keys("html-orphan") == [html_key_of(Path(built.uri), key)]
    assert outcome.codes() == {"record-unparseable", "html-orphan"}
    assert outcome.summary["by_code"] == {"record-unparseable": 1, "html-orphan": 1}


def test_record_with_the_wrong_schema(
    root: Path, built: DemoArchive, child_env: dict[str, str]
) -> None:
    key = version_key(others(built)[1], 1)
    record = read_json(root / key)
    record["schema"] = "newsarchive/observation/1"
    write_json(root / key, record)
    outcome = fsck(child_env, root)
    assert outcome.status == 1
    assert outcome.keys("record-wrong-schema") == [key]
    message = next(f["message"] for f in outcome.findings if f["code"] == "record-wrong-schema")
    assert "'newsarchive/observation/1'" in message
    assert "newsarchive/version/1" in message


def test_record_missing_a_field(root: Path, built: DemoArchive, child_env: dict[str, str]) -> None:
    key = version_key(others(built)[1], 1)
    record = read_json(root / key)
    del record["html_sha256"]
    record["version"] = "1"
    write_json(root / key, record)
    outcome = fsck(child_env, root)
    assert outcome.keys("record-field-missing") == [key]
    assert outcome.keys("record-field-invalid") == [key]
    assert outcome.status == 1


def test_missing_html(root: Path, built: DemoArchive, child_env: dict[str, str]) -> None:
    key = version_key(built.edited, 2)
    html_key = html_key_of(root, key)
    (root / html_key).unlink()
    outcome = fsck(child_env, root)
    assert outcome.status == 1
    assert outcome.keys("html-missing") == [html_key]
    assert outcome.codes() == {"html-missing"}
    assert "v000002.json" in outcome.findings[0]["message"]


def test_altered_html(root: Path, built: DemoArchive, child_env: dict[str, str]) -> None:
    key = version_key(others(built)[2], 1)
    html_key = html_key_of(root, key)
    html = gzip.decompress((root / html_key).read_bytes())
    altered = html.replace(b"</body>", b"<p>inserted later</p></body>")
    assert altered != html
    (root / html_key).write_bytes(gzip_bytes(altered))
    outcome = fsck(child_env, root)
    assert outcome.status == 1
    assert outcome.keys("html-hash-mismatch") == [html_key]
    message = outcome.findings[0]["message"]
    assert sha256_hex(altered) in message
    assert read_json(root / key)["html_sha256"] in message


def test_html_that_is_not_gzip(root: Path, built: DemoArchive, child_env: dict[str, str]) -> None:
    key = version_key(others(built)[3], 1)
    html_key = html_key_of(root, key)
    (root / html_key).write_bytes(gzip.decompress((root / html_key).read_bytes()))
    outcome = fsck(child_env, root)
    assert outcome.status == 1
    assert outcome.keys("html-not-gzip") == [html_key]


def test_version_gap(root: Path, built: DemoArchive, child_env: dict[str, str]) -> None:
    first = version_key(built.edited, 1)
    first_html = html_key_of(root, first)
    (root / first).unlink()
    outcome = fsck(child_env, root)
    assert outcome.status == 1
    assert outcome.keys("version-gap") == [first]
    gap = next(f["message"] for f in outcome.findings if f["code"] == "version-gap")
    assert gap == "version 1 has no record; the folder holds versions 2"
    # What pointed at version 1 is now dangling: its catalog row, and its HTML is orphaned.
    [dangling] = [f for f in outcome.findings if f["code"] == "catalog-dangling-row"]
    assert dangling["key"].startswith("catalog/capture_date=")
    assert first in dangling["message"]
    assert outcome.keys("html-orphan") == [first_html]


def test_record_copied_into_another_articles_folder(
    root: Path, built: DemoArchive, child_env: dict[str, str]
) -> None:
    source, target = others(built)[4], others(built)[5]
    copied = version_key(target, 2)
    shutil.copyfile(root / version_key(source, 1), root / copied)
    outcome = fsck(child_env, root)
    assert outcome.status == 1
    assert outcome.keys("record-wrong-article") == [copied]
    message = next(f["message"] for f in outcome.findings if f["code"] == "record-wrong-article")
    assert source in message
    assert keys.article_id(target) in message
    # The catalog never heard of it.
    assert outcome.keys("catalog-missing-row") == [copied]
    assert outcome.codes() == {"record-wrong-article", "catalog-missing-row"}


def test_catalog_row_removed(root: Path, built: DemoArchive, child_env: dict[str, str]) -> None:
    key = version_key(built.edited, 2)
    rewrite_catalog_row(root, key, None)
    outcome = fsck(child_env, root)
    assert outcome.status == 1
    assert outcome.keys("catalog-missing-row") == [key]
    assert outcome.codes() == {"catalog-missing-row"}


def test_catalog_row_naming_a_missing_version(
    root: Path, built: DemoArchive, child_env: dict[str, str]
) -> None:
    key = version_key(others(built)[0], 1)
    nowhere = version_key(others(built)[0], 9)
    part = rewrite_catalog_row(root, key, nowhere)
    outcome = fsck(child_env, root)
    assert outcome.status == 1
    assert outcome.keys("catalog-dangling-row") == [part]
    assert nowhere in outcome.findings[0]["message"]
    assert outcome.keys("catalog-missing-row") == [key]


def test_duplicate_catalog_part(root: Path, built: DemoArchive, child_env: dict[str, str]) -> None:
    part = catalog_parts(root)[0]
    shutil.copyfile(part, part.with_name("part-copy-00000.parquet"))
    rows = pq.read_table(part).column("json_key").to_pylist()
    outcome = fsck(child_env, root)
    assert outcome.status == 1
    assert sorted(outcome.keys("catalog-duplicate-row")) == sorted(rows)


def test_no_catalog_is_a_notice(root: Path, child_env: dict[str, str]) -> None:
    shutil.rmtree(root / "catalog")
    outcome = fsck(child_env, root)
    assert outcome.status == 0
    assert outcome.keys("catalog-absent") == ["catalog/"]
    assert outcome.summary["notices"] == 1


def test_interrupted_write_leaves_an_orphan_notice(
    root: Path, built: DemoArchive, child_env: dict[str, str]
) -> None:
    """A write stopped after the HTML, before the record: a notice, a failure under --strict."""
    aid = keys.article_id(built.edited)
    html = b"<html><body>a third edition, never recorded</body></html>"
    orphan = keys.html_key(aid, sha256_hex(html))
    storage = LocalStorage(root)
    storage.put(orphan, gzip_bytes(html), content_type="application/gzip", if_none_match=True)
    outcome = fsck(child_env, root)
    assert outcome.status == 0
    assert outcome.findings == [
        {
            "severity": "notice",
            "code": "html-orphan",
            "key": orphan,
            "message": "no version record names this HTML: a write interrupted before its record "
            "(written last), or a record that is lost",
        }
    ]
    strict = fsck(child_env, root, "--strict")
    assert strict.status == 1
    assert strict.keys("html-orphan") == [orphan]
    assert strict.summary["failed"] is True


def test_text_output_and_usage_errors(root: Path, child_env: dict[str, str]) -> None:
    (root / "articles" / "stray.txt").write_text("not ours\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "fsck", "--archive", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        env=child_env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("notice  unknown-key articles/stray.txt: ")
    assert lines[-1] == "clean: 0 problems, 1 notice (unknown-key 1)"

    missing = fsck(child_env, root.parent / "no-such-archive")
    assert missing.status == 2
    assert "no archive folder at" in missing.stderr
    (root.parent / "empty").mkdir()
    empty = fsck(child_env, root.parent / "empty")
    assert empty.status == 1
    assert empty.codes() == {"archive-empty"}


# --- through the Python API ---------------------------------------------------------------------


def test_content_and_chain_errors(root: Path, built: DemoArchive) -> None:
    second = version_key(built.edited, 2)
    record = read_json(root / second)
    record["previous_key"] = version_key(built.edited, 3)
    record["captured_at"] = "2001-01-01T00:00:00.000000Z"
    write_json(root / second, record)
    edited = version_key(others(built)[6], 1)
    record = read_json(root / edited)
    record["article"]["headline"] += " (corrected)"
    write_json(root / edited, record)

    report = check_archive(str(root))
    assert isinstance(report, FsckReport)
    assert report.failed
    found = {(problem.code, problem.key) for problem in report.findings}
    assert ("chain-broken", second) in found
    assert ("chain-time-reversed", second) in found
    assert ("content-hash-mismatch", edited) in found
    # The catalog still has the old capture time, and the row is in the old day's partition.
    [mismatch] = [problem for problem in report.findings if problem.code == "catalog-row-mismatch"]
    assert second in mismatch.message
    assert "captured_at" in mismatch.message
    assert report.codes("problem") == [
        "catalog-row-mismatch",
        "chain-broken",
        "content-hash-mismatch",
    ]
    # Two captures of one article can race: the one captured first may be stored second.
    assert report.codes("notice") == ["chain-time-reversed"]


def test_observations_and_states(root: Path, built: DemoArchive) -> None:
    identity = others(built)[7]
    now = datetime.now(UTC)
    with open_store(str(root)) as store:
        hints = store.fetch_hints(identity)
        assert hints is not None
        capture = Capture(
            source="harbour-herald",
            identity_url=identity,
            url=identity,
            requested_url=identity,
            canonical_url=identity,
            captured_at=now.isoformat(),
            status=304,
            headers={},
            html=b"",
            article={},
            provenance={"discovered_via": "revisit"},
        )
        observed = store.observe(capture, hints, "not_modified").key
        state = record_state(
            store,
            identity_url=identity,
            source="harbour-herald",
            state="removed",
            previous_state="present",
            detected_at=now,
            confirmed_at=now,
            evidence=[
                {
                    "observed_at": now.isoformat(),
                    "http_status": 410,
                    "final_url": identity,
                    "reason": "http_410",
                },
            ],
        )
    report = check_archive(str(root))
    assert not report.failed, report.findings
    assert (report.checked["observations"], report.checked["states"]) == (1, 1)

    record = read_json(root / observed)
    record["version"] = 7
    record["version_key"] = version_key(identity, 7)
    write_json(root / observed, record)
    record = read_json(root / state)
    record["state"] = "vanished"
    write_json(root / state, record)
    report = check_archive(str(root))
    assert [(p.code, p.key) for p in report.findings] == [
        ("dangling-version-ref", observed),
        ("record-field-invalid", state),
    ]
    assert version_key(identity, 7) in report.findings[0].message


def test_checker_streams_findings(root: Path, built: DemoArchive) -> None:
    (root / html_key_of(root, version_key(built.edited, 1))).unlink()
    storage = LocalStorage(root)
    checker = ArchiveChecker(storage, read_ahead=2)
    found = iter(checker.check())
    first = next(found)
    assert isinstance(first, Problem)
    assert first.code == "html-missing"
    assert first.severity == "problem"
    assert list(found) == []
    assert checker.report.by_code == {"html-missing": 1}
    assert checker.report.findings == []  # the streaming checker keeps none


# --- S3 -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seaweed() -> Iterator[SeaweedFS]:
    with SeaweedFS() as server:
        yield server


@pytest.fixture(scope="module")
def s3_client(seaweed: SeaweedFS) -> Iterator[Any]:
    client = boto3.client("s3", **seaweed.client_options())  # type: ignore[call-overload]
    yield client
    client.close()


@pytest.fixture(scope="module")
def s3_env(child_env: dict[str, str], seaweed: SeaweedFS) -> dict[str, str]:
    return {**child_env, **seaweed.environ()}


@pytest.fixture(scope="module")
def s3_built(
    site: DemoSite, seaweed: SeaweedFS, s3_client: Any, tmp_path_factory: pytest.TempPathFactory
) -> DemoArchive:
    bucket = f"fsck-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=bucket)
    tmp = tmp_path_factory.mktemp("fsck-s3")
    return build_demo_archive(site, f"s3://{bucket}/news", tmp, seaweed.environ())


def copy_bucket(client: Any, uri: str) -> tuple[str, str]:
    """Copy the archive at ``uri`` into a fresh bucket; return its URI and bucket."""
    source, _, prefix = uri.removeprefix("s3://").partition("/")
    bucket = f"fsck-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=source, Prefix=prefix):
        for item in page.get("Contents", []):
            client.copy_object(
                Bucket=bucket, Key=item["Key"], CopySource={"Bucket": source, "Key": item["Key"]}
            )
    return f"s3://{bucket}/{prefix}", bucket


def test_s3_clean_archive_passes(s3_built: DemoArchive, s3_env: dict[str, str]) -> None:
    outcome = fsck(s3_env, s3_built.uri)
    assert outcome.status == 0, (outcome.findings, outcome.stderr)
    assert outcome.findings == []
    versions = len(s3_built.identities) + 1
    checked = outcome.summary["checked"]
    assert (checked["versions"], checked["html"], checked["catalog_rows"]) == (versions,) * 3
    assert checked["articles"] == len(s3_built.identities)


def test_s3_corruptions_are_found(
    s3_built: DemoArchive, s3_env: dict[str, str], s3_client: Any
) -> None:
    uri, bucket = copy_bucket(s3_client, s3_built.uri)
    prefix = uri.removeprefix(f"s3://{bucket}/")
    key = version_key(s3_built.edited, 2)
    record = json.loads(s3_client.get_object(Bucket=bucket, Key=f"{prefix}/{key}")["Body"].read())
    s3_client.delete_object(Bucket=bucket, Key=f"{prefix}/{record['html_key']}")
    truncated = version_key(others(s3_built)[0], 1)
    body = s3_client.get_object(Bucket=bucket, Key=f"{prefix}/{truncated}")["Body"].read()
    s3_client.put_object(Bucket=bucket, Key=f"{prefix}/{truncated}", Body=body[:40])
    outcome = fsck(s3_env, uri)
    assert outcome.status == 1
    assert outcome.keys("html-missing") == [record["html_key"]]
    assert outcome.keys("record-unparseable") == [truncated]

    unreachable = fsck(s3_env, f"s3://fsck-no-such-bucket-{uuid.uuid4().hex[:8]}/news")
    assert unreachable.status == 2
    assert "newsarchive: error:" in unreachable.stderr


def test_every_code_is_documented() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "reliability.md").read_text()
    missing = [code for code in CODES if f"`{code}`" not in doc]
    assert not missing, f"codes missing from docs/reliability.md: {missing}"

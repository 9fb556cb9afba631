"""Verify an archive: records, HTML, version chains, run manifests and the catalog agree.

The checker streams: the ``articles/`` listing is consumed page by page and a few article
folders are read ahead in threads (as exports do), so an S3 archive keeps several requests in
flight and nothing holds the archive in memory. Findings are yielded as they are found::

    with closing(open_storage("s3://news-archive/prod")) as storage:
        checker = ArchiveChecker(storage)
        for problem in checker.check():
            print(problem.line())
        print(checker.report.summary())

It only reads: nothing it finds is repaired or deleted.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import keys
from .errors import ArchiveURIError, StorageError
from .export_select import ordered_map
from .fsck_articles import check_folder
from .fsck_catalog import VersionIndex, check_catalog
from .fsck_problems import (
    CHECK_FIELDS,
    CODES,
    LISTING_FIELDS,
    RUN_FIELDS,
    Problem,
    check_fields,
    field_error,
    parse_record,
)
from .listings import LISTING_SCHEMA, LISTINGS, listing_key
from .runs import RUN_SCHEMA, RUNS, run_key
from .uri import open_storage, parse_archive_uri

if TYPE_CHECKING:
    from .storage import Storage

READ_AHEAD = 16
"""Article folders (or run objects) read ahead of the one being checked."""
KINDS = {
    "articles": ("article", "articles"),
    "versions": ("version", "versions"),
    "html": ("HTML object", "HTML objects"),
    "observations": ("observation", "observations"),
    "states": ("state record", "state records"),
    "runs": ("run manifest", "run manifests"),
    "check_logs": ("check log", "check logs"),
    "listings": ("listing", "listings"),
    "catalog_parts": ("catalog part", "catalog parts"),
    "catalog_rows": ("catalog row", "catalog rows"),
}
"""What the report counts, singular and plural."""
CHECKS_SUFFIX = ".checks.jsonl.gz"


@dataclass
class FsckReport:
    """What a check found: objects checked by kind, and findings by code."""

    uri: str
    strict: bool = False
    checked: Counter[str] = field(default_factory=Counter)
    by_code: Counter[str] = field(default_factory=Counter)
    findings: list[Problem] = field(default_factory=list)
    """Every finding, when the checker was asked to keep them (:func:`check_archive` does)."""

    @property
    def problems(self) -> int:
        """Return the number of findings of severity ``problem``."""
        return sum(n for code, n in self.by_code.items() if CODES[code][0] == "problem")

    @property
    def notices(self) -> int:
        """Return the number of findings of severity ``notice``."""
        return sum(n for code, n in self.by_code.items() if CODES[code][0] == "notice")

    @property
    def failed(self) -> bool:
        """Return whether the archive failed: any problem, or any notice under ``strict``."""
        return self.problems > 0 or (self.strict and self.notices > 0)

    def codes(self, severity: str | None = None) -> list[str]:
        """Return the codes found (of one severity), sorted."""
        return sorted(code for code in self.by_code if severity in (None, CODES[code][0]))

    def summary(self) -> str:
        """Return two lines: what was checked, and the verdict."""
        counted = ", ".join(
            f"{self.checked[kind]} {names[0] if self.checked[kind] == 1 else names[1]}"
            for kind, names in KINDS.items()
        )
        verdict = "FAILED" if self.failed else "clean"
        parts = []
        for severity, count in (("problem", self.problems), ("notice", self.notices)):
            detail = ", ".join(f"{code} {self.by_code[code]}" for code in self.codes(severity))
            parts.append(f"{count} {severity}{'' if count == 1 else 's'}")
            if detail:
                parts[-1] += f" ({detail})"
        strict = " (--strict: notices fail)" if self.strict and self.notices else ""
        return f"checked {self.uri}: {counted}\n{verdict}: {', '.join(parts)}{strict}"

    def to_json(self) -> dict[str, Any]:
        """Return the summary as JSON data (without the findings)."""
        return {
            "uri": self.uri,
            "strict": self.strict,
            "failed": self.failed,
            "checked": {kind: self.checked[kind] for kind in KINDS},
            "problems": self.problems,
            "notices": self.notices,
            "by_code": dict(sorted(self.by_code.items())),
        }


class ArchiveChecker:
    """Check one archive; :meth:`check` yields findings and fills :attr:`report`."""

    def __init__(
        self,
        storage: Storage,
        *,
        strict: bool = False,
        read_ahead: int = READ_AHEAD,
        keep_findings: bool = False,
    ) -> None:
        self.storage = storage
        self.strict = strict
        self.read_ahead = read_ahead
        self.keep_findings = keep_findings
        self.report = FsckReport(storage.uri, strict)

    def check(self) -> Iterator[Problem]:
        """Check every part of the archive, yielding each finding as soon as it is found.

        Raise :class:`~archiver.errors.StorageError` when a listing fails (an unreachable
        archive); an object that cannot be read is a finding (``object-unreadable``).
        """
        self.report = FsckReport(self.storage.uri, self.strict)
        with VersionIndex() as index:
            for problem in self._findings(index):
                self.report.by_code[problem.code] += 1
                if self.keep_findings:
                    self.report.findings.append(problem)
                yield problem
        if not self.report.by_code and not any(self.report.checked.values()):
            problem = Problem(
                "archive-empty",
                f"{keys.ARTICLES}/",
                f"nothing to check in {self.storage.uri}: is the URI right?",
            )
            self.report.by_code[problem.code] += 1
            if self.keep_findings:
                self.report.findings.append(problem)
            yield problem

    def _findings(self, index: VersionIndex) -> Iterator[Problem]:
        folders = _article_folders(self.storage)
        checked = self.report.checked
        for result in ordered_map(
            lambda item: check_folder(self.storage, *item), folders, self.read_ahead
        ):
            checked.update(result.checked)
            index.add(result.versions)
            yield from result.findings
        yield from self._runs(index)
        yield from self._listings()
        yield from check_catalog(self.storage, index, checked)

    def _fetch(self, key: str) -> tuple[str, bytes | None, str]:
        try:
            return key, self.storage.get(key), ""
        except StorageError as err:
            return key, None, str(err)

    def _runs(self, index: VersionIndex) -> Iterator[Problem]:
        unknown: list[Problem] = []

        def run_keys() -> Iterator[str]:
            for key in self.storage.list(f"{RUNS}/"):
                if key.endswith((".json", CHECKS_SUFFIX)):
                    yield key
                else:
                    unknown.append(Problem("unknown-key", key, "not a run manifest or check log"))

        for key, data, error in ordered_map(self._fetch, run_keys(), self.read_ahead):
            is_log = key.endswith(CHECKS_SUFFIX)
            self.report.checked["check_logs" if is_log else "runs"] += 1
            if data is None:
                yield Problem("object-unreadable", key, error or "listed, then not found")
            elif is_log:
                yield from _check_log(key, data, index)
            else:
                yield from _check_manifest(key, data)
        yield from unknown

    def _listings(self) -> Iterator[Problem]:
        for key, data, error in ordered_map(
            self._fetch, self.storage.list(f"{LISTINGS}/"), self.read_ahead
        ):
            self.report.checked["listings"] += 1
            if data is None:
                yield Problem("listing-invalid", key, error or "listed, then not found")
                continue
            loaded = parse_record(key, data, LISTING_SCHEMA)
            record = loaded.record
            reasons = [problem.message for problem in loaded.findings]
            if record is not None:
                found = check_fields(key, record, LISTING_FIELDS)
                reasons += [problem.message for problem in found]
                if not reasons and listing_key(record["url"]) != key:
                    reasons.append(
                        f"url {record['url']} belongs under {listing_key(record['url'])}"
                    )
            for reason in reasons:
                yield Problem("listing-invalid", key, f"{reason}; crawls read the listing in full")


def _article_folders(storage: Storage) -> Iterator[tuple[str, list[str]]]:
    """Yield ``(folder, keys)`` for each folder under ``articles/``, one folder held at a time.

    A folder's keys are contiguous in every listing order the backends use (see
    :class:`~archiver.storage.Storage`).
    """
    folder, names = "", list[str]()
    for key in storage.list(f"{keys.ARTICLES}/"):
        parts = key.split("/")
        # articles/{id[:2]}/{id}/...: a key nearer the root is a folder of its own.
        prefix = "/".join(parts[:3]) + "/" if len(parts) >= 4 else key.rpartition("/")[0] + "/"
        if prefix != folder:
            if names:
                yield folder, names
            folder, names = prefix, []
        names.append(key)
    if names:
        yield folder, names


def _check_manifest(key: str, data: bytes) -> Iterator[Problem]:
    loaded = parse_record(key, data, RUN_SCHEMA)
    yield from loaded.findings
    if loaded.record is None:
        return
    findings = check_fields(key, loaded.record, RUN_FIELDS)
    yield from findings
    if findings:
        return
    run_id = loaded.record["run_id"]
    try:
        expected = run_key(run_id)
    except ValueError:
        yield Problem("record-field-invalid", key, f"run_id {run_id!r} is not a run id")
        return
    if expected != key:
        yield Problem("record-key-mismatch", key, f"run_id {run_id} belongs under {expected}")


def _check_log(key: str, data: bytes, index: VersionIndex) -> Iterator[Problem]:
    """Check a run's check log line by line, decompressing as it goes."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as lines:
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    yield from _check_log_line(key, number, line, index)
    except (OSError, EOFError, zlib.error) as err:
        yield Problem("record-unparseable", key, f"not a valid gzip file: {err}")


def _check_log_line(key: str, number: int, line: bytes, index: VersionIndex) -> Iterator[Problem]:
    try:
        check = json.loads(line.decode("utf-8"))
    except ValueError as err:
        yield Problem("record-unparseable", key, f"line {number} is not UTF-8 JSON: {err}")
        return
    if not isinstance(check, dict):
        yield Problem("record-wrong-schema", key, f"line {number} is not a JSON object")
        return
    for name, kind in CHECK_FIELDS.items():
        reason = "is absent" if name not in check else field_error(check[name], kind)
        if reason:
            yield Problem("record-field-invalid", key, f"line {number}: {name} {reason}")
            return
    version, version_key = check["version"], check["version_key"]
    expected = (
        keys.version_key(keys.article_id(check["identity_url"]), version) if version >= 1 else ""
    )
    if version_key != expected:
        message = f"line {number}: version_key {version_key} is not version {version} of its URL"
        yield Problem("dangling-version-ref", key, message)
    elif index.get(version_key) is None:
        yield Problem(
            "dangling-version-ref", key, f"line {number} names {version_key}, which does not exist"
        )


def open_archive(uri: str) -> Storage:
    """Open the archive ``uri`` names for checking; a folder that does not exist is an error."""
    location = parse_archive_uri(uri)
    if location.path is not None and not location.path.is_dir():
        raise ArchiveURIError(f"no archive folder at {location.path}")
    return open_storage(uri)


def check_archive(
    archive: str | Storage, *, strict: bool = False, read_ahead: int = READ_AHEAD
) -> FsckReport:
    """Check a whole archive (a URI or an open storage) and return the report with its findings."""
    storage = open_archive(archive) if isinstance(archive, str) else archive
    try:
        checker = ArchiveChecker(storage, strict=strict, read_ahead=read_ahead, keep_findings=True)
        for _problem in checker.check():
            pass
        return checker.report
    finally:
        if isinstance(archive, str):
            storage.close()

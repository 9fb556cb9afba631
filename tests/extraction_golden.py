"""Golden extraction fixtures: one folder per page under ``tests/fixtures/extraction/``.

Each folder holds ``page.html`` (the bytes as served), ``meta.json`` (``url``, ``fetched_at``,
``headers``) and ``expected.json`` (field values, ``is_article``, and the phrase lists
``body_must_contain`` / ``body_must_not_contain``). ``scripts/regen_extraction_goldens.py``
rewrites the field values from the current extractor; the phrase lists are written by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from crawler.extract import extract_article
from crawler.items import Article

CASES_DIR = Path(__file__).parent / "fixtures" / "extraction"
PHRASE_KEYS = ("body_must_contain", "body_must_not_contain")
FIELDS = (
    "headline",
    "authors",
    "section",
    "date_published",
    "date_modified",
    "language",
    "description",
    "canonical_url",
    "site_name",
    "tags",
    "images",
)
"""Fields a new expected.json records; ``body`` and ``word_count`` are kept where present."""


@dataclass(frozen=True)
class GoldenCase:
    """One fixture folder, loaded."""

    name: str
    folder: Path
    page: bytes
    url: str
    fetched_at: datetime
    headers: dict[str, str]
    expected: dict[str, Any]

    @property
    def charset(self) -> str | None:
        """Return the charset of the ``Content-Type`` header, if it names one."""
        content_type = next(
            (value for key, value in self.headers.items() if key.lower() == "content-type"), ""
        )
        for part in content_type.split(";")[1:]:
            key, _, value = part.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                return value.strip().strip('"')
        return None

    def extract(self) -> Article | None:
        """Run the extractor the way the crawler does: bytes, final URL, fetch time, charset."""
        return extract_article(
            self.page, self.url, fetched_at=self.fetched_at, encoding=self.charset
        )


def case_names() -> list[str]:
    """Return the fixture folder names, sorted."""
    return sorted(path.parent.name for path in CASES_DIR.glob("*/page.html"))


def load_case(name: str) -> GoldenCase:
    """Load one fixture folder; a missing ``expected.json`` reads as empty."""
    folder = CASES_DIR / name
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    expected_path = folder / "expected.json"
    expected = (
        json.loads(expected_path.read_text(encoding="utf-8")) if expected_path.exists() else {}
    )
    return GoldenCase(
        name=name,
        folder=folder,
        page=(folder / "page.html").read_bytes(),
        url=meta["url"],
        fetched_at=datetime.fromisoformat(meta["fetched_at"]),
        headers=meta.get("headers", {}),
        expected=expected,
    )

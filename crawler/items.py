"""Typed records that flow through the crawl: a fetched page, then the article extracted from it.

Data flows one way: URL -> Request -> :class:`FetchedPage` -> :class:`Article` -> archived version.
None of these classes import Scrapy, so the extractor and the archiver can use them anywhere.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ImageRole = Literal["lead", "inline"]
DiscoveredVia = Literal["feed", "sitemap", "section", "url", "revisit"]
UnchangedReason = Literal["not_modified", "same_html"]


@dataclass(frozen=True, slots=True)
class Image:
    """One image of an article, with its caption and photo credit kept apart."""

    src: str
    """Absolute URL of the image (the largest candidate the page offers)."""
    caption: str | None = None
    """Caption text without the credit, e.g. ``Sergei Lavrov smokes as he walks ...``."""
    credit: str | None = None
    """Photo credit, e.g. ``Manish Swarup/AP``."""
    alt: str | None = None
    """The ``alt`` text of the image element, if any."""
    role: ImageRole = "inline"
    """``lead`` for the photo above the body, ``inline`` for photos within it."""


@dataclass(frozen=True, slots=True)
class Article:
    """A news article as a reader sees it, with its metadata.

    Field names follow schema.org's ``NewsArticle`` in snake case.
    """

    url: str
    """Final URL of the page, after redirects."""
    headline: str
    body: str
    """Plain body text, one paragraph per line; no captions, navigation, ads or comments."""
    canonical_url: str | None = None
    section: str | None = None
    authors: list[str] = field(default_factory=list)
    date_published: str | None = None
    """ISO 8601, with a time zone offset when the page gives one."""
    date_modified: str | None = None
    language: str | None = None
    """BCP 47 language tag, e.g. ``en`` or ``es-ES``."""
    description: str | None = None
    """Standfirst or summary."""
    images: list[Image] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    site_name: str | None = None
    word_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return the article as plain JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        """Build an article from :meth:`to_dict` output."""
        values = dict(data)
        values["images"] = [Image(**image) for image in values.get("images", [])]
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Provenance:
    """How and when the crawler came to an article URL."""

    discovered_via: DiscoveredVia
    discovered_from: str | None = None
    """The feed, sitemap or section page that listed the URL (``None`` for a given URL); for a
    revisit, the identity URL of the article revisited."""
    first_seen: str | None = None
    """When this crawl first saw the URL (ISO 8601, UTC)."""
    listed_date: str | None = None
    """The publication or modification date the feed or sitemap gave for the URL."""

    def to_dict(self) -> dict[str, Any]:
        """Return the provenance as plain JSON-ready data."""
        return asdict(self)


@dataclass(slots=True)
class FetchedPage:
    """One article candidate as fetched; the item Scrapy hands to the pipelines."""

    source: str
    requested_url: str
    url: str
    """Final URL after redirects."""
    status: int
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)
    """The raw response body as received (after transfer decoding)."""
    encoding: str | None
    """The charset the ``Content-Type`` header names, if any (the extractor weighs the rest)."""
    fetched_at: str
    """ISO 8601 UTC time the response arrived."""
    provenance: Provenance
    article: Article | None = field(default=None, repr=False)
    """Filled in by the extraction pipeline."""
    hints: Any = field(default=None, repr=False)
    """What the archive knew of the article's last fetch (``archiver.FetchHints``), if anything."""
    unchanged_before_extraction: UnchangedReason | None = None
    """``not_modified`` (a 304) or ``same_html`` (the body of the last fetch, byte for byte):
    the page needs no extraction, only an observation."""
    archived: Any = field(default=None, repr=False)
    """What the archive pipeline did with the page (``archiver.ArchiveResult``: new, changed or
    unchanged, and the key written), once it has archived it."""

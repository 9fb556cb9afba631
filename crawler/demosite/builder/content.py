"""The hand-written content of the fixture site: outlets and pages, loaded from TOML files.

``content/<outlet>/outlet.toml`` describes an outlet; every other ``*.toml`` file in that folder is
one page (an article, a paywalled teaser, a video page or a photo gallery).
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from crawler.demosite.errors import ContentError

PageKind = Literal["article", "paywall", "video", "gallery"]
Discovery = Literal["feed", "sitemap", "section"]
MIN_WORDS, MAX_WORDS = 250, 700


@dataclass(frozen=True)
class Photo:
    """A photo with its caption and credit as the reader sees them."""

    src: str
    caption: str
    credit: str
    alt: str = ""
    after: int = 0
    """For inline photos: the body paragraph (1-based) the photo follows."""


@dataclass(frozen=True)
class Edition:
    """A later edition of a page: what changed since the first."""

    number: int
    headline: str
    date_modified: str
    replace: dict[int, str]
    """Paragraph number (1-based, as in edition 1) -> new text."""
    insert: dict[int, str]
    """New paragraphs, inserted after the given paragraph number of edition 1."""


@dataclass(frozen=True)
class Link:
    """A listed URL that has no page of its own: a 404, a 500 or a redirect."""

    path: str
    status: int
    title: str
    date: str
    discovery: list[Discovery]
    location: str | None = None
    listed_as: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    """One page of an outlet, written by hand."""

    outlet: str
    kind: PageKind
    path: str
    headline: str
    date_published: str
    discovery: list[Discovery]
    section: str = ""
    kicker: str = ""
    standfirst: str = ""
    authors: list[str] = field(default_factory=list)
    author_type: Literal["Person", "Organization"] = "Person"
    author_role: str = ""
    date_modified: str = ""
    jsonld: bool = True
    tags: list[str] = field(default_factory=list)
    listed_as: dict[str, str] = field(default_factory=dict)
    """Discovery route -> query string or fragment appended where that route lists the page."""
    roles: list[str] = field(default_factory=list)
    lead: Photo | None = None
    inline: list[Photo] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    """Body paragraphs; a paragraph starting with ``## `` is a subheading."""
    photos: list[Photo] = field(default_factory=list)
    """Gallery photos."""
    duration: str = ""
    """Video length, ISO 8601 (``PT2M14S``)."""
    redirect_from: str = ""
    editions: list[Edition] = field(default_factory=list)
    source_file: str = ""

    @property
    def text_paragraphs(self) -> list[str]:
        """Return the body paragraphs without the subheadings."""
        return [p for p in self.paragraphs if not p.startswith("## ")]

    def listed_href(self, via: str) -> str:
        """Return the path as discovery route ``via`` lists it (the old path of a moved page)."""
        return (self.redirect_from or self.path) + self.listed_as.get(via, "")

    @property
    def description(self) -> str:
        """Return the standfirst, or the first paragraph when the page has none."""
        if self.standfirst:
            return self.standfirst
        return self.text_paragraphs[0] if self.text_paragraphs else ""

    def edition(self, number: int) -> Page:
        """Return the page as edition ``number`` shows it."""
        if number == 1:
            return self
        change = next(e for e in self.editions if e.number == number)
        body: list[str] = []
        for index, paragraph in enumerate(self.paragraphs, start=1):
            body.append(change.replace.get(index, paragraph))
            if index in change.insert:
                body.append(change.insert[index])
        if 0 in change.insert:
            body.insert(0, change.insert[0])
        return dataclasses.replace(
            self,
            headline=change.headline,
            date_modified=change.date_modified,
            paragraphs=body,
            editions=[],
        )


@dataclass(frozen=True)
class Outlet:
    """One news outlet of the fixture site and everything it publishes."""

    name: str
    """Short name, the folder name and the source name, e.g. ``harbour-herald``."""
    title: str
    language: str
    theme: str
    feeds: list[str]
    sitemaps: list[str]
    sections: list[str]
    article_patterns: list[str]
    robots_disallow: list[str]
    comments: list[tuple[str, str]]
    links: list[Link]
    pages: list[Page]

    @property
    def articles(self) -> list[Page]:
        """Return the article pages, newest first."""
        found = [p for p in self.pages if p.kind == "article"]
        return sorted(found, key=lambda p: p.date_published, reverse=True)


def _photo(data: dict[str, Any]) -> Photo:
    return Photo(**data)


def _edition(data: dict[str, Any]) -> Edition:
    return Edition(
        number=data["number"],
        headline=data["headline"],
        date_modified=data["date_modified"],
        replace={int(k): v for k, v in data.get("replace", {}).items()},
        insert={int(k): v for k, v in data.get("insert", {}).items()},
    )


def _paragraphs(body: str) -> list[str]:
    blocks = [" ".join(block.split()) for block in body.strip().split("\n\n")]
    return [block for block in blocks if block]


def load_page(outlet: str, path: Path) -> Page:
    """Read one page file."""
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    data["outlet"] = outlet
    data["source_file"] = path.name
    data["paragraphs"] = _paragraphs(data.pop("body", ""))
    if "lead" in data:
        data["lead"] = _photo(data["lead"])
    data["inline"] = [_photo(p) for p in data.get("inline", [])]
    data["photos"] = [_photo(p) for p in data.get("photos", [])]
    data["editions"] = [_edition(e) for e in data.get("editions", [])]
    try:
        page = Page(**data)
    except TypeError as err:
        raise ContentError(f"{path}: {err}") from err
    _check(page, path)
    return page


def _check(page: Page, path: Path) -> None:
    if "." in page.path.rsplit("/", 1)[-1].removesuffix(".html"):
        raise ContentError(f"{path}: a page path may not contain dots: {page.path}")
    if page.kind == "article":
        words = sum(len(p.split()) for p in page.text_paragraphs)
        if not MIN_WORDS <= words <= MAX_WORDS:
            raise ContentError(f"{path}: {words} words, want {MIN_WORDS}-{MAX_WORDS}")
        if not page.authors or not page.section:
            raise ContentError(f"{path}: an article needs authors and a section")
    for photo in page.inline:
        if not 1 <= photo.after <= len(page.paragraphs):
            raise ContentError(f"{path}: inline photo after missing paragraph {photo.after}")


def load_outlet(folder: Path) -> Outlet:
    """Read an outlet folder: ``outlet.toml`` and its page files."""
    with (folder / "outlet.toml").open("rb") as handle:
        data = tomllib.load(handle)
    links = [Link(**link) for link in data.pop("links", [])]
    comments = [(name, text) for name, text in data.pop("comments")]
    pages = [load_page(folder.name, p) for p in sorted(folder.glob("*.toml")) if p.stem != "outlet"]
    paths = [p.path for p in pages] + [link.path for link in links]
    if len(paths) != len(set(paths)):
        raise ContentError(f"{folder}: two pages or links share a path")
    try:
        return Outlet(name=folder.name, comments=comments, links=links, pages=pages, **data)
    except TypeError as err:
        raise ContentError(f"{folder / 'outlet.toml'}: {err}") from err


def load_outlets(content_dir: Path) -> list[Outlet]:
    """Read every outlet folder under ``content_dir``, in name order."""
    return [load_outlet(folder) for folder in sorted(content_dir.iterdir()) if folder.is_dir()]

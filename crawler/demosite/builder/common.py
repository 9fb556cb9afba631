"""What every outlet's markup shares: escaping, metadata, JSON-LD and page chrome hooks."""

from __future__ import annotations

import hashlib
import html
import json
import unicodedata
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crawler.demosite.builder.content import Outlet, Page, Photo
from crawler.demosite.paths import BASE_PLACEHOLDER


def esc(text: str) -> str:
    """Escape text for HTML content (quotes stay as they are, as on real pages)."""
    return html.escape(text, quote=False)


def attr(text: str) -> str:
    """Escape text for a double-quoted HTML attribute value."""
    return html.escape(text, quote=True)


def absolute(path: str) -> str:
    """Return the served URL of a site path (the base is filled in when served)."""
    return BASE_PLACEHOLDER + path


def slugify(text: str) -> str:
    """Return a URL slug of a name or tag (``Camille Ferrand`` -> ``camille-ferrand``)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    kept = "".join(c if c.isalnum() else "-" for c in plain.lower())
    return "-".join(part for part in kept.split("-") if part)


def when(value: str) -> datetime:
    """Parse an ISO 8601 date of the content files."""
    return datetime.fromisoformat(value)


def pick(items: list[Page], seed: str, count: int) -> list[Page]:
    """Choose ``count`` items the same way on every build (a stable shuffle keyed by ``seed``)."""

    def rank(page: Page) -> str:
        return hashlib.sha256((seed + page.path).encode()).hexdigest()

    return sorted(items, key=rank)[:count]


def author_urls(outlet_root: str, names: list[str]) -> list[str]:
    """Return the author page paths of ``names``."""
    return [f"{outlet_root}{slugify(name)}/" for name in names]


def json_script(data: dict[str, Any]) -> str:
    """Return a JSON-LD script element; ``</`` is escaped so the JSON cannot end the script."""
    text = json.dumps(data, ensure_ascii=False, indent=2).replace("</", "<\\/")
    return f'<script type="application/ld+json">\n{text}\n</script>'


def news_article_jsonld(outlet: Outlet, page: Page, author_root: str) -> dict[str, Any]:
    """Return the schema.org NewsArticle of a page, its author shaped as the page declares."""
    people = [
        {"@type": page.author_type, "name": name, "url": absolute(url)}
        for name, url in zip(page.authors, author_urls(author_root, page.authors), strict=True)
    ]
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "mainEntityOfPage": {"@type": "WebPage", "@id": absolute(page.path)},
        "headline": page.headline,
        "description": page.description,
        "datePublished": page.date_published,
    }
    if page.date_modified:
        data["dateModified"] = page.date_modified
    if page.author_type == "Organization":
        data["author"] = {"@type": "Organization", "name": page.authors[0]}
    else:
        data["author"] = people[0] if len(people) == 1 else people
    photos = ([page.lead] if page.lead else []) + page.inline
    if photos:
        data["image"] = [absolute(photo.src) for photo in photos]
    data["articleSection"] = page.section
    if page.tags:
        data["keywords"] = page.tags
    data["inLanguage"] = outlet.language
    data["publisher"] = {
        "@type": "NewsMediaOrganization",
        "name": outlet.title,
        "logo": {"@type": "ImageObject", "url": absolute("/media/logo.jpg")},
    }
    if page.kind == "paywall":
        data["isAccessibleForFree"] = False
        data["hasPart"] = {
            "@type": "WebPageElement",
            "isAccessibleForFree": False,
            "cssSelector": ".paywalled",
        }
    return data


def head_meta(outlet: Outlet, page: Page, og_type: str = "article") -> str:
    """Return the description, canonical, OpenGraph and article meta tags of a page."""
    lines = [
        f'<meta name="description" content="{attr(page.description)}">',
        f'<link rel="canonical" href="{absolute(page.path)}">',
        f'<meta property="og:site_name" content="{attr(outlet.title)}">',
        f'<meta property="og:type" content="{og_type}">',
        f'<meta property="og:title" content="{attr(page.headline)}">',
        f'<meta property="og:description" content="{attr(page.description)}">',
        f'<meta property="og:url" content="{absolute(page.path)}">',
        f'<meta property="og:locale" content="{outlet.language.replace("-", "_")}">',
    ]
    if page.lead:
        lines.append(f'<meta property="og:image" content="{absolute(page.lead.src)}">')
    if og_type == "article":
        lines.append(f'<meta property="article:published_time" content="{page.date_published}">')
        if page.date_modified:
            lines.append(f'<meta property="article:modified_time" content="{page.date_modified}">')
        if page.section:
            lines.append(f'<meta property="article:section" content="{attr(page.section)}">')
        lines += [f'<meta property="article:tag" content="{attr(tag)}">' for tag in page.tags]
        if page.authors:
            lines.append(f'<meta name="author" content="{attr(", ".join(page.authors))}">')
    lines.append('<meta name="twitter:card" content="summary_large_image">')
    return "\n".join(lines)


@dataclass(frozen=True)
class Teaser:
    """A link to a page as a front, tag or author page shows it."""

    href: str
    """Path (with any tracking suffix) of the linked page."""
    title: str
    summary: str
    date: str
    kicker: str = ""
    image: str = ""


def teaser_of(page: Page) -> Teaser:
    """Return the teaser of a page, linked as listings link it."""
    return Teaser(
        href=page.listed_href("section"),
        title=page.headline,
        summary=page.description,
        date=page.date_published,
        kicker=page.kicker or page.section,
        image=page.lead.src if page.lead else "",
    )


class Theme(ABC):
    """The markup of one outlet: page chrome plus the article, video and gallery layouts."""

    author_root = "/authors/"
    tag_root = "/tags/"
    section_intro = "The latest news"
    previous_label = "Previous page"
    home_intro = "Top stories"
    region_fronts = False
    """Whether the outlet has a front page per region (``/world/europe/``)."""

    @abstractmethod
    def document(self, outlet: Outlet, title: str, head: str, body: str) -> str:
        """Wrap ``body`` in the outlet's full page: header, navigation, consent banner, footer."""

    @abstractmethod
    def article(self, outlet: Outlet, page: Page) -> str:
        """Return the full page of an article (or a paywalled teaser)."""

    @abstractmethod
    def video(self, outlet: Outlet, page: Page) -> str:
        """Return a video page: a player and a one-line summary."""

    @abstractmethod
    def gallery(self, outlet: Outlet, page: Page) -> str:
        """Return a photo gallery page: photos with captions and nothing else."""

    @abstractmethod
    def listing(
        self,
        outlet: Outlet,
        path: str,
        title: str,
        intro: str,
        teasers: list[Teaser],
        next_path: str = "",
        extra: str = "",
    ) -> str:
        """Return a list page (section front, tag or author page) of teasers."""

    def author_page(self, name: str) -> str:
        """Return the path of the author page of ``name``."""
        return f"{self.author_root}{slugify(name)}/"

    def largest(self, photo: Photo) -> str:
        """Return the path of the largest rendition of ``photo`` the page offers."""
        return photo.src

    def related(self, outlet: Outlet, page: Page, count: int) -> list[Page]:
        """Choose other articles of the outlet to link from ``page``."""
        others = [p for p in outlet.articles if p.path != page.path and "disallowed" not in p.roles]
        return pick(others, page.path, count)

    def comments(self, outlet: Outlet, page: Page) -> list[tuple[str, str]]:
        """Choose two reader comments for ``page`` from the outlet's pool."""
        start = int(hashlib.sha256(page.path.encode()).hexdigest(), 16) % len(outlet.comments)
        return [outlet.comments[start], outlet.comments[(start + 1) % len(outlet.comments)]]

"""The manifest: what every page of the site is, so tests can check what a crawl archived."""

from __future__ import annotations

from typing import Any

from crawler.demosite.builder.common import Theme
from crawler.demosite.builder.content import Link, Outlet, Page

MANIFEST_VERSION = 1
Listed = dict[str, list[dict[str, str]]]
"""Listed path -> every place it is listed: ``{"via", "on", "href"}``."""


def _images(page: Page, theme: Theme) -> list[dict[str, str]]:
    photos = [("lead", page.lead)] if page.lead else []
    photos += [("inline", photo) for photo in page.inline]
    photos += [("inline", photo) for photo in page.photos]
    return [
        {
            "src": theme.largest(photo),
            "caption": photo.caption,
            "credit": photo.credit,
            "alt": photo.alt,
            "role": role,
        }
        for role, photo in photos
        if photo is not None
    ]


def _body_facts(page: Page) -> dict[str, Any]:
    text = page.text_paragraphs
    return {
        "first_paragraph": text[0] if text else None,
        "last_paragraph": text[-1] if text else None,
        "body_words": sum(len(p.split()) for p in text),
    }


def page_entry(outlet: Outlet, page: Page, theme: Theme, listed: Listed) -> dict[str, Any]:
    """Describe one hand-written page: what a correct extraction of it must find."""
    roles = list(page.roles)
    if page.kind != "article":
        roles.append(f"not_article:{page.kind}")
    if page.redirect_from:
        roles.append("redirect_to")
    if page.editions:
        roles.append("two_editions")
    if len({page.listed_href(via) for via in page.discovery}) > 1:
        roles.append("two_routes")
    listed_path = page.redirect_from or page.path
    entry: dict[str, Any] = {
        "path": page.path,
        "status": 200,
        "is_article": page.kind == "article",
        "roles": roles,
        "discovered_via": list(page.discovery),
        "listed": listed.get(listed_path, []),
        "headline": page.headline,
        "authors": list(page.authors),
        "section": page.section or None,
        "date_published": page.date_published,
        "date_modified": page.date_modified or None,
        "language": outlet.language,
        "description": page.description or None,
        "canonical_path": page.path,
        "has_jsonld": page.jsonld and page.kind in ("article", "paywall", "video"),
        "tags": list(page.tags),
        "images": _images(page, theme),
        **_body_facts(page),
    }
    if page.redirect_from:
        entry["redirect_from"] = page.redirect_from
    if page.editions:
        entry["editions"] = {
            str(change.number): {
                "headline": change.headline,
                "date_modified": change.date_modified,
                "changed_paragraphs": sorted(change.replace.values()),
                "added_paragraphs": sorted(change.insert.values()),
                **_body_facts(page.edition(change.number)),
            }
            for change in page.editions
        }
    return entry


def redirect_entry(page: Page, listed: Listed) -> dict[str, Any]:
    """Describe the old URL of a moved article."""
    return {
        "path": page.redirect_from,
        "status": 301,
        "is_article": False,
        "roles": ["redirect_from"],
        "location": page.path,
        "discovered_via": list(page.discovery),
        "listed": listed.get(page.redirect_from, []),
    }


def link_entry(link: Link, listed: Listed) -> dict[str, Any]:
    """Describe a listed URL without a page: a 404 or a 500."""
    entry: dict[str, Any] = {
        "path": link.path,
        "status": link.status,
        "is_article": False,
        "roles": [str(link.status)],
        "discovered_via": list(link.discovery),
        "listed": listed.get(link.path, []),
        "headline": link.title,
    }
    if link.location:
        entry["location"] = link.location
    return entry


def generated_entry(path: str, role: str, title: str) -> dict[str, Any]:
    """Describe a generated non-article page (home, section front, tag or author page)."""
    return {
        "path": path,
        "status": 200,
        "is_article": False,
        "roles": [f"not_article:{role}"],
        "discovered_via": [],
        "listed": [],
        "headline": title,
    }


def outlet_entry(outlet: Outlet, pages: list[dict[str, Any]]) -> dict[str, Any]:
    """Describe an outlet: how it is discovered and every page it has."""
    return {
        "title": outlet.title,
        "language": outlet.language,
        "feeds": outlet.feeds,
        "sitemaps": outlet.sitemaps,
        "sections": outlet.sections,
        "article_patterns": outlet.article_patterns,
        "robots_disallow": outlet.robots_disallow,
        "pages": sorted(pages, key=lambda p: p["path"]),
    }

"""The parts of a page an outlet repeats everywhere: styles, scripts, navigation, footer.

On real news pages these, not the story, make up most of the bytes; they are built once per
outlet from its seed. :func:`state_blob` pads each page to its own size with the kind of
hydration data news sites inline (recommendations, teasers), drawn from a per-outlet pool.
"""

from __future__ import annotations

import json
import random
from html import escape
from typing import TYPE_CHECKING

from bench.text import headline, sentence, slugify, words

if TYPE_CHECKING:
    from bench.site import ArticleMeta, Outlet

_PROPERTIES = (
    "display:flex",
    "display:block",
    "display:grid;grid-template-columns:repeat(12,1fr)",
    "margin:0 auto",
    "padding:12px 16px",
    "color:#121212",
    "color:#707070",
    "background:#f6f6f6",
    "border-bottom:1px solid #dcdcdc",
    "font:400 17px/1.55 Georgia,'Times New Roman',serif",
    "font:700 14px/1.2 -apple-system,'Helvetica Neue',Arial,sans-serif",
    "text-transform:uppercase;letter-spacing:.04em",
    "position:relative",
    "max-width:1300px",
    "transition:opacity .2s ease-in-out",
    "overflow:hidden;text-overflow:ellipsis;white-space:nowrap",
)
_COMPONENTS = (
    "header", "nav", "menu", "teaser", "card", "story", "media", "caption", "byline", "footer",
    "grid", "rail", "ad", "share", "button", "live", "ticker", "promo", "newsletter", "badge",
)  # fmt: skip


def stylesheet(outlet: Outlet) -> str:
    """Return the outlet's inline stylesheet, about 10 to 20 KB."""
    rng = random.Random(f"{outlet.name}:css")
    rules = []
    for number in range(rng.randint(120, 220)):
        component = rng.choice(_COMPONENTS)
        selector = f".{outlet.name[:2]}-{component}__{rng.choice(_COMPONENTS)}--{number}"
        if rng.random() < 0.15:
            selector = f"@media (min-width:{rng.choice((740, 980, 1140, 1300))}px){{{selector}"
        body = ";".join(rng.sample(_PROPERTIES, rng.randint(2, 5)))
        rules.append(f"{selector}{{{body}}}" + ("}" if selector.startswith("@media") else ""))
    return "\n".join(rules)


def config_script(outlet: Outlet) -> str:
    """Return the outlet's analytics, ad and feature-flag configuration script."""
    rng = random.Random(f"{outlet.name}:config")
    slots = [
        {
            "id": f"dfp-ad--{name}",
            "sizes": [[300, 250], [728, 90], [970, 250]][: rng.randint(1, 3)],
            "targeting": {"pos": name, "kw": words(rng, outlet.language, 6)},
        }
        for name in ("top", "inline1", "inline2", "right", "merch", "bottom", "oop")
    ]
    flags = {f"switch{number}": rng.random() < 0.5 for number in range(60)}
    config = {"site": outlet.site_name, "edition": outlet.language, "adSlots": slots, "ab": flags}
    return (
        "window.dataLayer=window.dataLayer||[];"
        f"window.__CONFIG__={json.dumps(config, separators=(',', ':'), ensure_ascii=False)};"
        "(function(w,d){var s=d.createElement('script');s.async=true;"
        "s.src='/static/js/vendor.'+w.__CONFIG__.edition+'.js';"
        "d.head.appendChild(s);})(window,document);"
    )


_ICON = (
    '<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M12 2l3 7h7l-5.5 4 2 7L12 16'
    'l-6.5 4 2-7L2 9h7z"/><path d="M4 4h16v16H4z" fill="none"/></svg>'
)


def _logo(outlet: Outlet) -> str:
    rng = random.Random(f"{outlet.name}:logo")
    paths = "".join(
        f'<path d="M{rng.randint(0, 300)} {rng.randint(0, 60)}c{rng.randint(-9, 9)} '
        f'{rng.randint(-9, 9)} {rng.randint(-9, 9)} {rng.randint(-9, 9)} {rng.randint(0, 20)} 0z"/>'
        for _ in range(40)
    )
    return (
        f'<a class="logo" href="/" data-link-name="nav : logo"><svg viewBox="0 0 300 60" '
        f'role="img"><title>{escape(outlet.site_name)}</title>{paths}</svg></a>'
    )


def navigation(outlet: Outlet) -> str:
    """Return the outlet's header: logo, mega menu of ten pillars, edition and social links.

    About 800 elements, as on real news sites, where the menu is most of the DOM.
    """
    rng = random.Random(f"{outlet.name}:nav")
    pillars = [*outlet.sections, *(" ".join(words(rng, outlet.language, 1)) for _ in range(4))]
    items = []
    for name in pillars[:10]:
        slug = slugify(name)
        links = "".join(
            f'<li class="menu__sub-item"><a class="menu__link" href="/{slug}/{slugify(topic)}" '
            f'data-link-name="nav : {slug} : {slugify(topic)}"><span class="menu__label">'
            f"{escape(topic)}</span></a></li>"
            for topic in (" ".join(words(rng, outlet.language, 2)) for _ in range(14))
        )
        items.append(
            f'<li class="menu__item" role="none"><button class="menu__toggle" aria-expanded='
            f'"false"><span class="menu__label">{escape(name.title())}</span>{_ICON}</button>'
            f'<ul class="menu__sub" role="menu">{links}</ul></li>'
        )
    social = "".join(
        f'<li class="social__item"><a class="social__link" href="/social/{network}" '
        f'aria-label="{network}">{_ICON}</a></li>'
        for network in ("facebook", "x", "instagram", "youtube", "tiktok", "whatsapp")
    )
    return (
        f"{_logo(outlet)}"
        f'<ul class="menu__list" role="menubar">{"".join(items)}</ul>'
        f'<div class="edition-picker"><ul class="social">{social}</ul></div>'
    )


def footer(outlet: Outlet) -> str:
    """Return the outlet's footer: link columns, social icons, legal text, copyright."""
    rng = random.Random(f"{outlet.name}:footer")
    columns = []
    for _ in range(6):
        links = "".join(
            f'<li class="footer__item"><a class="footer__link" href="/info/{slugify(label)}">'
            f"{escape(label.title())}</a></li>"
            for label in (" ".join(words(rng, outlet.language, 2)) for _ in range(10))
        )
        columns.append(f'<div class="footer__col"><ul class="footer__links">{links}</ul></div>')
    legal = " ".join(sentence(rng, outlet.language) for _ in range(6))
    return (
        f'<div class="footer__columns">{"".join(columns)}</div>'
        f'<div class="footer__social">{_ICON * 6}</div>'
        f'<p class="footer__legal">{escape(legal)}</p>'
        f'<p class="footer__copyright">© 2025 {escape(outlet.site_name)}</p>'
    )


def card_pool(outlet: Outlet) -> list[str]:
    """Return 300 teaser cards (about 20 elements each) for the onward-journey rails."""
    rng = random.Random(f"{outlet.name}:cards")
    cards = []
    for number in range(300):
        title = headline(rng, outlet.language)
        href = f"/{rng.choice(outlet.sections)}/{slugify(title)}"
        image = f"/img/teasers/{number:05d}"
        cards.append(
            f'<div class="card card--{rng.choice(("small", "medium", "large"))}">'
            f'<a class="card__link" href="{href}" data-link-name="onward : {number}">'
            f'<div class="card__media"><picture><source srcset="{image}-460.webp 460w, '
            f'{image}-940.webp 940w" type="image/webp"><source srcset="{image}-460.jpg 460w, '
            f'{image}-940.jpg 940w"><img class="card__img" src="{image}-460.jpg" alt="" '
            'loading="lazy" width="460" height="276"></picture></div>'
            f'<div class="card__text"><span class="card__kicker">'
            f"{escape(' '.join(words(rng, outlet.language, 2)))}</span>"
            f'<h3 class="card__title"><span>{escape(title)}</span></h3></div></a>'
            f'<footer class="card__meta"><time class="card__time">{rng.randint(1, 59)}m</time>'
            f'<span class="card__comments">{_ICON}<span>{rng.randint(0, 900)}</span></span>'
            "</footer></div>"
        )
    return cards


def rails(outlet: Outlet, cards: list[str], rng: random.Random, size: int) -> str:
    """Return "most viewed" and "more stories" rails of about ``size`` bytes of cards."""
    picked: list[str] = []
    total = 0
    while total < size:
        picked.append(rng.choice(cards))
        total += len(picked[-1]) + 20
    half = len(picked) // 2
    return (
        '<section class="onward most-viewed"><h2>Most viewed</h2>'
        f'<div class="onward__cards">{"".join(picked[:half])}</div></section>'
        '<section class="onward more-stories"><h2>More stories</h2>'
        f'<div class="onward__cards">{"".join(picked[half:])}</div></section>'
    )


def recommendation_pool(outlet: Outlet) -> list[str]:
    """Return 300 JSON-encoded teaser objects the pages pick their padding from."""
    rng = random.Random(f"{outlet.name}:pool")
    pool = []
    for number in range(300):
        title = headline(rng, outlet.language)
        item = {
            "id": f"{outlet.name}-{number:05d}",
            "type": rng.choice(("article", "video", "gallery", "liveblog")),
            "title": title,
            "kicker": " ".join(words(rng, outlet.language, 2)),
            "url": f"/{rng.choice(outlet.sections)}/{slugify(title)}",
            "image": {
                "src": f"/img/teasers/{number:05d}.jpg",
                "width": 640,
                "height": 360,
                "alt": " ".join(words(rng, outlet.language, 5)),
            },
            "summary": sentence(rng, outlet.language),
            "comments": rng.randint(0, 900),
        }
        pool.append(json.dumps(item, separators=(",", ":"), ensure_ascii=False))
    return pool


def state_blob(pool: list[str], rng: random.Random, size: int) -> str:
    """Return a hydration ``<script>`` of about ``size`` bytes from the outlet's teaser pool."""
    picked: list[str] = []
    total = 0
    while total < size:
        item = rng.choice(pool)
        picked.append(item)
        # Non-ASCII letters take two bytes; the estimate need not be exact.
        total += len(item) + len(item) // 40 + 1
    return (
        "<script>window.__INITIAL_STATE__="
        f'{{"recommendations":[{",".join(picked)}],"version":3}};</script>'
    )


def json_ld(meta: ArticleMeta, url: str, base: str, image: str) -> str:
    """Return the page's JSON-LD: a NewsArticle and its breadcrumb trail."""
    outlet = meta.outlet
    article = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": meta.headline,
        "description": meta.summary,
        "datePublished": meta.published.isoformat(),
        "dateModified": meta.modified.isoformat(),
        "author": [{"@type": "Person", "name": name} for name in meta.authors],
        "image": [image],
        "articleSection": meta.section.title(),
        "inLanguage": outlet.language,
        "isAccessibleForFree": True,
        "mainEntityOfPage": url,
        "publisher": {
            "@type": "NewsMediaOrganization",
            "name": outlet.site_name,
            "logo": {"@type": "ImageObject", "url": f"{base}/static/logo.png"},
        },
    }
    crumbs = {
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": 1, "name": "Home", "item": f"{base}/"},
            {
                "@type": "ListItem",
                "position": 2,
                "name": meta.section.title(),
                "item": f"{base}/{meta.section}/",
            },
        ],
    }
    text = json.dumps([article, crumbs], ensure_ascii=False).replace("</", "<\\/")
    return f'<script type="application/ld+json">{text}</script>'


def head(
    meta: ArticleMeta, url: str, base: str, image: str, styles: str, config: str, feed: str
) -> str:
    """Return an article's ``<head>``: title, canonical, OpenGraph, JSON-LD, styles, config."""
    outlet = meta.outlet
    title = escape(meta.headline)
    summary = escape(meta.summary)
    tags = "".join(
        f'<meta property="article:tag" content="{escape(tag)}">'
        for tag in (meta.section.title(), outlet.site_name)
    )
    return (
        f'<!DOCTYPE html>\n<html lang="{outlet.language}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title} | {escape(outlet.site_name)}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="description" content="{summary}">\n'
        f'<link rel="canonical" href="{url}">\n'
        f'<meta property="og:type" content="article">\n'
        f'<meta property="og:title" content="{title}">\n'
        f'<meta property="og:description" content="{summary}">\n'
        f'<meta property="og:url" content="{url}">\n'
        f'<meta property="og:image" content="{image}">\n'
        f'<meta property="og:site_name" content="{escape(outlet.site_name)}">\n'
        f'<meta property="article:published_time" content="{meta.published.isoformat()}">\n'
        f'<meta property="article:modified_time" content="{meta.modified.isoformat()}">\n'
        f'<meta property="article:section" content="{escape(meta.section.title())}">\n{tags}\n'
        '<meta name="twitter:card" content="summary_large_image">\n'
        f'<link rel="preload" as="font" href="{base}/static/fonts/text.woff2" crossorigin>\n'
        f'<link rel="alternate" type="application/rss+xml" href="{feed}">\n'
        f"{json_ld(meta, url, base, image)}\n<style>{styles}</style>\n<script>{config}</script>\n"
        "</head>\n"
    )

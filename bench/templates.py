"""Render the site's pages: four article layouts, section pages and RSS feeds.

Each outlet marks its story up its own way (semantic HTML5, BEM-style divs, microdata, terse
generated class names), with figures and captions, bylines, inline "read also" boxes, ad slots,
share bars, related links and comments around it, as real news pages do.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING

from bench import assets
from bench.text import AGENCIES, headline, paragraph, person, sentence, words

if TYPE_CHECKING:
    from bench.site import ArticleMeta, BenchSite, Outlet

RAIL = "<!--rail-->"
"""Where a layout wants the onward-journey rails."""
MIN_PAGE_BYTES = 55_000
MAX_PAGE_BYTES = 190_000
"""An article page's size is drawn between these; the site promises 50 to 200 KB."""


@dataclass(frozen=True, slots=True)
class Figure:
    """A picture of the story with its caption and credit."""

    src: str
    alt: str
    caption: str
    credit: str


@dataclass(frozen=True, slots=True)
class Story:
    """Everything a layout needs to render one article page's ``<body>``."""

    meta: ArticleMeta
    url: str
    base: str
    paragraphs: list[str]
    subheads: dict[int, str]
    figures: list[Figure]
    related: list[ArticleMeta]
    comments: list[tuple[str, str]]
    nav: str
    footer: str


class Chrome:
    """One outlet's repeated page parts, built once, and its page renderers."""

    def __init__(self, outlet: Outlet, site: BenchSite) -> None:
        self.outlet = outlet
        self.site = site
        self.styles = assets.stylesheet(outlet)
        self.config = assets.config_script(outlet)
        self.nav = assets.navigation(outlet)
        self.footer = assets.footer(outlet)
        self.cards = assets.card_pool(outlet)
        self.pool = assets.recommendation_pool(outlet)

    def article(self, meta: ArticleMeta, base: str, rng: random.Random) -> str:
        """Return the HTML of an article page, between 55 and 190 KB."""
        outlet = self.outlet
        language = outlet.language
        target = rng.randint(MIN_PAGE_BYTES, MAX_PAGE_BYTES)
        count = rng.randint(8, 30)
        paragraphs = [paragraph(rng, language) for _ in range(count)]
        subheads = {n: headline(rng, language) for n in range(5, count - 2, rng.randint(5, 9))}
        figures = [
            Figure(
                src=f"{base}/img/{meta.article_id}-{n}.jpg",
                alt=" ".join(words(rng, language, 6)),
                caption=sentence(rng, language, 6, 16),
                credit=f"{person(rng, language)}/{rng.choice(AGENCIES)}",
            )
            for n in range(rng.randint(1, 4))
        ]
        total = self.site.counts[outlet.name]
        related = [
            self.site.meta(outlet, (meta.index + step) % total)
            for step in range(1, min(total, rng.randint(5, 9)))
        ]
        comments = [
            (person(rng, language), " ".join(sentence(rng, language) for _ in range(2)))
            for _ in range(rng.choice((0, 0, 3, 8, 12)))
        ]
        story = Story(
            meta,
            base + meta.path,
            base,
            paragraphs,
            subheads,
            figures,
            related,
            comments,
            self.nav,
            self.footer,
        )
        feed = base + outlet.feed_path.format(section=meta.section)
        page = assets.head(meta, story.url, base, figures[0].src, self.styles, self.config, feed)
        page += LAYOUTS[outlet.template](story)
        # Whatever the story leaves of the page's size goes to onward links (markup, as heavy
        # for a parser as on real pages) and inline hydration data (text, light for a parser).
        padding = target - len(page.encode()) - 200
        markup = int(padding * rng.uniform(0.5, 0.8))
        page = page.replace(RAIL, assets.rails(outlet, self.cards, rng, markup), 1)
        blob = assets.state_blob(self.pool, rng, padding - markup)
        return page + blob + "\n</body>\n</html>\n"

    def section(
        self,
        name: str,
        page: int,
        items: list[ArticleMeta],
        more: bool,
        built: datetime,
        base: str,
    ) -> str:
        """Return a section page: navigation, 50 teasers, a link to the next page, footer."""
        outlet = self.outlet
        path = outlet.section_path.format(section=name)
        teasers = "".join(
            f'<div class="teaser"><a class="teaser__link" href="{item.path}">'
            f'<img class="teaser__img" src="{base}/img/{item.article_id}-0.jpg" alt="">'
            f'<h3 class="teaser__title">{escape(item.headline)}</h3></a>'
            f'<p class="teaser__summary">{escape(item.summary)}</p>'
            f'<time datetime="{item.published.isoformat()}">{item.published:%d.%m.%Y %H:%M}'
            "</time></div>"
            for item in items
        )
        pager = f'<a class="pager__next" rel="next" href="{path}?page=2">2</a>' if more else ""
        rng = random.Random(f"{outlet.name}:{name}:{page}")
        return (
            f'<!DOCTYPE html>\n<html lang="{outlet.language}">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{escape(name.title())} | {escape(outlet.site_name)}</title>\n"
            f'<link rel="canonical" href="{base}{path}">\n'
            '<meta property="og:type" content="website">\n'
            f"<style>{self.styles}</style>\n<script>{self.config}</script>\n</head>\n<body>\n"
            f'<header class="site-header"><nav class="main-nav">{self.nav}</nav></header>\n'
            f'<main><h1 class="section-title">{escape(name.title())}</h1>'
            f'<p class="updated">{built:%Y-%m-%d %H:%M}</p>'
            f'<div class="section-grid">{teasers}</div>'
            f'<nav class="pager">{pager}</nav></main>\n'
            f'<footer class="site-footer">{self.footer}</footer>\n'
            f"{assets.state_blob(self.pool, rng, 20_000)}\n</body>\n</html>\n"
        )


def feed(outlet: Outlet, name: str, items: list[ArticleMeta], built: datetime, base: str) -> str:
    """Return a section's RSS 2.0 feed of its newest articles."""
    from bench.site import http_date

    entries = "".join(
        f"<item><title>{escape(item.headline)}</title><link>{base}{item.path}</link>"
        f'<guid isPermaLink="true">{base}{item.path}</guid>'
        f"<pubDate>{http_date(item.published)}</pubDate>"
        f"<dc:creator>{escape(', '.join(item.authors))}</dc:creator>"
        f"<description>{escape(item.summary)}</description>"
        f'<media:content url="{base}/img/{item.article_id}-0.jpg" medium="image"/></item>\n'
        for item in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:media="http://search.yahoo.com/mrss/">\n<channel>'
        f"<title>{escape(outlet.site_name)}: {escape(name.title())}</title>"
        f"<link>{base}{outlet.section_path.format(section=name)}</link>"
        f"<description>{escape(outlet.site_name)}</description>"
        f"<language>{outlet.language}</language>"
        f"<lastBuildDate>{http_date(built)}</lastBuildDate>\n{entries}</channel>\n</rss>\n"
    )


def _authors(meta: ArticleMeta, joiner: str) -> str:
    return f" {joiner} ".join(
        f'<a rel="author" href="/profile/{escape(name.lower().replace(" ", "-"))}">'
        f"{escape(name)}</a>"
        for name in meta.authors
    )


def _related(story: Story, cls: str, title: str) -> str:
    links = "".join(
        f'<li><a href="{item.path}">{escape(item.headline)}</a></li>' for item in story.related
    )
    return f'<aside class="{cls}"><h2>{escape(title)}</h2><ul>{links}</ul></aside>'


def _comments(story: Story, cls: str, title: str) -> str:
    items = "".join(
        f'<div class="{cls}__item"><span class="{cls}__author">{escape(author)}</span>'
        f"<p>{escape(text)}</p></div>"
        for author, text in story.comments
    )
    return f'<section class="{cls}" id="{cls}"><h2>{escape(title)}</h2>{items}</section>'


def _courier(story: Story) -> str:
    """Semantic HTML5, Guardian-like: ``<article>``, ``<figure>``/``<figcaption>``."""
    meta, figures = story.meta, story.figures
    body = []
    for n, text in enumerate(story.paragraphs):
        if n in story.subheads:
            body.append(f"<h2>{escape(story.subheads[n])}</h2>")
        body.append(f"<p>{escape(text)}</p>")
        if n == 3:
            body.append(_related(story, "related-inline", "Related"))
        if n % 4 == 2 and n // 4 + 1 < len(figures):
            body.append(_courier_figure(figures[n // 4 + 1], "element-image"))
    section = meta.section.title()
    return (
        '<body class="article-page">\n'
        '<div id="consent-banner" class="cmp-banner"><p>We use cookies.</p></div>\n'
        f'<header class="site-header"><a class="logo" href="{story.base}/">'
        f'{escape(meta.outlet.site_name)}</a><nav class="main-nav">{story.nav}</nav></header>\n'
        '<div class="ad-slot ad-slot--top" id="dfp-ad--top"></div>\n<main id="maincontent">\n'
        f'<article class="story"><nav class="breadcrumbs"><a href="{story.base}/">Home</a> &gt; '
        f'<a href="{story.base}/{meta.section}">{escape(section)}</a></nav>'
        f'<div class="kicker">{escape(section)}</div>'
        f'<h1 class="story-headline">{escape(meta.headline)}</h1>'
        f'<p class="standfirst">{escape(meta.summary)}</p>'
        f'<div class="byline">By {_authors(meta, "and")}</div>'
        f'<time datetime="{meta.published.isoformat()}">{meta.published:%a %d %b %Y %H.%M}</time>'
        f"{_courier_figure(figures[0], 'lead-figure')}"
        '<div class="share-bar"><button>Share</button></div>'
        f'<div class="story-body">{"".join(body)}</div></article>\n'
        f"{_related(story, 'related', 'More on this story')}\n"
        f"{_comments(story, 'comments', 'Comments')}\n{RAIL}</main>\n"
        f'<footer class="site-footer">{story.footer}</footer>\n'
    )


def _courier_figure(figure: Figure, cls: str) -> str:
    return (
        f'<figure class="{cls}"><img src="{figure.src}" width="1200" height="800" '
        f'alt="{escape(figure.alt)}"><figcaption>{escape(figure.caption)} '
        f'<span class="credit">Photograph: {escape(figure.credit)}</span></figcaption></figure>'
    )


def _quotidien(story: Story) -> str:
    """BEM-style divs, Le Monde-like, lazy images in ``<picture>``, a "lire aussi" box."""
    meta, figures = story.meta, story.figures
    body = []
    for n, text in enumerate(story.paragraphs):
        if n in story.subheads:
            body.append(f'<h2 class="article__sub-title">{escape(story.subheads[n])}</h2>')
        body.append(f'<p class="article__paragraph">{escape(text)}</p>')
        if n == 2 and story.related:
            item = story.related[0]
            body.append(
                '<section class="catcher catcher--lire-aussi"><span>Lire aussi</span> '
                f'<a href="{item.path}">{escape(item.headline)}</a></section>'
            )
        if n % 5 == 3 and n // 5 + 1 < len(figures):
            body.append(_quotidien_figure(figures[n // 5 + 1]))
    return (
        '<body class="article">\n'
        f'<header class="Header"><nav class="Nav">{story.nav}</nav></header>\n'
        '<main class="zone zone--article">\n<section class="article__header">'
        f'<p class="breadcrumb"><a href="/{meta.section}/">{escape(meta.section.title())}</a></p>'
        f'<h1 class="article__title">{escape(meta.headline)}</h1>'
        f'<p class="article__desc">{escape(meta.summary)}</p>'
        f'<p class="meta__publisher">Publié le {meta.published:%d/%m/%Y à %Hh%M}, '
        f'<span class="author__name">{_authors(meta, "et")}</span></p>'
        f"{_quotidien_figure(figures[0])}</section>\n"
        f'<article class="article__content">{"".join(body)}</article>\n'
        '<div class="article__share partage"><button>Partager</button></div>\n'
        f"{_comments(story, 'reactions', 'Réactions')}\n"
        f"{_related(story, 'aside__iso articles-lies', 'Sur le même sujet')}\n{RAIL}</main>\n"
        f'<footer class="footer">{story.footer}</footer>\n'
    )


def _quotidien_figure(figure: Figure) -> str:
    return (
        '<figure class="article__media"><picture>'
        f'<source srcset="{figure.src}?w=664 664w, {figure.src}?w=1328 1328w" '
        'media="(min-width: 576px)">'
        '<img class="lazy" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" '
        f'data-src="{figure.src}" '
        f'alt="{escape(figure.alt)}"></picture><figcaption class="article__legend">'
        f'{escape(figure.caption)} <span class="article__credit">{escape(figure.credit)}</span>'
        "</figcaption></figure>"
    )


def _bote(story: Story) -> str:
    """Microdata, Spiegel-like: ``itemprop="articleBody"``, German class names, ad markers."""
    meta, figures = story.meta, story.figures
    body = []
    for n, text in enumerate(story.paragraphs):
        if n in story.subheads:
            body.append(f"<h3>{escape(story.subheads[n])}</h3>")
        body.append(f"<p>{escape(text)}</p>")
        if n % 6 == 4:
            body.append('<div class="anzeige"><span>Anzeige</span><div id="ad-inline"></div></div>')
        if n % 6 == 1 and n // 6 + 1 < len(figures):
            body.append(_bote_figure(figures[n // 6 + 1]))
    return (
        '<body>\n<div class="page" id="page">\n'
        f'<nav class="navigation" role="navigation">{story.nav}</nav>\n<main role="main">\n'
        '<article itemscope itemtype="https://schema.org/NewsArticle"><header>'
        f'<span class="dachzeile">{escape(meta.section.title())}</span>'
        f'<h1 itemprop="headline">{escape(meta.headline)}</h1>'
        f'<p class="intro" itemprop="description">{escape(meta.summary)}</p>'
        f'<div class="autoren">Von <span itemprop="author">{_authors(meta, "und")}</span></div>'
        f'<time itemprop="datePublished" datetime="{meta.published.isoformat()}">'
        f"{meta.published:%d.%m.%Y, %H.%M} Uhr</time></header>"
        f'<div class="bildbox">{_bote_figure(figures[0])}</div>'
        f'<div itemprop="articleBody" class="artikeltext">{"".join(body)}</div>'
        '<div class="teilen"><a href="#">Teilen</a></div></article>\n'
        f"{_related(story, 'verwandte', 'Mehr zum Thema')}\n"
        f"{_comments(story, 'kommentare', 'Kommentare')}\n{RAIL}</main>\n"
        f'<footer class="site-footer">{story.footer}</footer>\n</div>\n'
    )


def _bote_figure(figure: Figure) -> str:
    return (
        f'<figure><img src="{figure.src}" alt="{escape(figure.alt)}" loading="lazy">'
        f'<figcaption><p class="bildunterschrift">{escape(figure.caption)}</p>'
        f'<small class="credit">Foto: {escape(figure.credit)}</small></figcaption></figure>'
    )


def _diario(story: Story) -> str:
    """Short generated class names, El País-like, ads and "lee también" inside the body."""
    meta, figures = story.meta, story.figures
    body = []
    for n, text in enumerate(story.paragraphs):
        body.append(f'<p class="">{escape(text)}</p>')
        if n % 5 == 1:
            body.append('<div class="publicidad ad ad-nstdr"><div id="ad-inline"></div></div>')
        if n == 4 and len(story.related) > 1:
            item = story.related[1]
            body.append(
                '<aside class="relacionados"><p>Lee también</p>'
                f'<a href="{item.path}">{escape(item.headline)}</a></aside>'
            )
        if n % 7 == 6 and n // 7 + 1 < len(figures):
            body.append(_diario_figure(figures[n // 7 + 1]))
    tags = "".join(
        f'<li><a href="/noticias/{w}/">{escape(w)}</a></li>' for w in meta.section.split()
    )
    return (
        '<body>\n<header class="site-header">'
        f'<nav class="menu">{story.nav}</nav></header>\n<main id="main">\n'
        '<article class="a"><header class="a_e">'
        f'<div class="a_k antetitulo">{escape(meta.section.title())}</div>'
        f'<h1 class="a_t">{escape(meta.headline)}</h1>'
        f'<h2 class="a_st">{escape(meta.summary)}</h2></header>'
        f'<div class="a_md"><div class="a_md_a firma">{_authors(meta, "y")}</div>'
        f'<div class="a_md_f"><time datetime="{meta.published.isoformat()}">'
        f"{meta.published:%d %b %Y - %H:%M} CEST</time></div></div>"
        f"{_diario_figure(figures[0])}"
        f'<div class="a_c clearfix" data-dtm-region="articulo_cuerpo">{"".join(body)}</div>'
        f'<ul class="etiquetas">{tags}</ul></article>\n'
        f"{_comments(story, 'comentarios', 'Comentarios')}\n{RAIL}</main>\n"
        f'<footer class="footer">{story.footer}</footer>\n'
    )


def _diario_figure(figure: Figure) -> str:
    return (
        f'<figure class="a_m"><span><img src="{figure.src}" alt="{escape(figure.alt)}" '
        f'width="1200" height="675"></span><figcaption class="a_m_p"><span>'
        f'{escape(figure.caption)}</span> <span class="a_m_m credit">{escape(figure.credit)}'
        "</span></figcaption></figure>"
    )


LAYOUTS: dict[str, Callable[[Story], str]] = {
    "courier": _courier,
    "quotidien": _quotidien,
    "bote": _bote,
    "diario": _diario,
}

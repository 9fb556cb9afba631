"""Le Quotidien: a French paper of record's markup (credits run on in the caption text)."""

# French typography uses the apostrophe U+2019 and the en dash U+2013: meant, not look-alikes.
# ruff: noqa: RUF001

from __future__ import annotations

from crawler.demosite.builder.common import (
    Teaser,
    Theme,
    absolute,
    attr,
    esc,
    head_meta,
    json_script,
    news_article_jsonld,
    slugify,
    when,
)
from crawler.demosite.builder.content import Outlet, Page, Photo

NAV = [
    ("International", "/international/"),
    ("Politique", "/politique/"),
    ("Économie", "/economie/"),
    ("Planète", "/planete/"),
    ("Culture", "/culture/"),
]
MONTHS = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"


def _date(value: str) -> str:
    moment = when(value)
    month = MONTHS.split()[moment.month - 1]
    day = "1er" if moment.day == 1 else str(moment.day)
    return f"{day} {month} {moment.year} à {moment:%Hh%M}"


def credit_line(photo: Photo) -> str:
    """Return the credit as the caption prints it: ``X / AFP`` as is, others as ``Photo: X``."""
    return photo.credit if "/" in photo.credit else f"Photo: {photo.credit}"


def _figure(photo: Photo, css: str) -> str:
    return f"""<figure class="{css}">
  <img src="{absolute(photo.src)}" alt="{attr(photo.alt)}" width="1024" height="683">
  <figcaption class="article__legend">{esc(photo.caption)} {esc(credit_line(photo))}</figcaption>
</figure>"""


class QuotidienTheme(Theme):
    """Markup of Le Quotidien."""

    author_root = "/signataires/"
    tag_root = "/sujet/"
    section_intro = "Toute l’actualité internationale"
    previous_label = "Page précédente"
    home_intro = "À la une"

    def document(self, outlet: Outlet, title: str, head: str, body: str) -> str:
        nav = "\n".join(
            f'    <li class="Nav__item"><a href="{absolute(h)}">{esc(n)}</a></li>' for n, h in NAV
        )
        return f"""<!DOCTYPE html>
<html lang="{outlet.language}">
<head>
<meta charset="UTF-8">
<title>{esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
{head}
</head>
<body class="page-article">
<div id="banniere-consentement" class="gdpr-banner">
  <p>Nous et nos partenaires utilisons des cookies pour mesurer l’audience, personnaliser les
  contenus et la publicité. Vous pouvez accepter ou continuer sans accepter.</p>
  <button class="gdpr-accept">Accepter et continuer</button>
  <button class="gdpr-refuse">Continuer sans accepter</button>
</div>
<header class="Header">
  <a class="Header__logo" href="{absolute("/")}">{esc(outlet.title)}</a>
  <a class="Header__abonnement" href="{absolute("/abonnement/")}">S’abonner</a>
  <nav class="Nav"><ul>
{nav}
  </ul></nav>
</header>
<div class="dfp-slot dfp__banner pub"><div class="ad">Publicité</div></div>
{body}
<footer class="Footer">
  <p>{esc(outlet.title)} &mdash; journal de référence depuis 1946</p>
  <a href="{absolute("/mentions-legales/")}">Mentions légales</a>
  <a href="{absolute("/confidentialite/")}">Politique de confidentialité</a>
  <a href="{absolute("/aide/")}">Aide</a>
  <p>&copy; Le Quotidien 2026 &ndash; Reproduction interdite sans autorisation.</p>
</footer>
</body>
</html>
"""

    def _authors(self, page: Page) -> str:
        links = [
            f'<a class="article__author-link" href="{absolute(self.author_page(n))}">{esc(n)}</a>'
            for n in page.authors
        ]
        joined = links[0] if len(links) == 1 else ", ".join(links[:-1]) + " et " + links[-1]
        role = f" ({esc(page.author_role)})" if page.author_role else ""
        return f'<span class="meta__author">Par {joined}{role}</span>'

    def article(self, outlet: Outlet, page: Page) -> str:
        head = head_meta(outlet, page)
        if page.jsonld:
            head += "\n" + json_script(news_article_jsonld(outlet, page, self.author_root))
        modified = (
            f', modifié le <time datetime="{page.date_modified}">{_date(page.date_modified)}</time>'
            if page.date_modified
            else ""
        )
        related = self.related(outlet, page, 5)
        parts: list[str] = []
        for number, paragraph in enumerate(page.paragraphs, start=1):
            if paragraph.startswith("## "):
                parts.append(f'<h2 class="article__sub-title">{esc(paragraph[3:])}</h2>')
            else:
                parts.append(f'<p class="article__paragraph">{esc(paragraph)}</p>')
            parts += [_figure(p, "article__media") for p in page.inline if p.after == number]
            if number == 2:
                parts.append(
                    '<p class="article__paragraph article__paragraph--lire-aussi">'
                    f'<a href="{absolute(related[0].path)}">Lire aussi | {esc(related[0].headline)}'
                    "</a></p>"
                )
            if number == 4:
                parts.append(
                    '<div class="dfp-slot pub inread"><div class="ad">Publicité</div></div>'
                )
        tags = " ".join(
            f'<a class="tag" href="{absolute(self.tag_root + slugify(t) + "/")}">{esc(t)}</a>'
            for t in page.tags
        )
        most_read = "\n".join(
            f'      <li><a href="{absolute(p.path)}">{esc(p.headline)}</a></li>'
            for p in related[1:]
        )
        comments = "\n".join(
            f'      <div class="comment"><p class="comment__author">{esc(n)}</p>'
            f'<p class="comment__content">{esc(t)}</p></div>'
            for n, t in self.comments(outlet, page)
        )
        lead = _figure(page.lead, "article__media article__media--lead") if page.lead else ""
        body = f"""<main class="article article--content">
  <section class="zone zone--article">
    <header class="article__header">
      <p class="article__kicker"><a href="{absolute("/international/")}">{esc(page.kicker)}</a></p>
      <h1 class="article__title">{esc(page.headline)}</h1>
      <p class="article__desc">{esc(page.standfirst)}</p>
      <p class="meta meta__date">Publié le
        <time datetime="{page.date_published}">{_date(page.date_published)}</time>{modified}</p>
      {self._authors(page)}
    </header>
    {lead}
    <article class="article__content">
{chr(10).join(parts)}
    </article>
    <section class="article__tags">{tags}</section>
    <section class="comments">
      <h2>Contributions</h2>
{comments}
      <p>Les contributions sont réservées aux abonnés.</p>
    </section>
  </section>
  <aside class="aside-most-read">
    <h2>Les plus lus</h2>
    <ol>
{most_read}
    </ol>
    <div class="newsletter">
      <h3>La lettre de l’international</h3>
      <p>Chaque jeudi, l’essentiel de l’actualité internationale.</p>
      <form><input type="email"><button>S’inscrire</button></form>
    </div>
  </aside>
</main>"""
        return self.document(outlet, f"{page.headline} – {outlet.title}", head, body)

    def video(self, outlet: Outlet, page: Page) -> str:
        head = head_meta(outlet, page, og_type="video.other")
        head += "\n" + json_script(
            {
                "@context": "https://schema.org",
                "@type": "VideoObject",
                "name": page.headline,
                "description": page.standfirst,
                "uploadDate": page.date_published,
                "duration": page.duration,
                "thumbnailUrl": absolute(page.lead.src) if page.lead else "",
            }
        )
        poster = absolute(page.lead.src) if page.lead else ""
        body = f"""<main class="video-page">
  <h1 class="video__title">{esc(page.headline)}</h1>
  <div class="video__player">
    <video controls preload="none" poster="{poster}">
      <source src="{absolute(page.path.replace(".html", ".mp4"))}" type="video/mp4">
    </video>
  </div>
  <p class="video__desc">{esc(page.standfirst)}</p>
</main>"""
        return self.document(outlet, f"{page.headline} – {outlet.title}", head, body)

    def gallery(self, outlet: Outlet, page: Page) -> str:
        head = head_meta(outlet, page, og_type="website")
        figures = "\n".join(
            f'  <div class="portfolio__slide">{_figure(p, "portfolio__media")}</div>'
            for p in page.photos
        )
        body = f"""<main class="portfolio">
  <h1 class="portfolio__title">{esc(page.headline)}</h1>
{figures}
</main>"""
        return self.document(outlet, f"{page.headline} – {outlet.title}", head, body)

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
        items = "\n".join(
            f'  <section class="teaser"><a class="teaser__link" href="{absolute(t.href)}">'
            f'<p class="teaser__kicker">{esc(t.kicker)}</p><h3 class="teaser__title">{esc(t.title)}'
            f'</h3></a><p class="teaser__desc">{esc(t.summary)}</p>'
            f'<span class="meta__date">{_date(t.date)}</span></section>'
            for t in teasers
        )
        pager = (
            f'<nav class="river__pagination"><a rel="next" href="{absolute(next_path)}">'
            "Page suivante</a></nav>"
            if next_path
            else ""
        )
        head = f'<link rel="canonical" href="{absolute(path)}">'
        body = f"""<main class="river">
  <h1 class="river__title">{esc(title)}</h1>
  <p class="river__intro">{esc(intro)}</p>
{items}
{extra}
{pager}
</main>"""
        return self.document(outlet, f"{title} – {outlet.title}", head, body)

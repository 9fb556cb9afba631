"""Finding figures, choosing the image URL, and keeping furniture images out."""

from __future__ import annotations

import pytest

from crawler.extract_html import parse_html
from crawler.images import Figure, find_figures, image_for, is_chrome, strip_furniture_names
from crawler.items import Image

BASE = "https://news.example/world/"


def _figures(body: str) -> list[Figure]:
    tree = parse_html(f"<html><body>{body}</body></html>")
    assert tree is not None
    return find_figures(tree)


def _image(body: str) -> Image | None:
    figures = [figure for figure in _figures(body) if figure.img is not None]
    assert len(figures) == 1
    return image_for(figures[0], BASE, "inline")


@pytest.mark.parametrize(
    ("img", "src"),
    [
        ('<img src="a.jpg">', "https://news.example/world/a.jpg"),
        (
            '<img src="a-640.jpg" srcset="a-640.jpg 640w, a-1280.jpg 1280w, a-320.jpg 320w">',
            "https://news.example/world/a-1280.jpg",
        ),
        (
            '<img src="a.jpg" srcset="a-1x.jpg 1x, a-2x.jpg 2x">',
            "https://news.example/world/a-2x.jpg",
        ),
        (
            '<img src="https://img.example/w_640,h_360/a.jpg"'
            ' srcset="https://img.example/w_640,h_360/a.jpg 640w,'
            ' https://img.example/w_1280,h_720/a.jpg 1280w">',
            "https://img.example/w_1280,h_720/a.jpg",
        ),
        (
            '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="lazy.jpg">',
            "https://news.example/world/lazy.jpg",
        ),
        (
            '<img src="/img/placeholder-grey.png" data-lazy-src="/img/real.jpg">',
            "https://news.example/img/real.jpg",
        ),
        (
            '<img class="lazyload" data-srcset="b-400.jpg 400w, b-1600.jpg 1600w"'
            ' data-src="b.jpg">',
            "https://news.example/world/b-1600.jpg",
        ),
        (
            '<picture><source type="image/webp" srcset="c-800.webp 800w, c-1600.webp 1600w">'
            '<source srcset="c-800.jpg 800w"><img src="c-400.jpg"></picture>',
            "https://news.example/world/c-1600.webp",
        ),
        ('<img src="//cdn.example/d.jpg">', "https://cdn.example/d.jpg"),
    ],
)
def test_best_image_url(img: str, src: str) -> None:
    image = _image(f"<figure>{img}<figcaption>A caption</figcaption></figure>")
    assert image is not None
    assert image.src == src


@pytest.mark.parametrize(
    "img",
    [
        '<img src="https://stats.example/p.gif" width="1" height="1">',
        '<img src="/static/logo.svg">',
        '<img class="author-avatar" src="/people/jane.jpg">',
        '<img src="/icons/share.png">',
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">',
    ],
)
def test_not_a_photo(img: str) -> None:
    assert _image(f"<div>{img}</div>") is None


def test_caption_and_credit_from_elements() -> None:
    image = _image(
        '<figure><img src="a.jpg" alt=" Ships  waiting "><figcaption>'
        '<span class="caption-text">Ships wait off Istanbul.</span>'
        '<span class="credit">REUTERS/Mehmet Yilmaz</span>'
        '<a class="licensing" href="/buy">Acquire Licensing Rights</a></figcaption></figure>'
    )
    assert image == Image(
        src="https://news.example/world/a.jpg",
        caption="Ships wait off Istanbul.",
        credit="REUTERS/Mehmet Yilmaz",
        alt="Ships waiting",
        role="inline",
    )


@pytest.mark.parametrize(
    ("credit_html", "credit"),
    [
        ("<small>Jane Doe/AP</small>", "Jane Doe/AP"),
        ('<span itemprop="copyrightHolder">Harbour Times</span>', "Harbour Times"),
        ('<span class="caption__credit">Photo: Jane Doe</span>', "Jane Doe"),
        ('<span class="photo-credit">(Reuters)</span>', "Reuters"),
    ],
)
def test_credit_elements(credit_html: str, credit: str) -> None:
    image = _image(
        f'<figure><img src="a.jpg"><figcaption>Crowds in Lima. {credit_html}</figcaption></figure>'
    )
    assert image is not None
    assert (image.caption, image.credit) == ("Crowds in Lima.", credit)


def test_credit_in_caption_text() -> None:
    image = _image(
        '<figure><img src="a.jpg"><figcaption>Sergei Lavrov at the G20 (Manish Swarup/AP)'
        "</figcaption></figure>"
    )
    assert image is not None
    assert (image.caption, image.credit) == ("Sergei Lavrov at the G20", "Manish Swarup/AP")


def test_caption_outside_figure_pairs_with_previous_picture() -> None:
    figures = _figures(
        '<div class="body"><p>First paragraph of the story with enough words to matter.</p>'
        '<div class="photo"><img src="a.jpg"></div>'
        '<p class="caption">Dockers on strike. Photo: Jane Doe</p>'
        "<p>Second paragraph of the story with enough words to matter.</p></div>"
    )
    captioned = [figure for figure in figures if figure.caption]
    assert len(captioned) == 1
    assert (captioned[0].caption, captioned[0].credit) == ("Dockers on strike.", "Jane Doe")
    assert captioned[0].img is not None
    assert captioned[0].img.get("src") == "a.jpg"
    assert {element.get("class") for element in captioned[0].prune} == {"photo", "caption"}


def test_caption_holder_with_noscript_copy_is_one_figure() -> None:
    figures = _figures(
        '<div class="media"><img src="data:image/gif;base64,R0lGOD" data-src="a.jpg">'
        '<noscript><img src="a.jpg"></noscript><div class="media-caption">Cranes stand idle.'
        "</div></div>"
    )
    assert len(figures) == 1
    assert figures[0].caption == "Cranes stand idle."


def test_nested_figures_count_once_and_figures_are_in_page_order() -> None:
    figures = _figures(
        '<img src="first.jpg"><figure><figure><img src="inner.jpg"></figure>'
        "<figcaption>Outer caption</figcaption></figure>"
    )
    assert [figure.caption for figure in figures] == [None, "Outer caption"]


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<div class="related-links"></div>', True),
        ('<div class="ad-slot"></div>', True),
        ('<div id="onetrust-banner-sdk"></div>', True),
        ('<div class="article__section-label"></div>', True),
        ('<aside class="x"></aside>', True),
        ('<div class="publicidad"></div>', True),
        ('<div class="article-header"></div>', False),
        ('<div class="loading shadow"></div>', False),
        ('<div class="article__body"></div>', False),
    ],
)
def test_is_chrome(html: str, expected: bool) -> None:
    tree = parse_html(f"<html><body>{html}</body></html>")
    assert tree is not None
    body = tree.find("body")
    assert body is not None
    assert is_chrome(body[0]) is expected


def test_strip_furniture_names_keeps_the_others() -> None:
    tree = parse_html(
        '<html><body><div id="comments-root" class="article-body js-comments-enabled share-tools">'
        '</div><div id="story" class="story"></div></body></html>'
    )
    assert tree is not None
    first, second = tree.findall(".//div")
    strip_furniture_names(first)
    strip_furniture_names(second)
    assert first.get("class") == "article-body"
    assert first.get("id") is None
    assert (second.get("class"), second.get("id")) == ("story", "story")

"""Decoding page bytes and parsing them once."""

from __future__ import annotations

import codecs

import pytest

from crawler.extract_html import (
    base_url,
    decode_html,
    element_text,
    normalize_space,
    parse_html,
    resolve_url,
)

TEXT = "Zürich café \u2013 \u201cquoted\u201d œuvre €5"


def _doc(head: str = "", body: str = TEXT) -> str:
    return f"<html><head>{head}</head><body><p>{body}</p></body></html>"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (_doc('<meta charset="utf-8">').encode("utf-8"), None),
        (_doc().encode("utf-8"), None),
        (codecs.BOM_UTF8 + _doc('<meta charset="windows-1252">').encode("utf-8"), None),
        (codecs.BOM_UTF16_LE + _doc().encode("utf-16-le"), None),
        (codecs.BOM_UTF16_BE + _doc().encode("utf-16-be"), None),
        (_doc('<meta charset="windows-1252">').encode("cp1252"), None),
        # Pages that say Latin-1 mean windows-1252, as browsers read them.
        (_doc('<meta charset="iso-8859-1">').encode("cp1252"), None),
        (
            _doc('<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">').encode(
                "cp1252"
            ),
            None,
        ),
        # The HTTP header outranks the <meta> tag, the BOM outranks both.
        (_doc('<meta charset="utf-8">').encode("cp1252"), "windows-1252"),
        (codecs.BOM_UTF8 + _doc().encode("utf-8"), "windows-1252"),
        # No declaration and not UTF-8: windows-1252.
        (_doc().encode("cp1252"), None),
        # A wrong declaration that cannot decode the bytes falls back to UTF-8.
        (_doc('<meta charset="iso-2022-jp">').encode("utf-8"), None),
        (_doc('<meta charset="x-no-such-charset">').encode("utf-8"), "bogus"),
    ],
)
def test_decode_html(data: bytes, encoding: str | None) -> None:
    assert TEXT in decode_html(data, encoding)


def test_utf16_label_in_meta_means_utf8() -> None:
    data = _doc('<meta charset="utf-16">').encode("utf-8")
    assert TEXT in decode_html(data)


@pytest.mark.parametrize(
    "data", [b"", b"\x81\x8d\x8f\x90\x9d", bytes(range(256)) * 8, b"\xff\xfe\xff"]
)
def test_decode_html_never_raises(data: bytes) -> None:
    assert isinstance(decode_html(data), str)


@pytest.mark.parametrize("text", ["", "  \n", "\x00"])
def test_parse_html_returns_none_for_nothing(text: str) -> None:
    assert parse_html(text) is None


def test_parse_html_accepts_xml_declaration_and_drops_comments() -> None:
    tree = parse_html('<?xml version="1.0" encoding="utf-8"?>' + _doc(body="a<!-- hidden -->b"))
    assert tree is not None
    assert element_text(tree) == "ab"


def test_element_text_spacing() -> None:
    tree = parse_html(
        "<div><p>One<br>two</p><p>Hyper<b>link</b>ed <a>text</a></p>"
        "<script>var x = 1;</script><button>Share</button></div>"
    )
    assert tree is not None
    div = tree.find(".//div")
    assert div is not None
    assert element_text(div) == "One two Hyperlinked text"
    assert element_text(div, skip=lambda element: element.tag == "a") == "One two Hyperlinked"


def test_base_url_and_resolve_url() -> None:
    page = "https://news.example/world/story?x=1"
    tree = parse_html('<html><head><base href="/static/media/"></head><body></body></html>')
    assert tree is not None
    base = base_url(tree, page)
    assert base == "https://news.example/static/media/"
    assert resolve_url(base, "img/a.jpg") == "https://news.example/static/media/img/a.jpg"
    assert resolve_url(base, "//cdn.example/a.jpg") == "https://cdn.example/a.jpg"
    assert resolve_url(base, "data:image/gif;base64,R0lGOD") is None
    assert resolve_url(base, "  ") is None
    assert resolve_url(base, None) is None
    no_base = parse_html(_doc())
    assert no_base is not None
    assert base_url(no_base, page) == page


def test_normalize_space() -> None:
    assert normalize_space("  a\n\t b\u00a0 c ") == "a b c"


@pytest.mark.parametrize("label", ["iso-8859-1", "windows-1252", "latin1", "us-ascii"])
def test_utf8_labelled_latin1_is_read_as_utf8(label: str) -> None:
    # These bytes decode as windows-1252 too ("Ã©" and so on): only the rule gets them right.
    data = _doc(f'<meta charset="{label}">', "Caf\u00e9 \u2018M\u00fcller\u2019 \u20ac5").encode()
    data.decode("cp1252")
    assert "Caf\u00e9 \u2018M\u00fcller\u2019 \u20ac5" in decode_html(data, label)
    assert "Caf\u00e9 \u2018M\u00fcller\u2019 \u20ac5" in decode_html(data)

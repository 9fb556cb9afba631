"""Diffs between article versions: crafted records, then the demo site's live-edited article."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archiver import ArchiverError, open_store
from archiver.cli_diff import DiffError, diff_article, register, url_candidates
from archiver.diff import DIFF_SCHEMA, diff_paragraphs, diff_versions
from archiver.diff_render import render_text, use_color, word_runs
from archiver.sentences import split_sentences
from crawler.demosite.server import DemoSite, load_manifest
from tests.archive_support import DemoArchive, build_demo_archive

ESC = "\x1b["

BASE: dict[str, Any] = {
    "url": "https://news.example/world/2026/11/27/talks",
    "headline": "Ceasefire talks resume in Geneva",
    "authors": ["Ana Ruiz"],
    "section": "World",
    "date_published": "2026-11-27T09:00:00+01:00",
    "date_modified": "2026-11-27T10:00:00+01:00",
    "description": "Negotiators return to the table.",
    "language": "en",
    "tags": ["diplomacy", "Geneva"],
    "images": [
        {
            "src": "https://news.example/img/geneva.jpg",
            "caption": "Delegates arrive at the Palais des Nations.",
            "credit": "Jean Dupont/AP",
            "alt": "Delegates walking",
            "role": "lead",
        }
    ],
    "body": "\n".join(
        [
            "Delegations met on Friday for a second round of talks in Geneva.",
            "Mr. Smith of the U.S. delegation said progress was slow. He expects a long week.",
            "The talks are expected to last a week, officials said.",
            "Protesters gathered outside the building in the afternoon.",
        ]
    ),
}


def edited(**changes: Any) -> dict[str, Any]:
    """Return a copy of the base article with ``changes`` applied."""
    article: dict[str, Any] = json.loads(json.dumps(BASE))
    article.update(changes)
    return article


def paragraphs(*lines: str) -> str:
    return "\n".join(lines)


def record(article: dict[str, Any], version: int) -> dict[str, Any]:
    return {
        "schema": "newsarchive/version/1",
        "identity_url": "https://news.example/world/talks",
        "version": version,
        "captured_at": f"2026-11-2{version}T10:00:00.000000Z",
        "content_sha256": f"{version:064x}",
        "article": article,
    }


# --- sentences ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Mr. Smith went to Washington. He met the U.S. envoy at 5 p.m. on Friday.",
            ["Mr. Smith went to Washington.", "He met the U.S. envoy at 5 p.m. on Friday."],
        ),
        (
            "“It was fine,” he said. “Nobody waited.”",
            ["“It was fine,” he said.", "“Nobody waited.”"],
        ),
        ("Was it over? Yes! It was.", ["Was it over?", "Yes!", "It was."]),
        (
            "Dr. Jones and Gen. Lee met J. F. Kennedy.",
            ["Dr. Jones and Gen. Lee met J. F. Kennedy."],
        ),
        (
            "Prices rose 5.3 percent. Then they fell.",
            ["Prices rose 5.3 percent.", "Then they fell."],
        ),
        ("it ended. and then more", ["it ended. and then more"]),
        ("", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


# --- body -----------------------------------------------------------------------------------


def test_identical_versions_have_no_changes() -> None:
    diff = diff_versions(BASE, edited())
    assert not diff.changed
    assert diff.to_json()["changed"] is False
    assert "no changes" in render_text(diff)


def test_whitespace_only_noise_is_ignored() -> None:
    lines = BASE["body"].split("\n")
    noisy = "\n\n".join(f"  {line.replace(' ', '   ')}\t " for line in lines)
    diff = diff_versions(
        BASE,
        edited(body=noisy, headline=f" {BASE['headline']}\n", authors=["  Ana  Ruiz "]),
    )
    assert not diff.changed, diff.to_json()


def test_added_and_deleted_paragraphs() -> None:
    lines = BASE["body"].split("\n")
    body = paragraphs(lines[0], "A new paragraph on the humanitarian corridor.", *lines[1:3])
    diff = diff_versions(BASE, edited(body=body))
    assert [(c.change, c.old_index, c.new_index) for c in diff.body] == [
        ("added", None, 1),
        ("deleted", 3, None),
    ]
    assert diff.body[0].new == "A new paragraph on the humanitarian corridor."
    assert diff.body[1].old == lines[3]
    assert not diff.fields
    assert not diff.images


def test_edited_paragraph_reports_the_edited_sentence_only() -> None:
    lines = BASE["body"].split("\n")
    revised = (
        "Mr. Smith of the U.S. delegation said progress was very slow. He expects a long week."
    )
    diff = diff_versions(BASE, edited(body=paragraphs(lines[0], revised, *lines[2:])))
    assert len(diff.body) == 1
    change = diff.body[0]
    assert (change.change, change.old_index, change.new_index) == ("edited", 1, 1)
    assert (change.old, change.new) == (lines[1], revised)
    assert [s.to_json() for s in change.sentences] == [
        {
            "change": "edited",
            "old": "Mr. Smith of the U.S. delegation said progress was slow.",
            "new": "Mr. Smith of the U.S. delegation said progress was very slow.",
        }
    ]


def test_sentences_added_and_deleted_inside_an_edited_paragraph() -> None:
    old = "The first sentence stays. The second one goes away now. The third stays too."
    new = "The first sentence stays. The third stays too. A fourth sentence arrives late."
    [change] = diff_paragraphs([old], [new])
    assert change.change == "edited"
    assert [(s.change, s.old, s.new) for s in change.sentences] == [
        ("deleted", "The second one goes away now.", None),
        ("added", None, "A fourth sentence arrives late."),
    ]


def test_a_rewritten_paragraph_is_deleted_and_added_not_edited() -> None:
    changes = diff_paragraphs(
        ["Delegations met on Friday for a second round of talks."],
        ["Stock markets in Asia closed higher after a volatile week."],
    )
    assert [c.change for c in changes] == ["deleted", "added"]


def test_edit_pairs_with_the_closest_paragraph_in_a_replaced_block() -> None:
    old = ["The talks are expected to last a week, officials said on Friday."]
    new = [
        "Fighting continued overnight in the north of the country.",
        "The talks are expected to last two weeks, officials said on Friday.",
    ]
    changes = diff_paragraphs(old, new)
    assert [(c.change, c.old_index, c.new_index) for c in changes] == [
        ("added", None, 0),
        ("edited", 0, 1),
    ]


def test_moved_paragraphs_and_large_rewrites_stay_consistent() -> None:
    old = [f"Paragraph number {n} says something about item {n}." for n in range(150)]
    new = [f"Paragraph number {n} says something else about item {n}." for n in range(150)]
    changes = diff_paragraphs(old, new)
    assert [(c.change, c.old_index, c.new_index) for c in changes] == [
        ("edited", n, n) for n in range(150)
    ]


# --- fields and images ----------------------------------------------------------------------


def test_headline_byline_and_date_changes() -> None:
    diff = diff_versions(
        BASE,
        edited(
            headline="Ceasefire talks resume in Geneva after delay",
            authors=["Ana Ruiz", "Tom Berg"],
            date_modified="2026-11-28T08:00:00+01:00",
            tags=["Geneva", "diplomacy"],
        ),
    )
    fields = {change.field: change for change in diff.fields}
    assert list(fields) == ["headline", "authors", "date_modified", "tags"]
    assert fields["headline"].new == "Ceasefire talks resume in Geneva after delay"
    assert fields["authors"].added == ("Tom Berg",)
    assert fields["authors"].removed == ()
    assert (fields["date_modified"].old, fields["date_modified"].new) == (
        "2026-11-27T10:00:00+01:00",
        "2026-11-28T08:00:00+01:00",
    )
    # Reordered tags: a change with nothing added or removed.
    assert (fields["tags"].added, fields["tags"].removed) == ((), ())
    assert not diff.body


def test_image_caption_changes_matched_by_src() -> None:
    lead = dict(BASE["images"][0])
    inline = {
        "src": "https://news.example/img/crowd.jpg",
        "caption": "Protesters outside.",
        "credit": None,
        "alt": None,
        "role": "inline",
    }
    recaptioned = dict(lead, caption="Delegates arrive at the UN in Geneva.", credit="AP")
    diff = diff_versions(BASE, edited(images=[inline, recaptioned]))
    images = {(c.change, c.src): c for c in diff.images}
    assert set(images) == {("added", inline["src"]), ("edited", lead["src"])}
    change = images[("edited", lead["src"])]
    assert change.fields == ("caption", "credit")
    assert change.old is not None
    assert change.old["caption"] == lead["caption"]
    assert change.new is not None
    assert change.new["caption"] == recaptioned["caption"]

    removed = diff_versions(BASE, edited(images=[]))
    assert [(c.change, c.src) for c in removed.images] == [("removed", lead["src"])]


def test_to_json_structure() -> None:
    lines = BASE["body"].split("\n")
    new = edited(headline="Talks resume", body=paragraphs(*lines, "One more paragraph here."))
    data = diff_versions(record(BASE, 1), record(new, 2)).to_json()
    assert json.loads(json.dumps(data)) == data
    assert data == {
        "schema": DIFF_SCHEMA,
        "identity_url": "https://news.example/world/talks",
        "from": {
            "version": 1,
            "captured_at": "2026-11-21T10:00:00.000000Z",
            "content_sha256": f"{1:064x}",
        },
        "to": {
            "version": 2,
            "captured_at": "2026-11-22T10:00:00.000000Z",
            "content_sha256": f"{2:064x}",
        },
        "changed": True,
        "fields": [{"field": "headline", "old": BASE["headline"], "new": "Talks resume"}],
        "images": [],
        "body": [
            {
                "change": "added",
                "old_index": None,
                "new_index": 4,
                "old": None,
                "new": "One more paragraph here.",
                "sentences": [],
            }
        ],
    }


# --- rendering ------------------------------------------------------------------------------


def test_render_plain_and_coloured() -> None:
    lines = BASE["body"].split("\n")
    revised = lines[2].replace("a week", "two weeks")
    diff = diff_versions(
        record(BASE, 1), record(edited(body=paragraphs(*lines[:2], revised, lines[3])), 2)
    )
    plain = render_text(diff, color=False)
    assert ESC not in plain
    assert "paragraph 3: edited" in plain
    assert f"- {lines[2]}" in plain
    assert f"+ {revised}" in plain
    coloured = render_text(diff, color=True)
    assert "\x1b[31m- " in coloured
    assert "\x1b[32m+ " in coloured
    # Only the changed words are highlighted, in both the old and the new sentence.
    assert "last \x1b[7ma week,\x1b[27m officials said." in coloured
    assert "last \x1b[7mtwo weeks,\x1b[27m officials said." in coloured


def test_render_escapes_control_characters_from_pages() -> None:
    diff = diff_versions(BASE, edited(headline="Talks \x1b[2Jresume"))
    assert ESC not in render_text(diff, color=False)
    assert "\\x1b[2J" in render_text(diff, color=False)


def test_render_images_lists_and_multiline_fields() -> None:
    lead = dict(BASE["images"][0])
    diff = diff_versions(
        BASE,
        edited(
            images=[dict(lead, caption="Delegates arrive in Geneva.")],
            authors=["Tom Berg"],
            description="First line.\nSecond line.",
        ),
    )
    text = render_text(diff)
    assert "- Ana Ruiz\n+ Tom Berg\n" in text
    assert "- Negotiators return to the table.\n+ First line.\n+ Second line.\n" in text
    assert f"image {lead['src']}: edited (caption)\n" in text
    assert f"- caption: {lead['caption']}\n+ caption: Delegates arrive in Geneva.\n" in text
    removed = render_text(diff_versions(BASE, edited(images=[])))
    assert f"image {lead['src']}: removed\n- caption: {lead['caption']}\n" in removed


def test_word_runs_flag_changed_words() -> None:
    old, new = word_runs("the talks last a week", "the talks last two weeks")
    assert old == [("the talks last", False), ("a week", True)]
    assert new == [("the talks last", False), ("two weeks", True)]


class _Stream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_use_color() -> None:
    assert use_color("auto", _Stream(True), {}) is True  # type: ignore[arg-type]
    assert use_color("auto", _Stream(False), {}) is False  # type: ignore[arg-type]
    assert use_color("auto", _Stream(True), {"NO_COLOR": "1"}) is False  # type: ignore[arg-type]
    assert use_color("always", _Stream(False), {"NO_COLOR": "1"}) is True  # type: ignore[arg-type]
    assert use_color("never", _Stream(True), {}) is False  # type: ignore[arg-type]


def test_url_candidates() -> None:
    given = "HTTPS://News.Example:443/world/talks?utm_source=rss&b=2&a=1&fbclid=x#top"
    assert list(url_candidates(given)) == [
        given,
        "HTTPS://News.Example:443/world/talks?utm_source=rss&b=2&a=1&fbclid=x",
        "https://news.example/world/talks?a=1&b=2",
    ]


# --- the demo site's live-edited article ----------------------------------------------------


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite() as demo:
        yield demo


@pytest.fixture(scope="module")
def demo(site: DemoSite, tmp_path_factory: pytest.TempPathFactory) -> DemoArchive:
    tmp = tmp_path_factory.mktemp("diff")
    return build_demo_archive(site, str(tmp / "archive"), tmp)


@pytest.fixture(scope="module")
def edition() -> dict[str, Any]:
    """What the manifest says edition 2 of the two-edition page changed."""
    for spec in load_manifest()["outlets"].values():
        for page in spec["pages"]:
            if "two_editions" in page["roles"]:
                found: dict[str, Any] = page["editions"]["2"]
                return found
    raise AssertionError("the manifest has no two-edition page")


def assert_reports_the_edit(
    data: dict[str, Any], demo: DemoArchive, edition: dict[str, Any]
) -> None:
    assert data["schema"] == DIFF_SCHEMA
    assert data["identity_url"] == demo.edited
    assert (data["from"]["version"], data["to"]["version"]) == (1, 2)
    fields = {change["field"]: change for change in data["fields"]}
    assert set(fields) == {"headline", "date_modified"}
    assert (fields["headline"]["old"], fields["headline"]["new"]) == demo.edited_headlines
    assert fields["headline"]["new"] == edition["headline"]
    assert fields["date_modified"]["new"] == edition["date_modified"]
    assert fields["date_modified"]["old"] != edition["date_modified"]
    assert data["images"] == []
    edits = [change for change in data["body"] if change["change"] == "edited"]
    additions = [change for change in data["body"] if change["change"] == "added"]
    assert [change["new"] for change in edits] == edition["changed_paragraphs"]
    assert [change["new"] for change in additions] == edition["added_paragraphs"]
    assert len(data["body"]) == len(edits) + len(additions)
    for change in edits:
        assert change["sentences"]
        assert all(sentence["change"] == "edited" for sentence in change["sentences"])


def test_api_diff_reports_exactly_the_edit(demo: DemoArchive, edition: dict[str, Any]) -> None:
    with open_store(demo.uri) as store:
        history = store.history(demo.edited)
        diff = diff_versions(history[0], history[1])
        assert diff_article(store, demo.edited) == diff
        # A URL as a feed lists it, with campaign parameters, finds the same article.
        assert diff_article(store, f"{demo.edited}?utm_source=rss&utm_medium=feed#top") == diff
    assert_reports_the_edit(diff.to_json(), demo, edition)


def test_parser_registered_command(demo: DemoArchive, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["diff", demo.edited, "--to", "2", "--json", "--archive", demo.uri])
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["to"]["version"] == 2


def test_api_errors(demo: DemoArchive) -> None:
    single = next(identity for identity in demo.identities if identity != demo.edited)
    with open_store(demo.uri) as store:
        with pytest.raises(DiffError, match="only one version"):
            diff_article(store, single)
        with pytest.raises(DiffError, match="no article archived"):
            diff_article(store, demo.edited + "-not-archived")
        with pytest.raises(DiffError, match="no version 3"):
            diff_article(store, demo.edited, to_version=3)
        with pytest.raises(DiffError, match="nothing after it"):
            diff_article(store, demo.edited, from_version=2)
        assert issubclass(DiffError, ArchiverError)
        reverse = diff_article(store, demo.edited, from_version=2, to_version=1)
    assert [change.change for change in reverse.body] == ["edited", "deleted"]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    child_env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    child_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=child_env,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )


def test_cli_json_reports_exactly_the_edit(demo: DemoArchive, edition: dict[str, Any]) -> None:
    result = run_cli("diff", demo.edited, "--json", "--archive", demo.uri)
    assert result.returncode == 0, result.stderr
    assert_reports_the_edit(json.loads(result.stdout), demo, edition)


def test_cli_plain_when_piped_coloured_when_asked(
    demo: DemoArchive, edition: dict[str, Any]
) -> None:
    plain = run_cli("diff", demo.edited, "--archive", demo.uri)
    assert plain.returncode == 0, plain.stderr
    assert ESC not in plain.stdout
    assert f"+ {edition['headline']}" in plain.stdout
    assert f"+ {edition['added_paragraphs'][0]}" in plain.stdout
    coloured = run_cli("diff", demo.edited, "--color", "always", "--archive", demo.uri)
    assert coloured.returncode == 0, coloured.stderr
    assert "\x1b[31m" in coloured.stdout
    assert "\x1b[32m" in coloured.stdout
    no_color = run_cli(
        "diff", demo.edited, "--archive", demo.uri, "--color", "auto", env={"NO_COLOR": "1"}
    )
    assert no_color.stdout == plain.stdout


def test_cli_errors(demo: DemoArchive) -> None:
    single = next(identity for identity in demo.identities if identity != demo.edited)
    for args, message in [
        ((single,), "only one version of"),
        ((demo.edited + "/missing",), "no article archived under"),
        ((demo.edited, "--from", "0"), "no version 0"),
        ((demo.edited, "--to", "9"), "no version 9"),
    ]:
        result = run_cli("diff", *args, "--archive", demo.uri)
        assert result.returncode == 2, (args, result.stdout)
        assert result.stderr.startswith("newsarchive: error: "), result.stderr
        assert message in result.stderr
    bad = run_cli("diff", demo.edited, "--from", "one", "--archive", demo.uri)
    assert bad.returncode == 2
    assert "invalid int value" in bad.stderr

"""Render a :class:`~archiver.diff.VersionDiff` for people: coloured on a terminal, plain otherwise.

Deletions are red and start with ``-``, additions green with ``+``; in an edited sentence the
words that changed are also shown in reverse video. Plain output is the same text without
escape sequences, for pipes, files and ``NO_COLOR``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from difflib import SequenceMatcher
from typing import Any, Literal, TextIO

from .diff import LIST_FIELDS, FieldChange, ImageChange, ParagraphChange, VersionDiff, VersionSide

ColorMode = Literal["auto", "always", "never"]
COLOR_MODES: tuple[ColorMode, ...] = ("auto", "always", "never")

RED = "\x1b[31m"
GREEN = "\x1b[32m"
CYAN = "\x1b[36m"
BOLD = "\x1b[1m"
REVERSE = "\x1b[7m"
NO_REVERSE = "\x1b[27m"
RESET = "\x1b[0m"

# Archived pages are untrusted: a control character in a headline must not drive the terminal.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def use_color(mode: ColorMode, stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Decide whether to colour: ``always``, ``never``, or ``auto`` (a terminal, no NO_COLOR)."""
    if mode != "auto":
        return mode == "always"
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def render_text(diff: VersionDiff, *, color: bool = False) -> str:
    """Return the diff as text for a reader, with ANSI colours if ``color``."""
    paint = _Painter(color)
    lines = [
        paint.header(f"diff {diff.identity_url or '(article)'}"),
        paint.deleted(f"--- {_side(diff.old, 'old')}"),
        paint.added(f"+++ {_side(diff.new, 'new')}"),
    ]
    if not diff.changed:
        lines.append("no changes")
        return "\n".join(lines) + "\n"
    for field_change in diff.fields:
        lines.extend(_field_lines(field_change, paint))
    for image in diff.images:
        lines.extend(_image_lines(image, paint))
    for paragraph in diff.body:
        lines.extend(_paragraph_lines(paragraph, paint))
    return "\n".join(lines) + "\n"


def word_runs(old: str, new: str) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
    """Split two texts into runs of words, each flagged True where it differs from the other."""
    before, after = old.split(" "), new.split(" ")
    old_runs: list[tuple[str, bool]] = []
    new_runs: list[tuple[str, bool]] = []
    matcher = SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        changed = tag != "equal"
        if i2 > i1:
            old_runs.append((" ".join(before[i1:i2]), changed))
        if j2 > j1:
            new_runs.append((" ".join(after[j1:j2]), changed))
    return old_runs, new_runs


class _Painter:
    def __init__(self, color: bool) -> None:
        self.color = color

    def _wrap(self, style: str, text: str) -> str:
        return f"{style}{text}{RESET}" if self.color else text

    def header(self, text: str) -> str:
        return self._wrap(BOLD, _clean(text))

    def section(self, text: str) -> str:
        return self._wrap(CYAN, _clean(text))

    def deleted(self, text: str) -> str:
        return self._wrap(RED, _clean(text))

    def added(self, text: str) -> str:
        return self._wrap(GREEN, _clean(text))

    def runs(self, marker: str, runs: Sequence[tuple[str, bool]], added: bool) -> str:
        style = GREEN if added else RED
        if not self.color:
            return marker + " ".join(_clean(text) for text, _changed in runs)
        parts = [
            f"{REVERSE}{_clean(text)}{NO_REVERSE}" if changed else _clean(text)
            for text, changed in runs
        ]
        return f"{style}{marker}{' '.join(parts)}{RESET}"


def _clean(text: str) -> str:
    return _CONTROL.sub(lambda found: f"\\x{ord(found.group()):02x}", text)


def _side(side: VersionSide, fallback: str) -> str:
    name = f"version {side.version}" if side.version is not None else fallback
    return f"{name}  captured {side.captured_at}" if side.captured_at else name


def _value_lines(marker: str, value: Any) -> Iterator[str]:
    if value is None:
        yield f"{marker}(none)"
        return
    for line in str(value).split("\n"):
        yield f"{marker}{line}"


def _field_lines(change: FieldChange, paint: _Painter) -> Iterator[str]:
    yield paint.section(change.field)
    if change.field in LIST_FIELDS and (change.added or change.removed):
        yield from (paint.deleted(f"- {item}") for item in change.removed)
        yield from (paint.added(f"+ {item}") for item in change.added)
        return
    if change.field in LIST_FIELDS:  # the same items, reordered
        yield paint.deleted(f"- {'; '.join(change.old)}")
        yield paint.added(f"+ {'; '.join(change.new)}")
        return
    one_line = isinstance(change.old, str) and isinstance(change.new, str)
    if one_line and "\n" not in f"{change.old}{change.new}":
        old_runs, new_runs = word_runs(change.old, change.new)
        yield paint.runs("- ", old_runs, added=False)
        yield paint.runs("+ ", new_runs, added=True)
        return
    yield from (paint.deleted(line) for line in _value_lines("- ", change.old))
    yield from (paint.added(line) for line in _value_lines("+ ", change.new))


def _image_lines(change: ImageChange, paint: _Painter) -> Iterator[str]:
    label = f"image {change.src or '(no src)'}: {change.change}"
    if change.fields:
        label += f" ({', '.join(change.fields)})"
    yield paint.section(label)
    names = change.fields or ("caption", "credit", "alt", "role")
    for name in names:
        old = (change.old or {}).get(name)
        new = (change.new or {}).get(name)
        if change.old is not None and (old is not None or change.fields):
            yield from (paint.deleted(line) for line in _value_lines(f"- {name}: ", old))
        if change.new is not None and (new is not None or change.fields):
            yield from (paint.added(line) for line in _value_lines(f"+ {name}: ", new))


def _paragraph_lines(change: ParagraphChange, paint: _Painter) -> Iterator[str]:
    if change.change == "added":
        yield paint.section(f"paragraph {_number(change.new_index)}: added")
        yield paint.added(f"+ {change.new}")
        return
    if change.change == "deleted":
        yield paint.section(f"paragraph {_number(change.old_index)} of the old version: deleted")
        yield paint.deleted(f"- {change.old}")
        return
    label = f"paragraph {_number(change.new_index)}: edited"
    if change.old_index != change.new_index:
        label = f"paragraph {_number(change.new_index)} (was {_number(change.old_index)}): edited"
    yield paint.section(label)
    for sentence in change.sentences:
        if sentence.old is not None and sentence.new is not None:
            old_runs, new_runs = word_runs(sentence.old, sentence.new)
            yield paint.runs("- ", old_runs, added=False)
            yield paint.runs("+ ", new_runs, added=True)
        elif sentence.old is not None:
            yield paint.deleted(f"- {sentence.old}")
        elif sentence.new is not None:
            yield paint.added(f"+ {sentence.new}")


def _number(index: int | None) -> str:
    return "?" if index is None else str(index + 1)

"""What changed between two versions of an article: fields, images, paragraphs and sentences.

Values are compared in their normalised content form (see :func:`records.content_fields`), so
whitespace-only edits are never reported: the same rule that decides whether a capture is a
new version at all. The body is compared paragraph by paragraph (a paragraph is a line of
``body``) and, inside an edited paragraph, sentence by sentence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, Literal

from .records import IMAGE_FIELDS, content_fields
from .sentences import split_sentences

DIFF_SCHEMA = "newsarchive/diff/1"

FIELDS = (
    "headline",
    "authors",
    "section",
    "date_published",
    "date_modified",
    "description",
    "language",
    "tags",
    "canonical_url",
    "site_name",
)
"""The fields compared as wholes, in the order changes are reported (body and images apart)."""
LIST_FIELDS = frozenset({"authors", "tags"})

PARAGRAPH_THRESHOLD = 0.5
"""Word-level similarity from which a replaced paragraph counts as edited, not deleted+added."""
SENTENCE_THRESHOLD = 0.5
"""The same, for sentences inside an edited paragraph."""

# Beyond this many candidate pairs in one replaced block, pair in order instead of searching
# the best alignment: a rewritten article must not cost quadratic time in its paragraphs.
_MAX_ALIGN_PAIRS = 10_000

Change = Literal["added", "deleted", "edited"]


@dataclass(frozen=True)
class FieldChange:
    """A changed field: ``old`` and ``new`` values, and for lists what was added and removed."""

    field: str
    old: Any
    new: Any
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Return the change as plain JSON data."""
        data: dict[str, Any] = {"field": self.field, "old": self.old, "new": self.new}
        if self.field in LIST_FIELDS:
            data["added"] = list(self.added)
            data["removed"] = list(self.removed)
        return data


@dataclass(frozen=True)
class ImageChange:
    """An image added, removed, or edited (same ``src``, other caption, credit, alt or role)."""

    change: Literal["added", "removed", "edited"]
    src: str | None
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    fields: tuple[str, ...] = ()
    """For an edited image, the names of the fields that changed."""

    def to_json(self) -> dict[str, Any]:
        """Return the change as plain JSON data."""
        return {
            "change": self.change,
            "src": self.src,
            "old": self.old,
            "new": self.new,
            "fields": list(self.fields),
        }


@dataclass(frozen=True)
class SentenceChange:
    """A sentence added, deleted or edited inside an edited paragraph."""

    change: Change
    old: str | None
    new: str | None

    def to_json(self) -> dict[str, Any]:
        """Return the change as plain JSON data."""
        return {"change": self.change, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class ParagraphChange:
    """A body paragraph added, deleted or edited; indexes are 0-based in each version's body."""

    change: Change
    old_index: int | None
    new_index: int | None
    old: str | None
    new: str | None
    sentences: tuple[SentenceChange, ...] = ()
    """For an edited paragraph, its sentence-level changes."""

    def to_json(self) -> dict[str, Any]:
        """Return the change as plain JSON data."""
        return {
            "change": self.change,
            "old_index": self.old_index,
            "new_index": self.new_index,
            "old": self.old,
            "new": self.new,
            "sentences": [sentence.to_json() for sentence in self.sentences],
        }


@dataclass(frozen=True)
class VersionSide:
    """Which version one side of a diff is: number, capture time, content hash (when known)."""

    version: int | None = None
    captured_at: str | None = None
    content_sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the side as plain JSON data."""
        return {
            "version": self.version,
            "captured_at": self.captured_at,
            "content_sha256": self.content_sha256,
        }


@dataclass(frozen=True)
class VersionDiff:
    """Every change between two versions of one article, in document order."""

    identity_url: str | None
    old: VersionSide
    new: VersionSide
    fields: tuple[FieldChange, ...] = ()
    images: tuple[ImageChange, ...] = ()
    body: tuple[ParagraphChange, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether anything changed."""
        return bool(self.fields or self.images or self.body)

    def to_json(self) -> dict[str, Any]:
        """Return the diff as plain JSON data (schema ``newsarchive/diff/1``, see docs/diff.md)."""
        return {
            "schema": DIFF_SCHEMA,
            "identity_url": self.identity_url,
            "from": self.old.to_json(),
            "to": self.new.to_json(),
            "changed": self.changed,
            "fields": [change.to_json() for change in self.fields],
            "images": [change.to_json() for change in self.images],
            "body": [change.to_json() for change in self.body],
        }


def diff_versions(old: Mapping[str, Any], new: Mapping[str, Any]) -> VersionDiff:
    """Compare two versions, each a version record or the ``article`` dict of one."""
    old_article, old_side, old_identity = _unpack(old)
    new_article, new_side, new_identity = _unpack(new)
    before = content_fields(old_article)
    after = content_fields(new_article)
    return VersionDiff(
        identity_url=new_identity or old_identity,
        old=old_side,
        new=new_side,
        fields=tuple(_field_changes(before, after)),
        images=tuple(_image_changes(before["images"], after["images"])),
        body=tuple(diff_paragraphs(_lines(before["body"]), _lines(after["body"]))),
    )


def diff_paragraphs(old: Sequence[str], new: Sequence[str]) -> list[ParagraphChange]:
    """Compare two lists of normalised paragraphs."""
    changes: list[ParagraphChange] = []
    for kind, i, j in _align(old, new, PARAGRAPH_THRESHOLD):
        if kind == "deleted":
            changes.append(ParagraphChange("deleted", i, None, old[i], None))
        elif kind == "added":
            changes.append(ParagraphChange("added", None, j, None, new[j]))
        else:
            sentences = tuple(diff_sentences(old[i], new[j]))
            changes.append(ParagraphChange("edited", i, j, old[i], new[j], sentences))
    return changes


def diff_sentences(old: str, new: str) -> list[SentenceChange]:
    """Compare two paragraphs sentence by sentence."""
    before = split_sentences(old)
    after = split_sentences(new)
    changes: list[SentenceChange] = []
    for kind, i, j in _align(before, after, SENTENCE_THRESHOLD):
        if kind == "deleted":
            changes.append(SentenceChange("deleted", before[i], None))
        elif kind == "added":
            changes.append(SentenceChange("added", None, after[j]))
        else:
            changes.append(SentenceChange("edited", before[i], after[j]))
    return changes


def similarity(old: str, new: str) -> float:
    """Return how alike two texts are, word by word, from 0 to 1."""
    return SequenceMatcher(None, old.split(), new.split(), autojunk=False).ratio()


def _alike(old: str, new: str, threshold: float) -> float:
    """Return the similarity of two texts, or 0 when it is below ``threshold``."""
    matcher = SequenceMatcher(None, old.split(), new.split(), autojunk=False)
    # quick_ratio() bounds ratio() from above in linear time: most pairs stop here.
    if matcher.quick_ratio() < threshold:
        return 0.0
    ratio = matcher.ratio()
    return ratio if ratio >= threshold else 0.0


def _unpack(version: Mapping[str, Any]) -> tuple[Mapping[str, Any], VersionSide, str | None]:
    article = version.get("article")
    if not isinstance(article, Mapping):
        return version, VersionSide(), None
    number = version.get("version")
    captured = version.get("captured_at")
    digest = version.get("content_sha256")
    identity = version.get("identity_url")
    side = VersionSide(
        number if isinstance(number, int) else None,
        captured if isinstance(captured, str) else None,
        digest if isinstance(digest, str) else None,
    )
    return article, side, identity if isinstance(identity, str) else None


def _lines(body: Any) -> list[str]:
    return body.split("\n") if isinstance(body, str) else []


def _field_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[FieldChange]:
    changes: list[FieldChange] = []
    for name in FIELDS:
        old, new = before[name], after[name]
        if old == new:
            continue
        if name in LIST_FIELDS:
            added = tuple(item for item in new if item not in old)
            removed = tuple(item for item in old if item not in new)
            changes.append(FieldChange(name, old, new, added, removed))
        else:
            changes.append(FieldChange(name, old, new))
    return changes


def _image_changes(
    before: Sequence[dict[str, Any]], after: Sequence[dict[str, Any]]
) -> list[ImageChange]:
    # Images are matched by src; the same src twice is matched in order of appearance.
    unmatched = list(before)
    changes: list[ImageChange] = []
    for image in after:
        twin = next((old for old in unmatched if old["src"] == image["src"]), None)
        if twin is None:
            changes.append(ImageChange("added", image["src"], None, image))
            continue
        unmatched.remove(twin)
        differing = tuple(name for name in IMAGE_FIELDS if twin.get(name) != image.get(name))
        if differing:
            changes.append(ImageChange("edited", image["src"], twin, image, differing))
    changes.extend(ImageChange("removed", old["src"], old, None) for old in unmatched)
    return changes


def _align(
    old: Sequence[str], new: Sequence[str], threshold: float
) -> list[tuple[Change, int, int]]:
    """Return the changes turning ``old`` into ``new``: (kind, old index, new index)."""
    steps: list[tuple[Change, int, int]] = []
    matcher = SequenceMatcher(None, list(old), list(new), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if tag == "delete":
            steps.extend(("deleted", i, -1) for i in range(i1, i2))
        elif tag == "insert":
            steps.extend(("added", -1, j) for j in range(j1, j2))
        else:
            steps.extend(_pair_block(old, new, range(i1, i2), range(j1, j2), threshold))
    return steps


def _pair_block(
    old: Sequence[str],
    new: Sequence[str],
    rows: range,
    cols: range,
    threshold: float,
) -> list[tuple[Change, int, int]]:
    """Pair the replaced items that are alike enough, keeping order; the rest are deleted/added.

    The pairing maximises the summed similarity of the pairs (an alignment in the manner of
    Needleman-Wunsch, with no gap cost), so one rewritten paragraph among new ones pairs with
    its closest successor rather than with whichever comes first.
    """
    if len(rows) * len(cols) > _MAX_ALIGN_PAIRS:
        return _pair_in_order(old, new, rows, cols, threshold)
    n, m = len(rows), len(cols)
    score = [[0.0] * (m + 1) for _ in range(n + 1)]
    alike = [[0.0] * m for _ in range(n)]
    for a in range(n):
        for b in range(m):
            alike[a][b] = _alike(old[rows[a]], new[cols[b]], threshold)
    for a in range(n - 1, -1, -1):
        for b in range(m - 1, -1, -1):
            best = max(score[a + 1][b], score[a][b + 1])
            if alike[a][b]:
                best = max(best, score[a + 1][b + 1] + alike[a][b])
            score[a][b] = best
    steps: list[tuple[Change, int, int]] = []
    deleted: list[tuple[Change, int, int]] = []
    added: list[tuple[Change, int, int]] = []
    a = b = 0
    while a < n or b < m:
        if a < n and b < m and alike[a][b] and score[a][b] == score[a + 1][b + 1] + alike[a][b]:
            # Deletions before additions between two pairs, as in a unified diff.
            steps.extend(deleted + added)
            deleted, added = [], []
            steps.append(("edited", rows[a], cols[b]))
            a, b = a + 1, b + 1
        elif a < n and (b == m or score[a][b] == score[a + 1][b]):
            deleted.append(("deleted", rows[a], -1))
            a += 1
        else:
            added.append(("added", -1, cols[b]))
            b += 1
    return steps + deleted + added


def _pair_in_order(
    old: Sequence[str], new: Sequence[str], rows: range, cols: range, threshold: float
) -> list[tuple[Change, int, int]]:
    steps: list[tuple[Change, int, int]] = []
    for offset in range(max(len(rows), len(cols))):
        i = rows[offset] if offset < len(rows) else None
        j = cols[offset] if offset < len(cols) else None
        if i is not None and j is not None and _alike(old[i], new[j], threshold):
            steps.append(("edited", i, j))
            continue
        if i is not None:
            steps.append(("deleted", i, -1))
        if j is not None:
            steps.append(("added", -1, j))
    return steps

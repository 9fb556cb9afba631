"""Split a photo caption into the caption proper and its photo credit.

Captions carry their credit in many shapes: ``... meeting (Manish Swarup/AP)``,
``... Photograph: Jane Doe/Getty Images``, ``... in Kyiv. Sergei Supinsky/AFP via Getty Images``,
``Credit: X``, ``© X``. A parenthesised phrase only counts as a credit when it looks like one
(an agency name, or ``Name/Agency``), so ``(left)`` or ``(file photo)`` stay in the caption.
"""

from __future__ import annotations

import re

__all__ = ["clean_credit", "looks_like_credit", "split_credit"]

# Words that introduce a credit: "Photograph: X", "Foto: X", "Photo : X" (French spacing).
_LABELS = (
    r"photo(?:graph)?s?(?:\s+credit)?|pictures?(?:\s+credit)?|pic|images?(?:\s+credit)?"
    r"|credits?|illustration|graphic|video|fotos?|fotograf[ií]a|imagen|cr[ée]dit(?:o|s)?"
    r"|bild|copyright"
)
_LABEL_RE = re.compile(rf"(?:^|(?<=[\s.;,|(\u2013\u2014-]))(?:{_LABELS})\s*:\s*", re.IGNORECASE)
_COPYRIGHT_RE = re.compile(
    r"(?:^|(?<=[\s.;,|(\u2013\u2014-]))(?:©|\(c\)\s|copyright\s)\s*", re.IGNORECASE
)
_LEADING_LABEL_RE = re.compile(rf"^\s*(?:(?:{_LABELS})\s*:|©|\(c\)\s)\s*", re.IGNORECASE)

# Agencies and picture libraries. Short acronyms are matched case-sensitively so that "pa" or
# "ap" inside ordinary words never count.
_AGENCY_CASED = re.compile(
    r"(?<!\w)(?:AP|AFP|EPA|EFE|PA|UPI|AAP|ANP|ANSA|DPA|dpa|TASS|SIPA|Sipa|NASA|REUTERS"
    r"|Handout|HANDOUT|Pool|POOL|WPA)(?!\w)"
)
_AGENCY_ANYCASE = re.compile(
    r"\b(?:reuters|getty|shutterstock|alamy|bloomberg|nurphoto|anadolu|xinhua|kyodo|yonhap"
    r"|zuma|corbis|istock|europa press|picture[- ]alliance|imago|sputnik|associated press"
    r"|agence france|press association|pa wire|pa media|rex features|sopa images|abaca"
    r"|polaris|redux|belga|ukrinform|unsplash|wikimedia)\b",
    re.IGNORECASE,
)
# Connecting words and name particles allowed in a credit of otherwise capitalised names.
_NAME_PARTICLES = frozenset({"de", "del", "la", "le", "van", "von", "der", "da", "di", "du", "y"})
_CREDIT_CONNECTORS = _NAME_PARTICLES | {"via", "for", "and", "et", "of", "the", "by", "photo"}
_CREDIT_CONNECTORS |= {"&", "/", "-"}
_SLASH_CREDIT_RE = re.compile(r"\S\s*/\s*\S")
_SENTENCE_END_RE = re.compile(r"[.!?][\"\u201d\u2019')]?\s+")
_SEPARATOR_RE = re.compile(r"\s+[|\u2013\u2014]\s*|\s+-\s+")
_TRAILING_PAREN_RE = re.compile(r"\s*\(([^()]{1,120})\)\s*\.?\s*$")
_MAX_CREDIT_WORDS = 12
_MAX_CREDIT_CHARS = 120


def split_credit(text: str) -> tuple[str | None, str | None]:
    """Return ``(caption, credit)`` for a caption that may end with a photo credit.

    Either part is ``None`` when absent. Whitespace is normalised; the credit loses its label
    (``Photograph:``), ``©`` sign and parentheses.
    """
    text = " ".join(text.split())
    if not text:
        return None, None
    for split in (_split_labelled, _split_parenthesised, _split_trailing):
        result = split(text)
        if result is not None:
            return result
    if _is_whole_credit(text):
        return None, clean_credit(text)
    return text, None


def clean_credit(text: str) -> str | None:
    """Return a credit without its label, ``©`` sign, parentheses or trailing full stop."""
    credit = " ".join(text.split())
    previous = None
    while previous != credit:
        previous = credit
        credit = credit.strip(" .;,|\u2013\u2014-")
        if credit.startswith("(") and credit.endswith(")") and credit.count("(") == 1:
            credit = credit[1:-1]
        credit = _LEADING_LABEL_RE.sub("", credit)
    return credit or None


def looks_like_credit(text: str) -> bool:
    """Tell whether ``text`` reads like a photo credit (an agency, or ``Name/Agency``)."""
    text = " ".join(text.split())
    if not text or len(text) > _MAX_CREDIT_CHARS or len(text.split()) > _MAX_CREDIT_WORDS:
        return False
    if _LEADING_LABEL_RE.match(text):
        return True
    if _AGENCY_CASED.search(text) or _AGENCY_ANYCASE.search(text):
        return True
    if _SLASH_CREDIT_RE.search(text) and _is_name_like(text):
        return True
    lowered = text.lower()
    return lowered.startswith(("photo by ", "photograph by ", "courtesy of ", "courtesy ")) and (
        _is_name_like(text.split(" ", 2)[-1])
    )


def _caption(text: str) -> str | None:
    caption = text.strip().rstrip(" ;,|\u2013\u2014-(").strip()
    return caption or None


def _split_labelled(text: str) -> tuple[str | None, str | None] | None:
    """Split at the last ``Photo:``-style label or ``©`` sign."""
    matches = [*_LABEL_RE.finditer(text), *_COPYRIGHT_RE.finditer(text)]
    if not matches:
        return None
    last = max(matches, key=lambda match: match.start())
    credit_text = text[last.end() :]
    # A label inside parentheses, "(Photo: X)", closes with the parenthesis.
    if text[: last.start()].rstrip().endswith("(") and credit_text.endswith(")"):
        credit_text = credit_text[:-1]
    credit = clean_credit(credit_text)
    if credit is not None and len(credit.split()) > _MAX_CREDIT_WORDS:
        return None
    return _caption(text[: last.start()]), credit


def _split_parenthesised(text: str) -> tuple[str | None, str | None] | None:
    """Split off a trailing ``(Name/Agency)`` that looks like a credit."""
    match = _TRAILING_PAREN_RE.search(text)
    if match is None or not looks_like_credit(match.group(1)):
        return None
    return _caption(text[: match.start()]), clean_credit(match.group(1))


def _split_trailing(text: str) -> tuple[str | None, str | None] | None:
    """Split off an unbracketed trailing credit such as ``... Kyiv. Name/AFP via Getty Images``."""
    cuts = [m.end() for m in _SENTENCE_END_RE.finditer(text)]
    cuts += [m.end() for m in _SEPARATOR_RE.finditer(text)]
    for cut in sorted(cuts):
        tail = text[cut:]
        if _is_strong_credit(tail) and not _has_sentence_end(tail):
            return _caption(text[:cut]), clean_credit(tail)
    # No sentence boundary: "Firefighters at the scene Jane Doe/Reuters" - take the run of
    # capitalised words just before the slash.
    match = re.search(r"((?:[A-Z][\w'\u2019.-]*\s+){1,3}[A-Z][\w'\u2019.-]*\s*/\s*\S.*)$", text)
    if match and match.start() > 0 and _is_strong_credit(match.group(1)):
        return _caption(text[: match.start()]), clean_credit(match.group(1))
    return None


def _is_strong_credit(text: str) -> bool:
    """Tell whether an unbracketed tail is a credit: names only, with a slash or an agency."""
    text = text.strip(" .")
    if not text or not _is_name_like(text) or not looks_like_credit(text):
        return False
    return bool(
        _SLASH_CREDIT_RE.search(text) or _AGENCY_CASED.search(text) or _AGENCY_ANYCASE.search(text)
    )


def _has_sentence_end(text: str) -> bool:
    """Tell whether ``text`` holds a full stop after a word (not after an initial like ``J.``)."""
    return any(
        len(text[: m.start()].rsplit(" ", 1)[-1]) > 1 for m in _SENTENCE_END_RE.finditer(text)
    )


def _is_whole_credit(text: str) -> bool:
    """Tell whether the whole text is a credit (``REUTERS/Jane Doe``, ``Getty Images``)."""
    return _is_name_like(text) and _is_strong_credit(text)


def _is_name_like(text: str) -> bool:
    """Tell whether every word is capitalised, an acronym or a connector like ``via``."""
    words = re.split(r"[\s/]+", text.strip(" .()"))
    for word in words:
        bare = word.strip(".,;:()'\u2019\"\u201c\u201d")
        if not bare or bare.lower() in _CREDIT_CONNECTORS:
            continue
        if not (bare[0].isupper() or bare[0].isdigit() or _AGENCY_CASED.fullmatch(bare)):
            return False
    return True

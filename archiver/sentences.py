"""Split a paragraph into sentences, without cutting after "Mr." or "U.S.".

A regular-expression splitter, not a language model: a sentence ends at ``.``, ``!`` or ``?``
(and any closing quotes or brackets) followed by whitespace and a capital letter, a digit or an
opening quote, unless the full stop ends a common abbreviation or a run of initials.
"""

from __future__ import annotations

import re

# Words that end in a full stop without ending a sentence (compared in lower case).
ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "mx", "dr", "prof", "sr", "jr", "st", "mt", "ft", "rev", "fr",
        "gen", "lt", "col", "maj", "capt", "cpt", "sgt", "cmdr", "adm", "gov", "sen", "rep",
        "pres", "supt", "insp", "det", "hon", "rt", "cpl", "pvt",
        "inc", "ltd", "co", "corp", "plc", "bros", "dept", "univ", "assn", "est",
        "vs", "v", "etc", "eg", "e.g", "ie", "i.e", "cf", "al", "approx", "ca", "no", "nos",
        "vol", "pp", "p", "fig", "op", "ed", "eds",
        "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
        "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
        "ave", "blvd", "rd", "sq", "hwy",
    }
)  # fmt: skip
# Closing and opening quotes, brackets and Spanish marks; escaped, as typographic quotes are
# easily mistaken for ASCII ones.
_CLOSERS = "\"'\u201d\u2019\u00bb)\\]"
_BOUNDARY = re.compile(rf"[.!?]+[{_CLOSERS}]*\s+")
_OPENERS = "\"'\u201c\u2018\u00ab([\u00bf\u00a1"
_INITIALS = re.compile(r"(?:[A-Z]\.)*[A-Z]")
_LAST_WORD = re.compile(r"(\S+)$")


def split_sentences(text: str) -> list[str]:
    """Split a paragraph into sentences, not after abbreviations such as "Mr." or "U.S."."""
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if not _starts_sentence(text, match.end()) or _is_abbreviation(text, match):
            continue
        sentences.append(text[start : match.end()].strip())
        start = match.end()
    rest = text[start:].strip()
    if rest:
        sentences.append(rest)
    return [sentence for sentence in sentences if sentence]


def _starts_sentence(text: str, at: int) -> bool:
    rest = text[at:].lstrip(_OPENERS)
    return bool(rest) and (rest[0].isupper() or rest[0].isdigit())


def _is_abbreviation(text: str, match: re.Match[str]) -> bool:
    if match.group().rstrip()[0] != "." or match.group().startswith(".."):
        return False
    found = _LAST_WORD.search(text, 0, match.start())
    if found is None:
        return False
    word = found.group(1).lstrip(_OPENERS)
    return word.lower() in ABBREVIATIONS or _INITIALS.fullmatch(word) is not None

"""Rewrite the golden extraction expectations from the current extractor.

Usage: ``python scripts/regen_extraction_goldens.py [CASE ...]`` (default: every case under
``tests/fixtures/extraction``). Field values in each ``expected.json`` are replaced by what the
extractor returns now; ``is_article`` follows the result; the hand-written phrase lists
(``body_must_contain``, ``body_must_not_contain``) are kept. Review the diff before committing:
a changed value is either a fix or a regression, and only a person can tell which.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.extraction_golden import FIELDS, PHRASE_KEYS, case_names, load_case  # noqa: E402


def regenerate(name: str) -> bool:
    """Rewrite one case's expected.json; return whether it changed."""
    case = load_case(name)
    article = case.extract()
    previous = case.expected
    updated: dict[str, Any] = {"is_article": article is not None}
    if article is not None:
        values = article.to_dict()
        # Keep the fields a case already pins (e.g. an exact body), add the standard ones.
        keys = [key for key in previous if key in values] or list(FIELDS)
        keys += [key for key in FIELDS if key not in keys]
        updated.update({key: values[key] for key in keys})
    for key in PHRASE_KEYS:
        updated[key] = previous.get(key, [])
    if updated == previous:
        return False
    text = json.dumps(updated, indent=2, ensure_ascii=False) + "\n"
    (case.folder / "expected.json").write_text(text, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    """Regenerate the named cases (all by default) and list the ones that changed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help="case folder names (default: all)")
    args = parser.parse_args(argv)
    names = args.cases or case_names()
    unknown = sorted(set(names) - set(case_names()))
    if unknown:
        parser.error(f"no such case: {', '.join(unknown)}")
    changed = [name for name in names if regenerate(name)]
    for name in changed:
        print(f"updated {name}")
    print(f"{len(changed)} of {len(names)} cases changed; review with git diff")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

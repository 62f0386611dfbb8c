"""Chinese text preparation shared by the classifier, the duplicate finder and the risk rules.

No Django here: the functions are pickled by reference inside trained models
(`tousu.triage.text.words`), so their module path is part of the model file format.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from pathlib import Path

import rjieba

# Anything that is not a letter, digit or CJK character separates words and is dropped from the
# compact form used for fingerprints (so "物业费，多收了！" and "物业费多收了" compare equal).
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Full-width to half-width (NFKC), lower case, whitespace collapsed."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text or "")).strip().lower()


def compact(text: str) -> str:
    """The normalised text with punctuation and spaces removed: what "the same text" means."""
    return _NON_WORD.sub("", normalise(text))


def for_model(text: str) -> str:
    """What the classifier sees: normalised, every run of digits replaced by one "0".

    Bed, room and building numbers, amounts and dates say nothing about the category, while
    "0楼" and "0床" do; folding them lets the model generalise to numbers it has not seen."""
    return _DIGITS.sub("0", normalise(text))


def words(text: str) -> list[str]:
    """Word tokens (rjieba, HMM on for unknown words), punctuation and spaces dropped.

    Used as the word analyser of the classifier; expects `for_model` text."""
    return [w for w in rjieba.cut(text) if not _NON_WORD.fullmatch(w)]


TEMPLATES = Path(__file__).resolve().parent.parent / "processes" / "templates"
_domain: rjieba.Jieba | None = None
_domain_lock = threading.Lock()


def vocabulary() -> set[str]:
    """The templates' own words: every keyword rule (keywords.py) and every category and department
    label of the shipped templates. Read from the files, so a new template brings its words."""
    import yaml

    from .keywords import KEYWORDS

    found = {w for rules in KEYWORDS.values() for line in rules.values() for w in line.split()}
    for path in sorted(TEMPLATES.glob("*.yaml")):
        # The C loader when PyYAML has it: the pure-Python one took 2 s for the seven templates.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}
        for item in (data.get("categories") or []) + (data.get("departments") or []):
            if isinstance(item, dict) and item.get("label"):
                found.add(str(item["label"]))
    return {normalise(w) for w in found if len(w) >= 2}


def _segmenter() -> rjieba.Jieba:
    """A segmenter of our own with the templates' vocabulary added: the shared default one is also
    what the case search indexes with, whose tokens must not change under it."""
    global _domain
    if _domain is None:
        with _domain_lock:
            if _domain is None:
                j = rjieba.Jieba()
                for w in sorted(vocabulary()):
                    j.add_word(w, None, None)
                _domain = j
    return _domain


def domain_words(text: str) -> list[str]:
    """Word tokens like `words`, with the templates' vocabulary as whole words (医保卡, 物业费,
    号贩子, 开发商 …) where the general dictionary would cut them. The classifier's analyser since
    issue 19; models trained before it keep `words`."""
    return [w for w in _segmenter().cut(text) if not _NON_WORD.fullmatch(w)]


def clauses(text: str) -> list[str]:
    """Split at sentence and clause punctuation; negation never reaches across these."""
    return [c for c in re.split(r"[，,。.！!？?；;：:\n…~～]+", normalise(text)) if c]

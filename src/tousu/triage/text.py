"""Chinese text preparation shared by the classifier, the duplicate finder and the risk rules.

No Django here: the functions are pickled by reference inside trained models
(`tousu.triage.text.words`), so their module path is part of the model file format.
"""

from __future__ import annotations

import re
import unicodedata

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


def clauses(text: str) -> list[str]:
    """Split at sentence and clause punctuation; negation never reaches across these."""
    return [c for c in re.split(r"[，,。.！!？?；;：:\n…~～]+", normalise(text)) if c]

"""Hostile values shared by the fuzz tests, and the one setting every fuzz test runs under: a fixed
derandomised seed, no example database, a bounded number of examples, no per-example deadline (the
machine may be busy; a hang is caught by the explicit time bounds in the tests instead)."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

CJK = re.compile(r"[\u4e00-\u9fff]")


def fuzz_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.filter_too_much,
            HealthCheck.function_scoped_fixture,
        ],
    )


# Strings that have broken real systems: NUL (PostgreSQL refuses it in text), other control
# characters, lone surrogates (not encodable as UTF-8), bidirectional overrides, emoji and combining
# marks, markup and SQL, format strings, paths, and text far beyond every limit.
HOSTILE_STRINGS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "投诉\x00内容",
    "\x01\x02\x03\x07\x08\x0b\x0c\x1b[31m\x7f",
    "\r\n\r\n",
    "\t",
    "\ud800",
    "a\udfffb",
    "\u202e\u202dgnp.exe",
    "\u200b\u200c\u200d\ufeff",
    "🙂👨‍👩‍👧‍👦🏳️‍🌈",
    "e\u0301\u0301\u0301\u0301",
    "<script>alert('投诉')</script>",
    '"><img src=x onerror=alert(1)>',
    "'; DROP TABLE cases_complaint; --",
    "' OR '1'='1",
    "%s%s%s%n{0}{}{{}}",
    "../../../../etc/passwd",
    "NaN",
    "Infinity",
    "-0",
    "١٢٣",  # Arabic-Indic digits
    "１３８１２３４５６７８",  # full-width digits
    "العربية עברית",
    "𠀀𪚥",  # beyond the Basic Multilingual Plane
    "x" * 5001,
    "投" * 20001,
]

hostile_strings = st.one_of(
    st.sampled_from(HOSTILE_STRINGS),
    st.text(max_size=40),
    st.text(
        alphabet=st.characters(codec=None, categories=["Cc", "Cs", "Cf", "Zl", "Zp"]), max_size=8
    ),
    st.builds(
        lambda s, n: s * n,
        st.sampled_from(["a", "投", "🙂", "\x00", "\u202e"]),
        st.integers(1, 30000),
    ),
)

HOSTILE_NUMBERS = [
    0,
    -1,
    1,
    2**31,
    2**53 + 1,
    2**63,
    -(2**63) - 1,
    2**64,
    10**400,
    -(10**400),
    0.5,
    -0.0,
    1e308,
    1e-320,
    float("inf"),
    float("-inf"),
    float("nan"),
]

hostile_numbers = st.one_of(
    st.sampled_from(HOSTILE_NUMBERS),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
)


def nested(depth: int, leaf=None, kind: str = "list"):
    """A value nested `depth` levels deep, built without recursion."""
    value = leaf
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


hostile_scalars = st.one_of(hostile_strings, hostile_numbers, st.booleans(), st.none())

hostile_values = st.one_of(
    hostile_scalars,
    st.lists(hostile_scalars, max_size=5),
    st.dictionaries(hostile_strings, hostile_scalars, max_size=3),
    st.builds(nested, st.integers(2, 60), hostile_scalars, st.sampled_from(["list", "dict"])),
)

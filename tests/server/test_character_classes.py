"""The regexes that refuse characters match Unicode's categories exactly, code point by code point.

Paths and display text are checked with one regex search each (not a ``unicodedata`` call per
character), so the sets must be the categories they stand for: Cc (C0, DEL, C1) and Cs (lone
surrogates), no more and no fewer.
"""

from __future__ import annotations

import re
import sys
import unicodedata

import pytest

from jetraw.server.store import (
    CONTROL_CHARACTERS,
    FORBIDDEN_CHARACTERS,
    SURROGATES,
    check_text,
)

pytestmark = pytest.mark.sqlite_only  # no database involved


@pytest.mark.parametrize(
    ("pattern", "categories"),
    [
        (CONTROL_CHARACTERS, {"Cc"}),
        (SURROGATES, {"Cs"}),
        (FORBIDDEN_CHARACTERS, {"Cc", "Cs"}),
    ],
)
def test_each_pattern_is_exactly_its_categories(
    pattern: re.Pattern[str], categories: set[str]
) -> None:
    wrong = [
        f"U+{code:04X}"
        for code in range(sys.maxunicode + 1)
        if (pattern.search(chr(code)) is not None)
        != (unicodedata.category(chr(code)) in categories)
    ]
    assert wrong == []


def test_a_forbidden_character_is_named_in_the_problem() -> None:
    from jetraw.server._problems import Problem

    assert check_text("a/b\u00e9") == "a/b\u00e9"
    with pytest.raises(Problem, match="U\\+0009"):
        check_text("a\tb")
    with pytest.raises(Problem, match="U\\+D800"):
        check_text("x\ud800")
    with pytest.raises(Problem, match="U\\+009B"):
        check_text("ok\x9bno")

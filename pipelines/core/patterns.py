"""What a compiled regular expression can look at, read off its parse tree.

The extractor finds some cue words once per sentence instead of once per clause; that gives the
same matches only when no part of the pattern (nor any lookaround) can match a character that ends
a clause. `never_matches` answers that soundly: anything it does not know (an anchor, `.`, a
negated class, a back reference, a flag) counts as "may match", and the caller falls back to the
slower reading.
"""

from __future__ import annotations

import re

try:  # the parser of the `re` module (Python 3.11+); without it every pattern "may match"
    from re import _constants as _c
    from re import _parser
except ImportError:  # pragma: no cover
    _parser = None


def never_matches(pattern: re.Pattern[str], chars: str) -> bool:
    """Whether no element of `pattern`, lookarounds included, can match any of `chars`; then the
    pattern cannot match across such a character, and a lookaround that meets one answers as at
    the edge of the string."""
    if _parser is None or pattern.flags & ~re.UNICODE:
        return False
    try:
        tree = _parser.parse(pattern.pattern, pattern.flags)
    except re.error:
        return False
    codes = {ord(ch) for ch in chars}
    return _blind(tree, codes)


def _blind(items, codes: set[int]) -> bool:
    for op, av in items:
        if op is _c.LITERAL:
            if av in codes:
                return False
        elif op is _c.IN:
            if not _class_blind(av, codes):
                return False
        elif op is _c.BRANCH:
            if not all(_blind(branch, codes) for branch in av[1]):
                return False
        elif op is _c.SUBPATTERN:
            if av[1] or av[2] or not _blind(av[3], codes):  # (group, add_flags, del_flags, pattern)
                return False
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
            if not _blind(av[2], codes):
                return False
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            if not _blind(av[1], codes):
                return False
        else:  # ANY, NOT_LITERAL, AT, GROUPREF, CATEGORY outside a class, …: may match anything
            return False
    return True


def _class_blind(members, codes: set[int]) -> bool:
    for op, av in members:
        if op is _c.LITERAL:
            if av in codes:
                return False
        elif op is _c.RANGE:
            if any(av[0] <= code <= av[1] for code in codes):
                return False
        elif op is _c.CATEGORY:
            if av is not _c.CATEGORY_DIGIT or any(chr(code).isdigit() for code in codes):
                return False
        else:  # NEGATE, …
            return False
    return True

"""What a compiled regular expression can look at, read off its parse tree (`re`'s own parser).

- `never_matches`: the extractor finds a report's area words once instead of once per clause;
  that gives each clause the matches it has alone only when no part of the pattern (nor any
  lookaround) can match a character that ends a clause. Anything not known here (an anchor, `.`, a
  negated class, a back reference, a flag) counts as "may match", and the caller reads per clause.
- `with_start_filter`: the same pattern, faster to scan when `re` finds no prefix of its own.
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
    tree = _parse(pattern)
    if tree is None or pattern.flags & ~re.UNICODE:
        return False
    return _blind(tree, {ord(ch) for ch in chars})


def _parse(pattern: re.Pattern[str]):
    """The parse tree of `pattern` (re._parser's), or None when it cannot be read here."""
    if _parser is None:
        return None
    try:
        return _parser.parse(pattern.pattern, pattern.flags)
    except re.error:
        return None


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


def with_start_filter(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """`pattern`, or the same pattern behind a lookahead for the characters a match can start with.

    `re` skips in C to where a match can start only when a pattern opens with a literal, a
    character class or a choice of literals; one that opens with an optional group or a
    lookbehind (全市9个县 after (这|各)?, 计划 after (?<=营养改善)) is tried in full at every
    character. `(?=[first characters])` in front makes that try a one-character test: the same
    matches (the lookahead only passes over places where none can start), 1.5-3x faster."""
    tree = _parse(pattern)
    if tree is None or _opens_with_prefix(tree):
        return pattern  # already fast; a lookahead in front would hide its prefix from `re`
    first = _first_chars(list(tree))
    if first is None:
        return pattern
    try:
        return re.compile(f"(?=[{''.join(sorted(first))}])(?:{pattern.pattern})", pattern.flags)
    except re.error:  # pragma: no cover - e.g. inline flags, which must open a pattern
        return pattern


def _opens_with_prefix(items) -> bool:
    """Whether `re` finds a literal or character-set prefix for the pattern (see re._compiler)."""
    while items and items[0][0] is _c.SUBPATTERN and not (items[0][1][1] or items[0][1][2]):
        items = items[0][1][3]
    if not items:
        return False
    op, av = items[0]
    if op in (_c.LITERAL, _c.IN):
        return True
    return op is _c.BRANCH and all(branch and branch[0][0] is _c.LITERAL for branch in av[1])


_CATEGORY_CLASSES = {"CATEGORY_DIGIT": r"\d", "CATEGORY_SPACE": r"\s", "CATEGORY_WORD": r"\w"}


def _first_chars(items) -> set[str] | None:
    """The character-class members a match of this sequence can start with, or None when that is
    not known (or the sequence can match the empty string, which starts anywhere)."""
    first: set[str] = set()
    for op, av in items:
        if op in (_c.ASSERT, _c.ASSERT_NOT, _c.AT):
            continue  # zero-width: the match starts with what comes next
        if op is _c.LITERAL:
            return first | {re.escape(chr(av))}
        if op is _c.IN:
            members = _class_members(av)
            return None if members is None else first | members
        if op is _c.SUBPATTERN and not (av[1] or av[2]):  # (group, add_flags, del_flags, pattern)
            parts, optional = [av[3]], av[3].getwidth()[0] == 0
        elif op is _c.BRANCH:
            parts, optional = av[1], any(branch.getwidth()[0] == 0 for branch in av[1])
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT):  # (min, max, pattern)
            parts, optional = [av[2]], av[0] == 0 or av[2].getwidth()[0] == 0
        else:  # `.`, a negated literal, a back reference, a flag group: anything may start
            return None
        for part in parts:
            chars = _first_chars(list(part))
            if chars is None:
                return None
            first |= chars
        if not optional:
            return first
    return None  # every element may be empty: the pattern matches the empty string


def _class_members(members) -> set[str] | None:
    out: set[str] = set()
    for op, av in members:
        if op is _c.LITERAL:
            out.add(re.escape(chr(av)))
        elif op is _c.RANGE:
            out.add(f"{re.escape(chr(av[0]))}-{re.escape(chr(av[1]))}")
        elif op is _c.CATEGORY and str(av) in _CATEGORY_CLASSES:
            out.add(_CATEGORY_CLASSES[str(av)])
        else:  # a negated class, …
            return None
    return out


def any_of(patterns: tuple[re.Pattern[str], ...] | list[re.Pattern[str]]) -> re.Pattern[str] | None:
    """One pattern that matches somewhere in a string exactly when one of `patterns` does: their
    alternation (an alternation matches at a position when one of its branches does), behind a
    start filter. None when that is not certain: flags, a group reference, a pattern that cannot
    be read here, or group names that clash."""
    if not patterns:
        return None
    for pattern in patterns:
        tree = _parse(pattern)
        if tree is None or pattern.flags & ~re.UNICODE or _refers_to_groups(tree):
            return None
    try:
        joined = re.compile("|".join(f"(?:{p.pattern})" for p in patterns))
    except re.error:
        return None
    return with_start_filter(joined)


def _refers_to_groups(items) -> bool:
    """Whether a parse tree holds a group reference (\\1, (?P=name), (?(1)…)): its numbers would
    change in an alternation."""
    return any(
        op in (_c.GROUPREF, _c.GROUPREF_EXISTS) or any(_refers_to_groups(part) for part in _parts(op, av))
        for op, av in items
    )


def _parts(op, av) -> list:
    """The sequences nested in one element of a parse tree."""
    if op is _c.BRANCH:
        return av[1]
    if op is _c.SUBPATTERN:  # (group, add_flags, del_flags, pattern)
        return [av[3]]
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):  # (min, max, pattern)
        return [av[2]]
    if op in (_c.ASSERT, _c.ASSERT_NOT):  # (direction, pattern)
        return [av[1]]
    if op is _c.ATOMIC_GROUP:
        return [av]
    return []

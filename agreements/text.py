"""One rule for every single line of text accepted from outside.

Titles, external ids, priorities, probe names, keys, names, reasons and contacts end up
in emails, CSV files, HTML pages and log lines. A newline in an incident title can add a
header to an escalation email; a NUL byte or a lone surrogate cannot be stored at all. So
every such field is one line of printable text: no C0 or C1 control characters (tab,
newline and carriage return included), no line or paragraph separators, no surrogates.
"""

from __future__ import annotations

import unicodedata

# Unicode categories refused: control characters (C0, DEL, C1), surrogates (a lone one
# cannot be encoded as UTF-8), and the line and paragraph separators.
REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
# Bidirectional embeddings, overrides and isolates: they make a title read differently
# from what it holds (a right-to-left override can disguise a name or a link).
REFUSED_CHARACTERS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))


class TextError(ValueError):
    """A text field that is not one clean line; ``field`` names it."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def unprintable(value: str) -> str | None:
    """A description of the first refused character of ``value``, or None if it is clean."""
    for position, char in enumerate(value):
        if unicodedata.category(char) in REFUSED_CATEGORIES or char in REFUSED_CHARACTERS:
            return f"U+{ord(char):04X} at position {position}"
    return None


def single_line(value: object, field: str, *, max_length: int) -> str:
    """``value`` stripped of surrounding spaces, if it is a non-empty single line of at most
    ``max_length`` printable characters; otherwise raise TextError naming ``field``."""
    if not isinstance(value, str):
        raise TextError(field, "must be a string")
    found = unprintable(value)
    if found is not None:
        raise TextError(field, f"must be a single line without control characters (found {found})")
    stripped = value.strip()
    if not stripped:
        raise TextError(field, "must be a non-empty string")
    if len(stripped) > max_length:
        raise TextError(field, f"must be at most {max_length} characters")
    return stripped


def shown(name: object) -> str:
    """``name`` as it may be echoed in an error message: itself when it is a clean line of
    reasonable length, else its escaped representation, so that an error about a hostile
    field name can always be encoded and read."""
    if isinstance(name, str) and len(name) <= 100 and unprintable(name) is None:
        return name
    text = ascii(name)
    return text if len(text) <= 100 else text[:97] + "..."

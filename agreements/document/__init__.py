"""The agreement document (SPEC §2): parsing, strict validation and canonical form.

``load_document`` turns YAML or JSON text into a mapping; ``validate`` checks every
field and returns a canonical, JSON-serialisable document or raises DocumentError
listing each problem as ``path: message`` (for example
``objectives[2].target: must be between 0 and 100``). Nothing here touches the database.

A package by section: ``vocabulary`` (keys, limits, ``DocumentError``), ``loading``,
``fields`` (durations, ranges, zones), ``checker``, ``validation`` (the top level), and one
module per section (``calendars``, ``objectives``, ``parties``). Import from here.
"""

from __future__ import annotations

from agreements.document.fields import (
    format_duration,
    format_range,
    parse_duration,
    parse_range,
    zone,
)
from agreements.document.life import LIFE_KEYS
from agreements.document.loading import load_document
from agreements.document.parties import MAX_MEASURED_BY
from agreements.document.validation import terms_of, validate
from agreements.document.vocabulary import (
    CURRENCIES,
    INDICATORS,
    TERMS_KEYS,
    WEEKDAYS,
    DocumentError,
)

__all__ = [
    "CURRENCIES",
    "INDICATORS",
    "LIFE_KEYS",
    "MAX_MEASURED_BY",
    "TERMS_KEYS",
    "WEEKDAYS",
    "DocumentError",
    "format_duration",
    "format_range",
    "load_document",
    "parse_duration",
    "parse_range",
    "terms_of",
    "validate",
    "zone",
]

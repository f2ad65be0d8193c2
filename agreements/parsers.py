"""Request body parsers for agreement documents (SPEC §2: YAML, or the same as JSON)."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser

from agreements.document import DocumentError, load_document


class YAMLParser(BaseParser):
    """``application/yaml`` (also the older ``application/x-yaml`` and ``text/yaml``),
    read with the document loader: decimals stay exact, aliases and deep nesting are
    refused with a 400 that says so."""

    media_type = "application/yaml"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            text = stream.read().decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("the document is not UTF-8 text") from None
        try:
            return load_document(text)
        except DocumentError as error:
            raise ParseError("; ".join(message for _, message in error.errors)) from None


class YAMLAliasParser(YAMLParser):
    media_type = "application/x-yaml"


class YAMLTextParser(YAMLParser):
    media_type = "text/yaml"


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, with arrays or objects nested beyond what the decoder can follow
    answered as a 400 instead of an error escaping from the decoder."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None

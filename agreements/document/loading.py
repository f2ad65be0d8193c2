"""Safe YAML (or JSON) loading: decimals kept exact, nesting bounded."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from agreements.document.vocabulary import DocumentError

# A document nests a handful of levels (objectives -> credits -> tier); anything much
# deeper is hostile or broken, and refusing it early keeps parsing from recursing.
MAX_NESTING = 32


class _DecimalLoader(yaml.SafeLoader):
    """YAML loader that reads numbers with a fraction as Decimal, never float, and refuses
    aliases (``*name``: a few hundred bytes of nested aliases expand to gigabytes) and
    nesting deeper than ``MAX_NESTING``."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in an agreement document", mark
            )
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {MAX_NESTING} levels", mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _decimal_constructor(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    text = loader.construct_scalar(node)  # type: ignore[arg-type]
    try:
        return Decimal(str(text).replace("_", ""))
    except InvalidOperation:
        return str(text)


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _decimal_constructor)


def load_document(text: str) -> Any:
    """Parse YAML or JSON text (JSON is YAML, but is read first for exact messages)."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as error:
            raise DocumentError([("", f"invalid JSON: {error}")]) from None
        except RecursionError:
            raise DocumentError([("", "invalid JSON: nested too deeply")]) from None
    try:
        return yaml.load(text, Loader=_DecimalLoader)  # noqa: S506 (safe loader subclass)
    except yaml.YAMLError as error:
        raise DocumentError([("", f"invalid YAML: {error}")]) from None
    except ValueError as error:  # e.g. an integer longer than Python converts from text
        raise DocumentError([("", f"invalid YAML: {error}")]) from None
    except RecursionError:
        raise DocumentError([("", "invalid YAML: nested too deeply")]) from None

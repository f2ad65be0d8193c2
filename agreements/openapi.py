"""The error answers every API operation may give, added to the OpenAPI document.

drf-spectacular documents the success answers of each view; the errors come from the
shared authentication, permissions, throttle, parsers and exception handler
(``agreements.api.exception_handler``), so they are added here, once, with one schema.
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An error: a message, and for invalid input the details by field or record.",
    "properties": {
        "error": {"type": "string"},
        "errors": {"description": "per field or per record (index, field, message)"},
    },
    "required": ["error"],
}

ERRORS = {
    "400": "Invalid request: malformed body, query or record (details in `errors`).",
    "401": "No API key, a malformed `Authorization` header, or an unknown or revoked key.",
    "403": "The key lacks the scope, or may not act for this customer or service.",
    "404": "Nothing of that name visible to this key.",
    "413": "The body is larger than 10 MB.",
    "429": "Too many requests for this key this minute; see `Retry-After`.",
}
METHODS = {"get", "post", "put", "patch", "delete"}


def add_error_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR_SCHEMA)
    reference = {"$ref": "#/components/schemas/Error"}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code, description in ERRORS.items():
                if code == "413" and "requestBody" not in operation:
                    continue
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": reference}},
                    },
                )
    return result

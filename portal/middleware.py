"""Request bodies larger than the server takes are a JSON 413, on every path.

Django raises RequestDataTooBig (a 400 HTML page) only when a view reads the body, and
parsers that read the stream themselves are not stopped at all. The declared length is
checked here, before any view runs; a body that turns out too large while being read
gets the same answer.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse

from agreements.api import body_too_large_message


def too_large() -> JsonResponse:
    return JsonResponse({"error": body_too_large_message()}, status=413)


class BodySizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        length = request.META.get("CONTENT_LENGTH") or ""
        if limit is not None and length.isdigit() and int(length) > limit:
            return too_large()
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig):
            return too_large()
        return None

"""System checks of the portal (``manage.py check``, run by runserver and migrate, and
by ``portal.wsgi`` at start-up)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

COLLECT_HINT = (
    "Run `python manage.py collectstatic --noinput`, or set STATIC_FROM_SOURCE=true to "
    "serve them from the source folders (development)."
)


def _manifest_missing() -> str | None:
    """The missing manifest's path, when pages would need it (else None)."""
    if settings.STATIC_FROM_SOURCE:
        return None
    from django.contrib.staticfiles.storage import staticfiles_storage

    name = getattr(staticfiles_storage, "manifest_name", None)
    if name is None:  # a storage without a manifest serves whatever is there
        return None
    storage = staticfiles_storage.manifest_storage  # type: ignore[attr-defined]
    if storage.exists(name):
        return None
    return str(storage.path(name))


# Not tagged ``staticfiles``: collectstatic runs only those, and must run to fix this.
@checks.register("portal")
def static_files_collected(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    missing = _manifest_missing()
    if missing is None:
        return []
    return [
        checks.Error(
            f"Static files have not been collected ({missing} is missing): with "
            "STATIC_FROM_SOURCE false every page would fail.",
            hint=COLLECT_HINT,
            id="portal.E001",
        )
    ]


def require_collected_static() -> None:
    """For servers that run no checks (gunicorn): refuse to start rather than serve 500s."""
    missing = _manifest_missing()
    if missing is not None:
        raise ImproperlyConfigured(
            f"Static files have not been collected ({missing} is missing). {COLLECT_HINT}"
        )

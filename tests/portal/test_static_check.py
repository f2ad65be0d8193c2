"""DEBUG off and no collected static files: the server refuses to start, saying what to run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from portal.checks import require_collected_static, static_files_collected

MANIFEST_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


@pytest.fixture
def production_static(tmp_path: Path) -> Any:
    with override_settings(
        STATIC_FROM_SOURCE=False, STATIC_ROOT=tmp_path, STORAGES=MANIFEST_STORAGES
    ):
        yield tmp_path


def test_missing_manifest_is_an_error_naming_collectstatic(production_static: Path) -> None:
    [error] = static_files_collected()
    assert error.id == "portal.E001"
    assert "manage.py collectstatic" in (error.hint or "")


def test_manage_py_check_fails(production_static: Path) -> None:
    with pytest.raises(SystemCheckError, match="collectstatic"):
        call_command("check")


def test_wsgi_start_up_refuses(production_static: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"manage\.py collectstatic"):
        require_collected_static()


def test_collected_files_pass(production_static: Path) -> None:
    (production_static / "staticfiles.json").write_text(json.dumps({"paths": {}, "version": "1.1"}))
    assert static_files_collected() == []
    require_collected_static()


def test_serving_from_source_needs_no_manifest(tmp_path: Path) -> None:
    with override_settings(STATIC_FROM_SOURCE=True, STATIC_ROOT=tmp_path):
        assert static_files_collected() == []

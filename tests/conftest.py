from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.database import DirectoryBasedExampleDatabase
from rest_framework.test import APIClient

from agreements.document import load_document
from agreements.models import ApiKey, Customer, Membership
from agreements.services import agreement_import
from portal.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = (ROOT / "tests" / "data" / "acme-hosting.yaml").read_text()

# Hypothesis keeps its caches in .hypothesis/ of the working directory unless told.
HYPOTHESIS_HOME = Path(django_settings.VAR_DIR) / "hypothesis"
set_hypothesis_home_dir(HYPOTHESIS_HOME)

# Property tests (hypothesis). "ci", the default, is what `make test` runs: a fixed seed
# per test, so every run tries the same examples and a failure is the same failure on
# every machine, with the blob that replays it. "deep" (`make test-deep`) draws fresh
# random examples, five times as many, and keeps the failures it finds under VAR_DIR so
# the next deep run tries them first. Tests take their example counts from the profile.
# The timing health check is off: on a busy shared machine it would fail a run that the
# same seed passes on a quiet one.
PROPERTY_EXAMPLES = 300
hypothesis_settings.register_profile(
    "ci",
    max_examples=PROPERTY_EXAMPLES,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
hypothesis_settings.register_profile(
    "deep",
    max_examples=5 * PROPERTY_EXAMPLES,
    derandomize=False,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
    database=DirectoryBasedExampleDatabase(HYPOTHESIS_HOME / "examples"),
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Tasks run in the test process; the broker itself is exercised by `make run` in CI.
celery_app.conf.task_always_eager = True
celery_app.conf.task_eager_propagates = True


@pytest.fixture(autouse=True, scope="session")
def _test_flush_may_empty_the_ledger() -> Any:
    """The ledger refuses TRUNCATE (credits migration 0005), which is how transactional
    tests empty the database between tests: the test database's superuser flushes as a
    replica, where the refusing trigger does not fire."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    flush = DatabaseOperations.execute_sql_flush

    def flush_as_replica(self: Any, sql_list: list[str]) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            flush(self, sql_list)
        finally:
            with self.connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")

    DatabaseOperations.execute_sql_flush = flush_as_replica  # type: ignore[method-assign]
    yield
    DatabaseOperations.execute_sql_flush = flush  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _clear_cache() -> Any:
    from django.core.cache import cache

    from status import publish

    cache.clear()
    publish.forget()  # and the copies this process keeps of the status outputs
    yield


@pytest.fixture
def document() -> dict[str, Any]:
    """A fresh copy of SPEC §2's example agreement document."""
    return copy.deepcopy(load_document(SAMPLE))


@pytest.fixture
def agreement(db: Any, document: dict[str, Any]) -> Any:
    return agreement_import(data=document, actor="test").agreement


@pytest.fixture
def other_agreement(db: Any, document: dict[str, Any]) -> Any:
    """An agreement of another customer: everything about it must stay invisible."""
    doc = copy.deepcopy(document)
    doc["agreement"] = "globex-hosting"
    doc["customer"] = {"key": "globex", "name": "Globex Inc"}
    return agreement_import(data=doc, actor="test").agreement


def make_key(scopes: list[str], customer: Customer | None = None) -> str:
    _, secret = ApiKey.generate(name="-".join(scopes) or "none", scopes=scopes, customer=customer)
    return secret


@pytest.fixture
def api() -> Any:
    def client(*scopes: str, customer: Customer | None = None) -> APIClient:
        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(list(scopes), customer)}")
        return c

    return client


@pytest.fixture
def customer_user(django_user_model: Any, agreement: Any) -> Any:
    user = django_user_model.objects.create_user("acme-viewer", password="pw-acme-viewer-1")
    Membership.objects.create(user=user, customer=agreement.customer, role="viewer")
    return user


@pytest.fixture
def manager_user(django_user_model: Any, agreement: Any) -> Any:
    user = django_user_model.objects.create_user("acme-manager", password="pw-acme-manager-1")
    Membership.objects.create(user=user, customer=agreement.customer, role="manager")
    return user


@pytest.fixture
def outsider(django_user_model: Any, other_agreement: Any) -> Any:
    """A user of another customer, who must see nothing of acme."""
    user = django_user_model.objects.create_user("globex-viewer", password="pw-globex-viewer-1")
    Membership.objects.create(user=user, customer=other_agreement.customer, role="viewer")
    return user

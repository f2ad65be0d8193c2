"""Staff work in admin without friction: members on the customer page, tiers on the
agreement page, "Recompute now", time fields naming their zone, refusals in words."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import IntegrityError
from django.forms import MultiWidget
from django.urls import reverse

from agreements.models import Agreement, CreditTier, Customer, Membership, Service, TermsVersion
from credits.models import Period
from metrics.models import Maintenance
from portal import admin_helpers

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def staff(client: Any, admin_user: Any) -> Any:
    client.force_login(admin_user)
    return client


def _management(prefix: str, total: int, initial: int = 0) -> dict[str, Any]:
    return {
        f"{prefix}-TOTAL_FORMS": total,
        f"{prefix}-INITIAL_FORMS": initial,
        f"{prefix}-MIN_NUM_FORMS": 0,
        f"{prefix}-MAX_NUM_FORMS": 1000,
    }


def _page_data(response: Any) -> dict[str, Any]:
    """The change page's form and inline formsets as they would be posted unchanged."""
    data: dict[str, Any] = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        forms.extend(formset.forms)
    for form in forms:
        for name, field in form.fields.items():
            value = form[name].value()
            key = form.add_prefix(name)
            if isinstance(field.widget, MultiWidget):
                for i, part in enumerate(field.widget.decompress(value)):
                    data[f"{key}_{i}"] = "" if part is None else part
            elif isinstance(value, bool):
                if value:
                    data[key] = "on"
            elif isinstance(value, list | tuple):
                data[key] = [str(v) for v in value]
            elif value is not None:
                data[key] = value
    return data


def _customer_post(members: list[tuple[str, str, str]], key: str = "initech") -> dict[str, Any]:
    data: dict[str, Any] = {
        "key": key,
        "name": "Initech",
        **_management("memberships", len(members)),
    }
    for i, (email, name, role) in enumerate(members):
        data |= {
            f"memberships-{i}-email": email,
            f"memberships-{i}-name": name,
            f"memberships-{i}-role": role,
        }
    return data


def test_customer_with_two_new_members_in_one_post(
    staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            reverse("admin:agreements_customer_add"),
            _customer_post(
                [
                    ("Ann@Initech.example", "Ann Lee", "manager"),
                    ("bob@initech.example", "", "viewer"),
                ]
            ),
        )
    assert response.status_code == 302, response.context["errors"]
    customer = Customer.objects.get(key="initech")
    members = {m.user.email: m for m in Membership.objects.filter(customer=customer)}
    assert set(members) == {"ann@initech.example", "bob@initech.example"}
    assert members["ann@initech.example"].role == "manager"
    assert members["bob@initech.example"].role == "viewer"
    ann = members["ann@initech.example"].user
    assert (ann.first_name, ann.last_name) == ("Ann", "Lee")
    assert not ann.has_usable_password()
    # Each new account is invited, with a link to choose its password.
    assert sorted(m.to[0] for m in mail.outbox) == ["ann@initech.example", "bob@initech.example"]
    assert "/accounts/reset/" in mail.outbox[0].body
    assert "Initech" in mail.outbox[0].subject


def test_an_existing_account_is_picked_by_email(staff: Any) -> None:
    existing = User.objects.create_user(username="carol", email="carol@initech.example")
    response = staff.post(
        reverse("admin:agreements_customer_add"),
        _customer_post([("CAROL@initech.example", "", "viewer")]),
    )
    assert response.status_code == 302
    membership = Membership.objects.get(customer__key="initech")
    assert membership.user == existing
    assert User.objects.filter(email__iexact="carol@initech.example").count() == 1


def test_linking_an_existing_account_is_said_with_what_else_it_sees(staff: Any) -> None:
    globex = Customer.objects.create(key="globex-co", name="Globex Co")
    dave = User.objects.create_user(username="dave", email="dave@initech.example")
    Membership.objects.create(user=dave, customer=globex, role="viewer")
    response = staff.post(
        reverse("admin:agreements_customer_add"),
        _customer_post([("dave@initech.example", "", "viewer")]),
        follow=True,
    )
    said = " ".join(str(m) for m in response.context["messages"])
    assert "Gave 1 existing account(s) access to Initech: dave, also a member of Globex Co" in said


def test_an_email_matching_two_accounts_is_refused_by_name(staff: Any) -> None:
    User.objects.create_user(username="erin", email="erin@initech.example")
    User.objects.create_user(username="erin@initech.example", email="other@initech.example")
    response = staff.post(
        reverse("admin:agreements_customer_add"),
        _customer_post([("erin@initech.example", "", "viewer")]),
    )
    assert response.status_code == 200
    assert "2 accounts match this email (erin, erin@initech.example)" in response.content.decode()
    assert not Customer.objects.filter(key="initech").exists()


def test_changing_only_the_role_keeps_the_same_account(staff: Any) -> None:
    """Two accounts share an address: the member picked earlier stays, its role changes."""
    # The other account is the older one: looking the address up again would pick it.
    User.objects.create_user(username="fay@initech.example", email="fay2@initech.example")
    first = User.objects.create_user(username="fay", email="fay@initech.example")
    customer = Customer.objects.create(key="initech", name="Initech")
    membership = Membership.objects.create(user=first, customer=customer, role="viewer")
    url = reverse("admin:agreements_customer_change", args=[customer.pk])
    data = _page_data(staff.get(url))
    data["memberships-0-role"] = "manager"
    response = staff.post(url, data)
    assert response.status_code == 302, response.context["errors"]
    membership.refresh_from_db()
    assert (membership.user, membership.role) == (first, "manager")


@pytest.mark.parametrize(
    ("members", "words"),
    [
        (
            [("dan@initech.example", "", "viewer"), ("DAN@initech.example", "", "manager")],
            "This email is listed twice: each person is a member once.",
        ),
        ([("not an email", "", "viewer")], "Enter a valid email address, like name@example.com."),
    ],
)
def test_bad_member_emails_are_refused_in_words(
    staff: Any, members: list[tuple[str, str, str]], words: str
) -> None:
    response = staff.post(reverse("admin:agreements_customer_add"), _customer_post(members))
    assert response.status_code == 200
    assert words in response.content.decode()
    assert not Customer.objects.filter(key="initech").exists()
    assert not User.objects.filter(email__icontains="initech").exists()


def _agreement_page(staff: Any, agreement: Agreement) -> tuple[dict[str, Any], str]:
    response = staff.get(reverse("admin:agreements_agreement_change", args=[agreement.pk]))
    assert response.status_code == 200
    data = _page_data(response)
    objective = agreement.objectives.get(key="api-availability")
    for inline in response.context["inline_admin_formsets"]:
        for form in inline.formset.forms:
            if form.instance.pk == objective.pk and form.instance.__class__ is objective.__class__:
                return data, form.add_prefix("credit_tiers")
    raise AssertionError("the objective is not on the agreement page")


def _tiers(agreement: Agreement) -> list[tuple[str, str]]:
    rows = CreditTier.objects.filter(
        objective__agreement=agreement, objective__key="api-availability"
    ).order_by("-below")
    return [(f"{t.below.normalize():f}", f"{t.percent.normalize():f}") for t in rows]


def test_tiers_edited_on_the_agreement_page_make_a_terms_version(
    staff: Any, agreement: Agreement
) -> None:
    data, field = _agreement_page(staff, agreement)
    assert data[field] == "99.9: 10; 99: 25; 95: 100"
    versions = TermsVersion.objects.filter(agreement=agreement).count()
    data[field] = "99.95: 5; 99.5: 30"
    response = staff.post(reverse("admin:agreements_agreement_change", args=[agreement.pk]), data)
    assert response.status_code == 302
    assert _tiers(agreement) == [("99.95", "5"), ("99.5", "30")]
    latest = TermsVersion.objects.filter(agreement=agreement).order_by("-number").first()
    assert TermsVersion.objects.filter(agreement=agreement).count() == versions + 1
    assert latest is not None and latest.created_by == "admin"
    credits = next(o for o in latest.terms["objectives"] if o["key"] == "api-availability")
    assert credits["credits"] == [
        {"below": "99.95", "percent": 5},
        {"below": "99.5", "percent": 30},
    ]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("99.9: 25; 99: 10", "Tier 2 (percent): a lower tier must not give a smaller percent."),
        (
            "99: 10; 99.9: 25",
            "Tier 2 (below): tiers must be listed with strictly decreasing below.",
        ),
        ("99.9: 0", "Tier 1 (percent): must be between 0 and 100 (greater than 0)."),
        ("99.9 10", "Tier 1 ('99.9 10'): write it as below: percent, e.g. 99.9: 10."),
    ],
)
def test_invalid_tiers_are_refused_with_the_documents_words(
    staff: Any, agreement: Agreement, text: str, words: str
) -> None:
    before = _tiers(agreement)
    versions = TermsVersion.objects.filter(agreement=agreement).count()
    data, field = _agreement_page(staff, agreement)
    data[field] = text
    response = staff.post(reverse("admin:agreements_agreement_change", args=[agreement.pk]), data)
    assert response.status_code == 200
    assert words in response.content.decode().replace("&#x27;", "'")
    assert _tiers(agreement) == before
    assert TermsVersion.objects.filter(agreement=agreement).count() == versions


def test_tier_rows_on_the_objective_page_are_checked_the_same_way(
    staff: Any, agreement: Agreement
) -> None:
    objective = agreement.objectives.get(key="api-availability")
    url = reverse("admin:agreements_objective_change", args=[objective.pk])
    data = _page_data(staff.get(url))
    tiers = list(objective.tiers.order_by("-below"))
    index = next(i for i, t in enumerate(tiers) if t.below == 99)
    data[f"tiers-{index}-percent"] = "5"  # under the 10 % of the tier above it
    response = staff.post(url, data)
    assert response.status_code == 200
    assert "a lower tier must not give a smaller percent" in response.content.decode()
    assert objective.tiers.get(below=99).percent == 25


def test_recompute_now_action_evaluates_the_open_periods(staff: Any, agreement: Agreement) -> None:
    assert not Period.objects.filter(agreement=agreement).exists()
    response = staff.post(
        reverse("admin:agreements_agreement_changelist"),
        {"action": "recompute_now", "_selected_action": [agreement.pk]},
        follow=True,
    )
    assert "Queued a recompute of the open periods of 1 agreement(s)" in response.content.decode()
    # Tests run tasks in process: the open period is evaluated now.
    assert Period.objects.filter(agreement=agreement).exists()


def test_recompute_now_button_on_the_agreement_page(staff: Any, agreement: Agreement) -> None:
    page = staff.get(reverse("admin:agreements_agreement_change", args=[agreement.pk]))
    button = reverse("admin:agreements_agreement_recompute", args=[agreement.pk])
    assert button in page.content.decode()
    assert staff.get(button).status_code == 302
    assert not Period.objects.filter(agreement=agreement).exists()  # a GET does nothing
    response = staff.post(button, follow=True)
    assert "Queued a recompute" in response.content.decode()
    assert Period.objects.filter(agreement=agreement).exists()


def test_recompute_now_on_periods_leaves_closed_ones(staff: Any, agreement: Agreement) -> None:
    from credits.recompute import recompute_agreement

    recompute_agreement(agreement_id=agreement.pk)
    period = Period.objects.filter(agreement=agreement).first()
    assert period is not None
    response = staff.post(
        reverse("admin:credits_period_changelist"),
        {"action": "recompute_now", "_selected_action": [period.pk]},
        follow=True,
    )
    assert "Queued a recompute of the open periods of 1 agreement(s)" in response.content.decode()


def _maintenance_post(service: Service, start: str, end: str) -> dict[str, Any]:
    return {
        "service": service.pk,
        "external_id": "mw-1",
        "title": "Router swap",
        "start_0": start[:10],
        "start_1": start[11:],
        "end_0": end[:10],
        "end_1": end[11:],
        "announced_at_0": "2026-01-01",
        "announced_at_1": "08:00:00",
    }


def test_time_fields_and_columns_name_their_zone(staff: Any, agreement: Agreement) -> None:
    page = staff.get(reverse("admin:metrics_maintenance_add")).content.decode()
    assert page.count("Times in UTC") >= 3  # start, end, announced at
    service = Service.objects.first()
    assert service is not None
    at = dt.datetime(2026, 2, 1, 8, tzinfo=dt.UTC)
    Maintenance.objects.create(
        service=service,
        external_id="mw-0",
        title="Swap",
        start=at,
        end=at + dt.timedelta(hours=1),
        announced_at=at,
    )
    columns = staff.get(reverse("admin:metrics_maintenance_changelist")).content.decode()
    assert "Start (UTC)" in columns and "Announced at (UTC)" in columns
    # An agreement's own object also names the agreement's zone.
    assert admin_helpers.zone_note(agreement) == (
        "Times in UTC; the agreement's zone is Europe/Berlin"
    )
    period = Period(agreement=agreement, period="2026-01")
    assert "Europe/Berlin" in admin_helpers.zone_note(period)
    assert admin_helpers.zone_note(None) == "Times in UTC"


def test_every_admin_and_inline_shares_the_zone_and_words_base() -> None:
    for model_admin in admin.site._registry.values():
        module = type(model_admin).__module__
        if module.split(".")[0] not in {
            "agreements",
            "contracts",
            "credits",
            "integrations",
            "metrics",
            "notifications",
            "status",
        }:
            continue
        assert isinstance(model_admin, admin_helpers.ModelAdmin), type(model_admin)
        for inline in model_admin.inlines:
            assert issubclass(inline, admin_helpers.TabularInline | admin_helpers.StackedInline), (
                inline
            )


def test_a_constraint_violation_is_shown_in_words(staff: Any, agreement: Agreement) -> None:
    service = Service.objects.first()
    assert service is not None
    response = staff.post(
        reverse("admin:metrics_maintenance_add"),
        _maintenance_post(service, "2026-02-01 10:00:00", "2026-02-01 09:00:00"),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "The end must be after the start." in page
    assert "metrics_maintenance_end_after_start" not in page
    assert not Maintenance.objects.exists()


def test_a_database_refusal_past_the_form_is_a_message_in_words() -> None:
    error = IntegrityError(
        'new row for relation "metrics_maintenance" violates check constraint '
        '"metrics_maintenance_end_after_start"'
    )
    assert admin_helpers.constraint_words(error) == "The end must be after the start."
    assert admin_helpers.constraint_words(IntegrityError("disk on fire")) == (
        admin_helpers.GENERIC_REFUSAL
    )


def test_a_refusal_past_the_form_redirects_with_the_words(
    staff: Any, agreement: Agreement, monkeypatch: Any
) -> None:
    from metrics.admin import MaintenanceAdmin

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise IntegrityError('violates check constraint "metrics_maintenance_end_after_start"')

    monkeypatch.setattr(MaintenanceAdmin, "save_model", refuse)
    service = Service.objects.first()
    assert service is not None
    response = staff.post(
        reverse("admin:metrics_maintenance_add"),
        _maintenance_post(service, "2026-02-01 08:00:00", "2026-02-01 09:00:00"),
        follow=True,
    )
    assert response.status_code == 200
    assert "The end must be after the start." in response.content.decode()
    assert not Maintenance.objects.exists()


def test_every_constraint_says_what_is_wrong_in_words() -> None:
    from django.apps import apps

    constraints = [(m, c) for m in apps.get_models() for c in m._meta.constraints]
    assert len(constraints) > 90
    for model, constraint in constraints:
        message = str(constraint.violation_error_message)
        where = f"{model._meta.label}: {constraint.name}"
        assert message != str(constraint.default_violation_error_message), where
        assert constraint.name not in message, where
        assert message[:1].isupper() and message.endswith("."), where


def test_a_change_page_names_the_zone_of_its_read_only_times(
    staff: Any, agreement: Agreement
) -> None:
    """A closed period's times are read-only (their labels come from the model): the page
    says above its form which zone they are in, with the agreement's own."""
    from credits.recompute import recompute_agreement

    recompute_agreement(agreement_id=agreement.pk)
    period = Period.objects.filter(agreement=agreement).first()
    assert period is not None
    page = staff.get(reverse("admin:credits_period_change", args=[period.pk])).content.decode()
    assert "Times in UTC; the agreement&#x27;s zone is Europe/Berlin." in page
    # The agreement's own page keeps its Recompute button beside the note.
    page = staff.get(reverse("admin:agreements_agreement_change", args=[agreement.pk]))
    text = page.content.decode()
    assert "Recompute now" in text and "zone-note" in text

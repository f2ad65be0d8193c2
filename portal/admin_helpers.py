"""What every admin page shares: time fields name their zone, refusals come in words.

Every ModelAdmin and inline of the project derives from ``ModelAdmin``, ``TabularInline``
or ``StackedInline`` here (a test walks the registry to keep it so):

- a time field (``DateTimeField``) on a form carries the help text "Times in UTC"
  (``settings.TIME_ZONE``), plus "the agreement's zone is Europe/Berlin" when the object
  belongs to an agreement; a change page with time fields says the same above its form,
  which covers the read-only ones (their labels come from the model); a time column of a
  list is headed "Created at (UTC)";
- a save that still meets a database constraint (one no form field covers) is answered
  with that constraint's ``violation_error_message`` as an error message on the same
  page, never with a 500 or the constraint's name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

GENERIC_REFUSAL = (
    "The change was not saved: it conflicts with data already stored. "
    "Check the values and try again."
)


def agreement_zone(obj: object) -> str | None:
    """The IANA zone (e.g. ``"Europe/Berlin"``) of the agreement ``obj`` is or belongs to,
    or None when it belongs to none."""
    from agreements.models import Agreement

    if isinstance(obj, Agreement):
        return obj.timezone or None
    for name in ("agreement", "period"):
        try:
            parent = getattr(obj, name, None)
        except ObjectDoesNotExist:
            return None
        if parent is not None and parent is not obj:
            return agreement_zone(parent)
    return None


def zone_note(obj: object = None) -> str:
    """The help text of a time field: ``"Times in UTC"`` or, on an agreement's object,
    ``"Times in UTC; the agreement's zone is Europe/Berlin"`` (``settings.TIME_ZONE``)."""
    note = f"Times in {settings.TIME_ZONE}"
    zone = agreement_zone(obj) if obj is not None else None
    if zone and zone != settings.TIME_ZONE:
        note += f"; the agreement's zone is {zone}"
    return note


def constraint_words(error: IntegrityError) -> str:
    """The sentence for a database refusal: the ``violation_error_message`` of the
    project's constraint whose name the database reports, else a general sentence."""
    text = str(error)
    found = [
        constraint
        for model in apps.get_models()
        for constraint in model._meta.constraints
        if constraint.name in text
    ]
    if not found:
        return GENERIC_REFUSAL
    # The longest name wins: "x_unique" must not shadow "x_unique_key".
    best = max(found, key=lambda c: len(c.name))
    return str(best.get_violation_error_message())


def _with_zone(form_class: Any, model: type[models.Model], obj: object) -> Any:
    note = zone_note(obj)
    for field in model._meta.fields:
        if isinstance(field, models.DateTimeField) and field.name in form_class.base_fields:
            formfield = form_class.base_fields[field.name]
            base = str(field.help_text or "")
            formfield.help_text = f"{base} ({note})" if base else note
    return form_class


def _time_column(field: models.DateTimeField) -> Callable[[models.Model], Any]:
    def column(obj: models.Model) -> Any:
        return getattr(obj, field.name)

    column.__name__ = field.name
    return admin.display(
        description=f"{str(field.verbose_name).capitalize()} ({settings.TIME_ZONE})",
        ordering=field.name,
    )(column)


class ZoneFieldsMixin:
    """Time fields of a form say their zone; used by the admin classes below."""

    model: type[models.Model]

    def _zoned(self, form_class: Any, obj: object) -> Any:
        return _with_zone(form_class, self.model, obj)


class ModelAdmin(ZoneFieldsMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """The project's ModelAdmin: zones on time fields and columns, refusals in words."""

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        return self._zoned(super().get_form(request, obj, change, **kwargs), obj)

    def get_list_display(self, request: HttpRequest) -> Any:
        editable = set(self.list_editable)
        columns: list[Any] = []
        for name in super().get_list_display(request):
            field = _model_field(self.model, name) if isinstance(name, str) else None
            if isinstance(field, models.DateTimeField) and name not in editable:
                columns.append(_time_column(field))
            else:
                columns.append(name)
        return columns

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> Any:
        if any(isinstance(f, models.DateTimeField) for f in self.model._meta.fields):
            context["zone_note"] = zone_note(obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except IntegrityError as error:
            # The page's transaction is rolled back already: nothing was written.
            self.message_user(request, constraint_words(error), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


def _model_field(model: type[models.Model], name: str) -> Any:
    try:
        return model._meta.get_field(name)
    except Exception:
        return None


class _InlineZones(ZoneFieldsMixin):
    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)  # type: ignore[misc]
        self._zoned(formset.form, obj)
        return formset


class TabularInline(_InlineZones, admin.TabularInline):  # type: ignore[type-arg]
    """The project's tabular inline: its time fields say their zone."""


class StackedInline(_InlineZones, admin.StackedInline):  # type: ignore[type-arg]
    """The project's stacked inline: its time fields say their zone."""

"""Who is told and who measures: ``escalation``, ``measured_by`` and the ``services`` map."""

from __future__ import annotations

from typing import Any

from agreements.document.checker import _Checker
from agreements.document.fields import format_duration
from agreements.document.vocabulary import (
    EMAIL,
    MAX_EMAIL_LENGTH,
    MAX_ESCALATION_LEVELS,
    MAX_OBJECTIVES,
)
from agreements.text import shown


def _escalation(c: _Checker, value: object) -> list[dict[str, Any]]:
    if value is None:
        return []
    levels = c.listed(value, "escalation", limit=MAX_ESCALATION_LEVELS, what="levels")
    if levels is None:
        return []
    out: list[dict[str, Any]] = []
    for i, raw in enumerate(levels):
        path = f"escalation[{i}]"
        step = c.mapping(raw, path)
        if step is None:
            continue
        c.unknown(step, {"level", "after", "contact"}, path)
        level = c.integer(step.get("level"), f"{path}.level", minimum=1, maximum=100)
        after = c.duration(step.get("after", "0m"), f"{path}.after")
        contact = c.text(step.get("contact"), f"{path}.contact", max_length=MAX_EMAIL_LENGTH)
        if contact is not None and not EMAIL.fullmatch(contact):
            c.error(f"{path}.contact", "must be an email address")
            contact = None
        if out and level is not None and out[-1]["level"] is not None and level <= out[-1]["level"]:
            c.error(f"{path}.level", "levels must be listed in increasing order")
        if (
            out
            and after is not None
            and out[-1]["_after"] is not None
            and after < out[-1]["_after"]
        ):
            c.error(f"{path}.after", "must not be earlier than the previous level's")
        out.append(
            {
                "level": level,
                "after": format_duration(after) if after is not None else None,
                "contact": contact,
                "_after": after,
            }
        )
    for step in out:
        del step["_after"]
    return out


MAX_MEASURED_BY = 20
SOURCE_NAME_LENGTH = 100  # ApiKey.name


def _measured_by(c: _Checker, value: object) -> list[str]:
    """Names of the API keys (or integrations) whose measurements count; [] means any."""
    if value is None:
        return []
    if not isinstance(value, list):
        c.error("measured_by", "must be a list of API key or integration names")
        return []
    if len(value) > MAX_MEASURED_BY:
        c.error("measured_by", f"must name at most {MAX_MEASURED_BY} sources")
        return []
    out: list[str] = []
    for index, item in enumerate(value):
        path = f"measured_by[{index}]"
        # c.text refuses anything but one line without control characters.
        name = c.text(item, path, max_length=SOURCE_NAME_LENGTH)
        if name is not None and name not in out:
            out.append(name)
    return out


MAX_SERVICES = MAX_OBJECTIVES
SERVICE_KEYS = {"name", "provider", "public"}


def _services(
    c: _Checker, value: object, objectives: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The ``services`` map: each key a service of one of the objectives, with its
    display ``name``, supplier (``provider``) and whether the public status page shows it
    (``public``, default false)."""
    if value is None:
        return {}
    services = c.mapping(value, "services")
    if services is None:
        return {}
    if len(services) > MAX_SERVICES:
        c.error("services", f"at most {MAX_SERVICES} services (found {len(services)})")
        return {}
    used = {o.get("service") for o in objectives if o}
    used |= {key for o in objectives if o for key in o.get("services", ())}
    out: dict[str, dict[str, Any]] = {}
    for raw_key, raw in services.items():
        key = c.slug(raw_key, f"services.{shown(raw_key)}")
        if key is None:
            continue
        path = f"services.{key}"
        if key not in used:
            c.error(path, "is not the service of any objective")
            continue
        body = c.mapping(raw, path)
        if body is None:
            continue
        c.unknown(body, SERVICE_KEYS, path)
        public = body.get("public", False)
        if not isinstance(public, bool):
            c.error(f"{path}.public", "must be true or false")
            public = False
        out[key] = {
            "name": c.text(body["name"], f"{path}.name") if body.get("name") else "",
            "provider": (
                c.text(body["provider"], f"{path}.provider") if body.get("provider") else ""
            ),
            "public": public,
        }
    return out

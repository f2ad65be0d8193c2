"""The contract-life section of a document (SPEC §2, rule 20): renewal, contacts, what
each party undertakes, and who receives the monthly statement."""

from __future__ import annotations

from typing import Any

from agreements.document.checker import _Checker
from agreements.document.vocabulary import EMAIL, MAX_EMAIL_LENGTH

LIFE_KEYS = ("auto_renew_months", "contacts", "responsibilities", "reports")
CONTACT_KEYS = {"role", "name", "email", "phone", "hours"}
PARTIES = ("provider", "customer")
MAX_CONTACTS = 20
MAX_RESPONSIBILITIES = 30
MAX_REPORTS = 20


def _life(c: _Checker, doc: dict[str, Any]) -> dict[str, Any]:
    """``auto_renew_months`` (1..120 or None), ``contacts`` (list of mappings with a role
    and a name, email, phone or hours), ``responsibilities`` ({provider: [...], customer:
    [...]}) and ``reports`` ([{to: email}]), canonical; problems go to ``c``."""
    months = doc.get("auto_renew_months")
    return {
        "auto_renew_months": None
        if months is None
        else c.integer(months, "auto_renew_months", minimum=1, maximum=120),
        "contacts": _contacts(c, doc.get("contacts")),
        "responsibilities": _responsibilities(c, doc.get("responsibilities")),
        "reports": _reports(c, doc.get("reports")),
    }


def _email(c: _Checker, value: object, path: str) -> str | None:
    text = c.text(value, path, max_length=MAX_EMAIL_LENGTH)
    if text is not None and not EMAIL.fullmatch(text):
        c.error(path, "must be an email address")
        return None
    return text


def _contacts(c: _Checker, value: object) -> list[dict[str, str]]:
    items = (
        [] if value is None else c.listed(value, "contacts", limit=MAX_CONTACTS, what="contacts")
    )
    out = []
    for i, raw in enumerate(items or []):
        path = f"contacts[{i}]"
        item = c.mapping(raw, path)
        if item is None:
            continue
        c.unknown(item, CONTACT_KEYS, path)
        if not item.get("role"):
            c.error(f"{path}.role", "is required")
        if not any(item.get(k) for k in ("name", "email", "phone")):
            c.error(path, "needs a name, an email or a phone")
        contact = {}
        for key in ("role", "name", "phone", "hours"):
            if item.get(key) is not None:
                contact[key] = c.text(item[key], f"{path}.{key}", max_length=120) or ""
        if item.get("email") is not None:
            contact["email"] = _email(c, item["email"], f"{path}.email") or ""
        out.append(contact)
    return out


def _responsibilities(c: _Checker, value: object) -> dict[str, list[str]]:
    if value is None:
        return {}
    parties = c.mapping(value, "responsibilities")
    if parties is None:
        return {}
    c.unknown(parties, set(PARTIES), "responsibilities")
    out: dict[str, list[str]] = {}
    for party in PARTIES:
        if parties.get(party) is None:
            continue
        path = f"responsibilities.{party}"
        items = c.listed(parties[party], path, limit=MAX_RESPONSIBILITIES, what="undertakings")
        texts = [c.text(t, f"{path}[{i}]", max_length=300) for i, t in enumerate(items or [])]
        out[party] = [t for t in texts if t]
    return out


def _reports(c: _Checker, value: object) -> list[dict[str, str]]:
    items = (
        [] if value is None else c.listed(value, "reports", limit=MAX_REPORTS, what="recipients")
    )
    out = []
    for i, raw in enumerate(items or []):
        path = f"reports[{i}]"
        item = c.mapping(raw, path)
        if item is None:
            continue
        c.unknown(item, {"to"}, path)
        if item.get("to") is None:
            c.error(f"{path}.to", "is required")
            continue
        to = _email(c, item["to"], f"{path}.to")
        if to:
            out.append({"to": to})
    return out

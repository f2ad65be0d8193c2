"""Agreements as OpenSLO v1 documents and back (SPEC §4, management commands).

Export: one ``kind: SLO`` (``apiVersion: openslo/v1``) per objective, in a YAML stream.
OpenSLO fields carry what they can say: ``spec.service`` (the objective's service),
``spec.objectives[0].target`` (the target as a ratio, 99.9 % → 0.999),
``spec.timeWindow`` (a calendar-aligned month, ``isRolling: false``, starting at the
agreement's ``effective_from`` midnight in its ``timezone``), ``spec.budgetingMethod``
(``Occurrences``) and ``spec.indicator`` (a ratio of good to total events whose metric
source is this portal). Every term OpenSLO has no field for rides in annotations under
``sla-portal/``: ``sla-portal/agreement`` (the agreement's other terms as JSON),
``sla-portal/objective-key`` and ``sla-portal/objective`` (the objective's other terms as
JSON). Importing the export gives the same agreement.

Import takes such a stream (SLO documents; ``Service`` documents are read past) and
refuses, naming the field, what an agreement cannot express: a rolling window
(``spec.timeWindow[0].isRolling``), another window than one calendar month
(``spec.timeWindow[0].duration``), a composite SLO (several ``spec.objectives``, a
``compositeWeight``, ``kind: CompositeSLO``), or an SLO without the ``sla-portal/``
annotations that name the agreement's terms.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from agreements.document import DocumentError
from agreements.document.loading import _DecimalLoader

API_VERSION = "openslo/v1"
PREFIX = "sla-portal/"
AGREEMENT = PREFIX + "agreement"
OBJECTIVE_KEY = PREFIX + "objective-key"
OBJECTIVE = PREFIX + "objective"
NO_SERVICE = "-"  # spec.service of an objective that names none (ticket objectives)
# Agreement terms that OpenSLO fields carry: the zone and start of the time window.
IN_WINDOW = ("timezone", "effective_from")


def is_openslo(text: str) -> bool:
    """Whether ``text`` looks like OpenSLO documents rather than an agreement document."""
    return f"apiVersion: {API_VERSION}" in text or f'"apiVersion": "{API_VERSION}"' in text


def export_documents(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The OpenSLO v1 ``SLO`` documents of an agreement ``document`` (the canonical form
    of ``agreement_export``, empty optional fields dropped), one per objective."""
    terms = {k: v for k, v in document.items() if k not in ("objectives", *IN_WINDOW)}
    window = {
        "duration": "1M",
        "isRolling": False,
        "calendar": {
            "startTime": f"{document['effective_from']} 00:00:00",
            "timeZone": document["timezone"],
        },
    }
    out = []
    for objective in document["objectives"]:
        key = objective["key"]
        rest = {k: v for k, v in objective.items() if k not in ("key", "service", "target")}
        service = objective.get("service") or NO_SERVICE
        slo_objective: dict[str, Any] = {"displayName": key}
        if objective.get("target") is not None:
            slo_objective["target"] = Decimal(str(objective["target"])) / 100
        indicator = objective["indicator"]
        out.append(
            {
                "apiVersion": API_VERSION,
                "kind": "SLO",
                "metadata": {
                    "name": f"{document['agreement']}-{key}"[:63].rstrip("-"),
                    "displayName": f"{document['name']}: {key}",
                    "annotations": {
                        AGREEMENT: json.dumps(terms, sort_keys=True, default=str),
                        OBJECTIVE_KEY: key,
                        OBJECTIVE: json.dumps(rest, sort_keys=True, default=str),
                    },
                },
                "spec": {
                    "description": f"{objective['indicator']} objective {key} of agreement "
                    f"{document['agreement']}",
                    "service": service,
                    "indicator": {
                        "metadata": {"name": key},
                        "spec": {
                            "ratioMetric": {
                                "counter": True,
                                "good": {"metricSource": _source(indicator, "good")},
                                "total": {"metricSource": _source(indicator, "total")},
                            }
                        },
                    },
                    "timeWindow": [window],
                    "budgetingMethod": "Occurrences",
                    "objectives": [slo_objective],
                },
            }
        )
    return out


def _source(indicator: str, count: str) -> dict[str, Any]:
    """Where an OpenSLO reader finds the counts: this portal's figures of the indicator."""
    return {"type": "sla-portal", "spec": {"indicator": indicator, "count": count}}


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # the import reads no aliases, as for agreement documents


_Dumper.add_representer(
    Decimal,
    lambda d, v: d.represent_scalar("tag:yaml.org,2002:float", format(v.normalize(), "f")),
)


def export_text(document: dict[str, Any]) -> str:
    """``export_documents`` as a YAML stream (``---`` between documents)."""
    return yaml.dump_all(
        export_documents(document), Dumper=_Dumper, sort_keys=False, allow_unicode=True
    ).rstrip()


def import_text(text: str) -> list[dict[str, Any]]:
    """The agreement documents (SPEC §2, not yet validated) that a YAML stream of OpenSLO
    v1 documents describes, in the order they first appear. Raises ``DocumentError``
    naming the document (``[i]``, counted from 0) and the field."""
    try:
        loaded = list(yaml.load_all(text, Loader=_DecimalLoader))
    except (yaml.YAMLError, ValueError, RecursionError) as error:
        raise DocumentError([("", f"invalid YAML: {error}")]) from None
    agreements: dict[str, dict[str, Any]] = {}
    errors: list[tuple[str, str]] = []
    for i, item in enumerate(loaded):
        if item is None:
            continue
        try:
            _merge(agreements, item, f"[{i}]")
        except DocumentError as error:
            errors.extend(error.errors)
    if errors:
        raise DocumentError(errors)
    if not agreements:
        raise DocumentError([("", "no OpenSLO SLO documents found")])
    return list(agreements.values())


def _fail(path: str, message: str) -> DocumentError:
    return DocumentError([(path, message)])


def _merge(agreements: dict[str, dict[str, Any]], item: Any, at: str) -> None:
    if not isinstance(item, dict):
        raise _fail(at, "must be an OpenSLO document (a mapping)")
    if item.get("apiVersion") != API_VERSION:
        raise _fail(f"{at}.apiVersion", f"must be {API_VERSION}")
    kind = item.get("kind")
    if kind == "Service":
        return
    if kind == "CompositeSLO":
        raise _fail(f"{at}.kind", "composite SLOs cannot be expressed as an agreement objective")
    if kind != "SLO":
        raise _fail(f"{at}.kind", f"{str(kind)[:40]!r} is not imported; only SLO (and Service)")
    metadata = _mapping(item.get("metadata"), f"{at}.metadata")
    annotations = _mapping(metadata.get("annotations"), f"{at}.metadata.annotations")
    spec = _mapping(item.get("spec"), f"{at}.spec")
    zone, start = _window(spec, f"{at}.spec")
    objective = _objective(spec, f"{at}.spec")
    terms = _json(annotations, AGREEMENT, f"{at}.metadata.annotations")
    rest = _json(annotations, OBJECTIVE, f"{at}.metadata.annotations")
    key = annotations.get(OBJECTIVE_KEY)
    if not isinstance(key, str) or not key:
        raise _fail(f"{at}.metadata.annotations.{OBJECTIVE_KEY}", "is required (the objective key)")
    service = spec.get("service")
    if not isinstance(service, str) or not service:
        raise _fail(f"{at}.spec.service", "is required")
    item_doc: dict[str, Any] = {"key": key, **rest}
    if service != NO_SERVICE:
        item_doc["service"] = service
    if "target" in objective:
        item_doc["target"] = objective["target"]
    agreement_key = terms.get("agreement")
    if not isinstance(agreement_key, str):
        raise _fail(f"{at}.metadata.annotations.{AGREEMENT}", "must name the agreement")
    document = agreements.get(agreement_key)
    if document is None:
        document = {**terms, "timezone": zone, "effective_from": start, "objectives": []}
        agreements[agreement_key] = document
    elif {k: v for k, v in document.items() if k not in ("objectives",)} != {
        **terms,
        "timezone": zone,
        "effective_from": start,
    }:
        raise _fail(
            f"{at}.metadata.annotations.{AGREEMENT}",
            f"differs from the terms an earlier SLO gave agreement {agreement_key!r}",
        )
    document["objectives"].append(item_doc)


def _mapping(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(path, "must be a mapping")
    return value


def _json(annotations: dict[str, Any], name: str, path: str) -> dict[str, Any]:
    text = annotations.get(name)
    if not isinstance(text, str):
        raise _fail(f"{path}.{name}", "is required: the agreement terms OpenSLO has no field for")
    try:
        value = json.loads(text, parse_float=Decimal)
    except (ValueError, RecursionError):
        raise _fail(f"{path}.{name}", "must be a JSON object") from None
    return _mapping(value, f"{path}.{name}")


def _window(spec: dict[str, Any], path: str) -> tuple[str, str]:
    windows = spec.get("timeWindow")
    if not isinstance(windows, list) or len(windows) != 1:
        raise _fail(f"{path}.timeWindow", "must hold exactly one time window")
    where = f"{path}.timeWindow[0]"
    window = _mapping(windows[0], where)
    if window.get("isRolling") is not False:
        raise _fail(
            f"{where}.isRolling",
            "rolling windows cannot be expressed: agreements are measured per calendar month "
            "(isRolling: false)",
        )
    if window.get("duration") != "1M":
        raise _fail(f"{where}.duration", "must be 1M: agreements are measured per calendar month")
    calendar = _mapping(window.get("calendar"), f"{where}.calendar")
    zone, start = calendar.get("timeZone"), calendar.get("startTime")
    if not isinstance(zone, str):
        raise _fail(f"{where}.calendar.timeZone", "is required (an IANA zone)")
    if not isinstance(start, str) or not start.endswith(" 00:00:00") or len(start) != 19:
        raise _fail(
            f"{where}.calendar.startTime",
            "must be a midnight 'YYYY-MM-DD 00:00:00' (the agreement's effective_from)",
        )
    return zone, start[:10]


def _objective(spec: dict[str, Any], path: str) -> dict[str, Any]:
    objectives = spec.get("objectives")
    if not isinstance(objectives, list) or not objectives:
        raise _fail(f"{path}.objectives", "must hold one objective")
    if len(objectives) > 1:
        raise _fail(
            f"{path}.objectives",
            "several objectives in one SLO (a composite SLO) cannot be expressed; "
            "write one SLO per objective",
        )
    where = f"{path}.objectives[0]"
    objective = _mapping(objectives[0], where)
    if "compositeWeight" in objective:
        raise _fail(f"{where}.compositeWeight", "composite SLOs cannot be expressed")
    out: dict[str, Any] = {}
    for name, scale in (("target", 100), ("targetPercent", 1)):
        if name in objective:
            try:
                value = Decimal(str(objective[name])) * scale
            except InvalidOperation:
                raise _fail(f"{where}.{name}", "must be a number") from None
            out["target"] = value.normalize() if value != value.to_integral_value() else int(value)
    return out

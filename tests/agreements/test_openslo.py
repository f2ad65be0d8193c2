"""OpenSLO v1 export and import (SPEC §4): one SLO per objective, a calendar month in the
agreement's zone, other terms in sla-portal/ annotations; the export imports back as the
same agreement, and what an agreement cannot express is refused by field."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import time_machine
import yaml
from django.core.management import CommandError, call_command

from agreements import openslo
from agreements.document import DocumentError, load_document, validate
from agreements.models import Agreement
from agreements.services import agreement_export, agreement_import, printable_document

pytestmark = pytest.mark.django_db
DEMO = sorted((Path(__file__).parents[2] / "portal" / "demo").glob("*.yaml"))
NOW = dt.datetime(2026, 3, 15, 12, tzinfo=dt.UTC)


def export(key: str) -> str:
    out = io.StringIO()
    call_command("export_agreement", key, "--format", "openslo", stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("path", DEMO, ids=[p.stem for p in DEMO])
def test_every_demo_agreement_round_trips(path: Path, tmp_path: Path) -> None:
    with time_machine.travel(NOW, tick=False):
        data = load_document(path.read_text())
        data["effective_from"] = "2026-01-01"  # as seed_demo sets it
        agreement = agreement_import(data=data).agreement
        before = agreement_export(agreement)
        text = export(agreement.key)
        [document] = openslo.import_text(text)
        assert validate(document) == validate(printable_document(before))
        exported = tmp_path / "slo.yaml"
        exported.write_text(text)
        out = io.StringIO()
        call_command("import_agreement", str(exported), stdout=out)
    assert "terms unchanged" in out.getvalue()
    assert agreement_export(Agreement.objects.get(key=agreement.key)) == before


def test_one_slo_per_objective_with_its_fields(document: dict[str, Any]) -> None:
    with time_machine.travel(NOW, tick=False):
        agreement_import(data=document)
    slos = list(yaml.safe_load_all(export("acme-hosting")))
    assert [s["kind"] for s in slos] == ["SLO"] * len(document["objectives"])
    first = slos[0]
    assert first["apiVersion"] == "openslo/v1"
    assert first["spec"]["service"] == "hosted-api"
    assert first["spec"]["objectives"] == [{"displayName": "api-availability", "target": 0.999}]
    assert first["spec"]["timeWindow"] == [
        {
            "duration": "1M",
            "isRolling": False,
            "calendar": {"startTime": "2026-01-01 00:00:00", "timeZone": "Europe/Berlin"},
        }
    ]
    assert first["spec"]["budgetingMethod"] == "Occurrences"
    annotations = first["metadata"]["annotations"]
    assert set(annotations) == {
        "sla-portal/agreement",
        "sla-portal/objective-key",
        "sla-portal/objective",
    }
    assert '"monthly_fee": "12000.00"' in annotations["sla-portal/agreement"]


def slo(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "openslo/v1",
        "kind": "SLO",
        "metadata": {
            "name": "shop-api-up",
            "annotations": {
                "sla-portal/agreement": '{"agreement": "shop", "customer": {"key": "shop-co", '
                '"name": "Shop Co"}, "name": "Shop", "currency": "EUR", '
                '"monthly_fee": "1000.00"}',
                "sla-portal/objective-key": "api-up",
                "sla-portal/objective": '{"indicator": "availability"}',
            },
        },
        "spec": {
            "service": "api",
            "timeWindow": [
                {
                    "duration": "1M",
                    "isRolling": False,
                    "calendar": {"startTime": "2026-03-01 00:00:00", "timeZone": "UTC"},
                }
            ],
            "budgetingMethod": "Occurrences",
            "objectives": [{"target": 0.9995}],
            **spec,
        },
    }


def refusal(*documents: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(DocumentError) as caught:
        openslo.import_text(yaml.safe_dump_all(documents))
    return caught.value.errors


def test_a_hand_written_slo_imports_with_its_target() -> None:
    [document] = openslo.import_text(yaml.safe_dump_all([slo()]))
    assert document["timezone"] == "UTC"
    assert document["effective_from"] == "2026-03-01"
    assert document["objectives"] == [
        {"key": "api-up", "indicator": "availability", "service": "api", "target": Decimal("99.95")}
    ]
    assert validate(document)["objectives"][0]["target"] == "99.95"
    percent = slo(objectives=[{"targetPercent": 99.5}])
    assert openslo.import_text(yaml.safe_dump_all([percent]))[0]["objectives"][0]["target"] == (
        Decimal("99.5")
    )


def test_a_rolling_window_is_refused_by_field() -> None:
    window = slo()["spec"]["timeWindow"][0]
    errors = refusal(slo(timeWindow=[{**window, "isRolling": True}]))
    assert errors[0][0] == "[0].spec.timeWindow[0].isRolling"
    assert "rolling" in errors[0][1]
    errors = refusal(slo(timeWindow=[{**window, "duration": "28d"}]))
    assert errors[0][0] == "[0].spec.timeWindow[0].duration"


def test_composite_slos_are_refused_by_field() -> None:
    assert refusal(slo(objectives=[{"target": 0.99}, {"target": 0.9}]))[0][0] == (
        "[0].spec.objectives"
    )
    weighted = slo(objectives=[{"target": 0.99, "compositeWeight": 1}])
    assert refusal(weighted)[0][0] == "[0].spec.objectives[0].compositeWeight"
    assert refusal({**slo(), "kind": "CompositeSLO"})[0][0] == "[0].kind"


def test_an_slo_without_the_portal_annotations_is_refused() -> None:
    bare = slo()
    del bare["metadata"]["annotations"]["sla-portal/agreement"]
    errors = refusal(bare)
    assert errors[0][0] == "[0].metadata.annotations.sla-portal/agreement"


def test_the_import_command_refuses_with_the_field_and_stores_nothing(tmp_path: Path) -> None:
    window = slo()["spec"]["timeWindow"][0]
    path = tmp_path / "rolling.yaml"
    path.write_text(yaml.safe_dump_all([slo(timeWindow=[{**window, "isRolling": True}])]))
    with pytest.raises(CommandError, match=r"spec\.timeWindow\[0\]\.isRolling"):
        call_command("import_agreement", str(path))
    assert not Agreement.objects.exists()

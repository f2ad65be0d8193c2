"""What an amendment changes, in plain language, beside the terms in force (rule 20)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agreements import display
from agreements.document import terms_of as document_terms
from credits.terms import Terms, terms_of
from portal.pages.terms import objective_sentence, tier_sentences


@dataclass(frozen=True)
class Change:
    """One line of the comparison: what, the terms in force, the proposed terms."""

    what: str
    current: str
    proposed: str

    @property
    def changed(self) -> bool:
        return self.current != self.proposed


def _general(t: Terms, currency: str) -> dict[str, str]:
    return {
        "Monthly fee": f"{display.money(t.monthly_fee)} {currency}",
        "Credit cap": f"{display.plain(t.credit_cap_percent)}% of the monthly fee",
        "Claim window": f"{t.claim_window_days} days"
        if t.claim_window_days
        else "credits entered automatically",
        "Maintenance notice": f"{t.maintenance_notice_hours} h",
        "Period closes after": f"{t.data_grace_hours} h",
        "In effect": f"from {t.effective_from}"
        + (f" until {t.effective_to}" if t.effective_to else ", open-ended"),
    }


def _objectives(t: Terms) -> dict[str, str]:
    out = {}
    for o in t.objectives:
        tiers = "; ".join(tier_sentences(o)) or "no credits"
        out[f"Objective {o.key}"] = f"{objective_sentence(o)} Credits: {tiers}."
    return out


def changes(
    current_snapshot: dict[str, Any], document: dict[str, Any], currency: str
) -> list[Change]:
    """Every term of ``current_snapshot`` (a terms version's snapshot) beside the same
    term of the proposed canonical ``document``; absent terms read "—"."""
    current, proposed = terms_of(current_snapshot), terms_of(document_terms(document))
    left = _general(current, currency) | _objectives(current)
    right = _general(proposed, document.get("currency") or currency) | _objectives(proposed)
    names = list(left) + [k for k in right if k not in left]
    return [Change(name, left.get(name, "—"), right.get(name, "—")) for name in names]

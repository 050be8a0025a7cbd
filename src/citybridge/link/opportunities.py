"""Calls and funding programmes for a challenge: which are still open today, and why each one fits.

A call is left out when its status is ``closed`` or its deadline has passed (relative to the ``today`` the
caller passes: the Hub's clock, which tests set). A programme limited to some countries is left out for a
city in another country. The reasons name what the record says: who may apply (countries, local
authorities), the budget, the deadline and how far it is, and the programme.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from citybridge.model.entities import Opportunity

#: eligibility words that say a city or its administration may apply
LOCAL_APPLICANTS = ("local authorit", "municipal", "cities", "city ", "public authorit", "local government",
                    "regional authorit", "administrative bodies")
EU_MEMBER_STATES = frozenset({"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
                              "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"})


def closed_reason(rec: Any, today: date) -> str | None:
    """Why an opportunity is no longer open (None when it is)."""
    if not isinstance(rec, Opportunity):
        return None
    status = str(rec.attributes.get("status") or "").lower()
    if status == "closed":
        return "closed"
    if rec.deadline is not None and rec.deadline < today:
        return f"deadline {rec.deadline.isoformat()} has passed"
    return None


def _money(value: float) -> str:
    return f"€{value / 1e6:.1f}M".replace(".0M", "M") if value >= 1e6 else f"€{value / 1e3:.0f}k"


def budget_reason(rec: Opportunity) -> str | None:
    a = rec.attributes
    low, high = a.get("budget_min"), a.get("budget_max", rec.amount)
    grants = a.get("expected_grants")
    if high and low and low != high:
        text = f"budget {_money(low)}–{_money(high)} per proposal"
    elif high:
        text = f"budget {_money(high)} per grant"
    elif low:
        text = f"proposals from {_money(low)}"
    else:
        return None
    return text + (f", {grants} grants expected" if isinstance(grants, int) and grants > 0 else "")


def deadline_reason(rec: Opportunity, today: date) -> str:
    status = str(rec.attributes.get("status") or "")
    if rec.deadline is None:
        return "ongoing programme, no single deadline" if rec.opp_type.value == "funding_programme" else \
            "no deadline given"
    days = (rec.deadline - today).days
    when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
    return f"deadline {rec.deadline.isoformat()} ({when}{', forthcoming' if status == 'forthcoming' else ''})"


def eligibility(rec: Opportunity, country: str | None, local: bool) -> tuple[float, list[str], bool]:
    """(place score in 0..1, reasons, excluded) for applicants from ``country`` (``local``: a city asks)."""
    a = rec.attributes
    reasons: list[str] = []
    score = 0.0
    countries = a.get("countries") or ([rec.country] if rec.country else [])
    groups = a.get("eligible_groups") or []
    if country and countries:
        if country not in countries:
            return 0.0, [], True
        score = 1.0 if len(countries) <= 3 else 0.7
        reasons.append(f"open to applicants in {country}" + ("" if len(countries) > 3 else " (national programme)"))
    elif country and "EU" in groups and country in EU_MEMBER_STATES:
        score = 0.5
        reasons.append(f"applicants from EU Member States ({country}) are eligible")
    applicants = [x.lower() for x in a.get("eligible_applicants") or []]
    text = (rec.eligibility or "").lower()
    if local and (any(x.startswith("local authorit") for x in applicants) or
                  any(w in text for w in LOCAL_APPLICANTS)):
        reasons.append("local authorities may apply" if applicants else "the conditions name cities or local "
                       "authorities as applicants")
        score = min(1.0, score + 0.3)
    return score, reasons, False


def programme_reason(rec: Opportunity) -> str | None:
    a = rec.attributes
    prog = a.get("programme") or (rec.funder if rec.opp_type.value == "funding_programme" else None)
    if not prog:
        return None
    call = a.get("call_title")
    return f"{prog}" + (f", call “{call}”" if call else "")


__all__ = ["EU_MEMBER_STATES", "budget_reason", "closed_reason", "deadline_reason", "eligibility",
           "programme_reason"]

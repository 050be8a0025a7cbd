"""EU Funding & Tenders Portal call topics -> opportunities with deadlines, budgets and status.

The portal's topic export (and snapshots of it) is a stream of JSON objects, one per call topic: ``topicId``,
``title``, ``programme``, ``callIdentifier``, ``callTitle``, ``deadline``, ``callStatus`` (open, forthcoming,
closed), ``budgetMin``/``budgetMax`` (per grant, EUR), ``expectedGrants``, ``keywords``, ``portalUrl``,
``description`` (expected outcome and scope), ``topicConditions`` (admissibility, eligible countries) ...
Files seen in the wild carry a UTF-8 BOM, objects concatenated without separators, and cp1252 mojibake
(``â€œ`` for ``“``): the reader takes all three, and every text goes through ``ftfy`` (a maintained
mojibake repairer; never patched by hand). One opportunity per topic, keyed by ``eu_topic`` = the topic id,
so importing a newer export updates the same records. Commission content: CC BY 4.0 (Decision C(2019)1655).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from citybridge.ingest.base import Rejection, SourceItem, existing_file, registry, rejected
from citybridge.ingest.jsonstream import head_text, iter_json_values, open_binary
from citybridge.model.entities import Opportunity, OpportunityType, Provenance

LICENCE = "CC-BY-4.0"
SOURCE = "eu-funding-tenders"
#: the portal glues section headings to the text before them ("...impacts.Scope:Proposals ...")
_HEADINGS = re.compile(r"\s*(Expected Outcomes?|Expected results|Expected Impacts?|Scope|Objectives?|"
                       r"Specific objectives?|Themes and priorities(?: \(scope\))?|Activities that can be funded"
                       r"|Expected impact)\s*:\s*")
_NUMBERED = re.compile(r"(?<!\d)(?<!\d[.,])([1-9])\.\s*(?=[A-Z])")
_SECTION_TITLES = re.compile(r"^(Eligible countries|Other eligib\w+ (conditions|criteria))\s*:?\s*", re.I)
_TOPIC_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./\-]+$")
_ID_LIKE = re.compile(r"^[A-Z0-9]+(-[A-Za-z0-9_.]+)+$")


def repair(text: Any) -> str:
    """A portal text with its mojibake repaired (``ftfy``), curly quotes kept, whitespace tidied."""
    try:
        import ftfy
    except ImportError as exc:  # pragma: no cover - a core dependency
        from citybridge.errors import Unavailable

        raise Unavailable("the EU calls source needs ftfy: pip install ftfy") from exc
    if text is None:
        return ""
    text = str(text)
    fixed = text if text.isascii() else ftfy.fix_text(text, uncurl_quotes=False)
    return re.sub(r"[ \t]+", " ", fixed).strip()


def tidy_description(text: str) -> str:
    """Section headings on their own paragraph: "Expected Outcome: ...\n\nScope: ..."."""
    out = _HEADINGS.sub(lambda m: f"\n\n{m.group(1)}: ", text).strip()
    return re.sub(r"\n{3,}", "\n\n", out)


def numbered_sections(text: str) -> list[str]:
    """The parts of "1. ...2. ...3. ..." (numbers in sequence; other digits followed by a dot are text)."""
    cuts, want = [], 1
    for m in _NUMBERED.finditer(text):
        if int(m.group(1)) == want:
            cuts.append((m.start(), m.end()))
            want += 1
    if not cuts:
        return []
    ends = [start for start, _end in cuts[1:]] + [len(text)]
    return [text[end:stop].strip() for (_start, end), stop in zip(cuts, ends, strict=True)]


def eligible_countries(conditions: str) -> tuple[str | None, list[str]]:
    """(who may apply: the eligible-countries and other eligibility sections of a topic's conditions, coarse
    groups they name: ``EU`` for Member States, ``associated`` for Associated Countries, ``third`` for
    non-associated third countries)."""
    text = conditions.lstrip('">').strip()
    parts = []
    for sec in numbered_sections(text):
        m = _SECTION_TITLES.match(sec)
        if m:
            body = " ".join(sec[m.end():].split())
            parts.append(f"{m.group(1).capitalize()}: {body[:700]}{'…' if len(body) > 700 else ''}")
    para = " ".join(parts) or None
    low = (para or text[:3000]).lower()
    groups = [g for g, words in (("EU", ("member state", "eu countries", "eu member")),
                                 ("associated", ("associated countr",)),
                                 ("third", ("third countr", "low- and middle-income", "non-associated")))
              if any(w in low for w in words)]
    return para, groups


def _date(value: Any) -> date | None:
    v = str(value or "").strip()[:10]
    return date.fromisoformat(v) if v else None


def _amount(value: Any) -> float | None:
    if value in (None, ""):
        return None
    return float(value)


class EuCallsSource:
    """Call topics from a Funding & Tenders export (``.json``, ``.jsonl``, optionally gzipped)."""

    def __init__(self, path: str | Path) -> None:
        self.path = existing_file(path, "EU calls file")
        self.name = self.path.name

    def items(self) -> Iterator[SourceItem]:
        with open_binary(self.path) as fh:
            for el in iter_json_values(fh):
                where = f"{self.name}:topic {el.index}"
                if el.error is not None:
                    yield SourceItem(where, rejection=Rejection(where, el.error))
                    return
                if not isinstance(el.value, dict):
                    yield SourceItem(where, rejection=Rejection(where, "not a JSON object"))
                    continue
                yield self._item(where, el.value)

    def _item(self, where: str, row: dict[str, Any]) -> SourceItem:
        topic = str(row.get("topicId") or "").strip()
        if not topic or not _TOPIC_ID.match(topic):
            return SourceItem(where, rejection=Rejection(where, "missing or malformed topic id", "topicId"))
        title = repair(row.get("title"))
        if not title:
            return SourceItem(where, rejection=Rejection(f"{where} ({topic})", "topic without a title", "title"))
        try:
            deadline = _date(row.get("deadline"))
        except ValueError:
            return SourceItem(where, rejection=Rejection(f"{where} ({topic})",
                                                         f"deadline '{row.get('deadline')}' is not a date",
                                                         "deadline"))
        try:
            budget_min, budget_max = _amount(row.get("budgetMin")), _amount(row.get("budgetMax"))
        except (TypeError, ValueError):
            return SourceItem(where, rejection=Rejection(f"{where} ({topic})", "budget is not a number",
                                                         "budgetMax"))
        raw_description = str(row.get("description") or "")
        fixed_description = repair(raw_description)
        description = tidy_description(fixed_description)
        # the conditions are long: find the eligibility sections first, repair only those
        eligibility, groups = eligible_countries(str(row.get("topicConditions") or ""))
        eligibility = repair(eligibility) if eligibility else None
        repaired = title != " ".join(str(row.get("title")).split()) or \
            fixed_description != re.sub(r"[ \t]+", " ", raw_description).strip()
        keywords = list(dict.fromkeys(k for k in (repair(x) for x in str(row.get("keywords") or "").split(","))
                                      if k and not _ID_LIKE.match(k)))  # topic and call ids repeat there
        programme = repair(row.get("programme"))
        if not programme.startswith("EU External Action") and "EU" not in groups:
            groups = ["EU", *groups]  # EU programmes fund applicants from Member States unless they say otherwise
        status = str(row.get("callStatus") or "").strip().lower() or None
        attrs = {k: v for k, v in {
            "topic_id": topic, "programme": programme or None, "call_identifier": row.get("callIdentifier") or None,
            "call_title": repair(row.get("callTitle")) or None, "cluster": row.get("cluster") or None,
            "action_type": row.get("actionType") or None, "types_of_action": repair(row.get("typesOfAction")) or None,
            "status": status, "budget_min": budget_min, "budget_max": budget_max,
            "expected_grants": row.get("expectedGrants"), "deadline_model": row.get("deadlineModel") or None,
            "cross_cutting_priorities": repair(row.get("crossCuttingPriorities")) or None,
            "eligible_groups": groups or None,
            "text_repaired": repaired or None,
        }.items() if v not in (None, "", [])}
        url = str(row.get("portalUrl") or "").strip() or None
        try:
            opp = Opportunity(
                name=title, description=description or None, opp_type=OpportunityType.funding_call,
                deadline=deadline, url=url, funder=f"European Commission ({programme})" if programme else
                "European Commission", amount=budget_max, currency="EUR" if budget_max is not None else None,
                eligibility=eligibility, external_ids={"eu_topic": topic}, tags=keywords[:20], attributes=attrs,
                languages=["en"],
                provenance=[Provenance(source=SOURCE, record_id=topic, licence=LICENCE, url=url)],
            )
        except ValueError as exc:
            return rejected(f"{where} ({topic})", exc)
        return SourceItem(where, record=opp)


def _score(target: str) -> float:
    head = head_text(target) if Path(target).is_file() else ""
    return 3.0 if '"topicId"' in head and ('"callIdentifier"' in head or '"deadline"' in head) else 0.0


registry.register("eu-calls", EuCallsSource, _score)

__all__ = ["EuCallsSource", "eligible_countries", "repair", "tidy_description"]

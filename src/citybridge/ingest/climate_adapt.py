"""Climate-ADAPT's adaptation funding programmes (EU Mission on Adaptation) -> opportunities.

The portal's funding table is a spreadsheet exported as CSV: two rows of question groups ("Who is eligible to
receive funding?", "Which sectors can receive funding?" ...) sit above the header row (row 3 in today's
export), the answers under a group are YES/NO columns, free-text cells run over several lines, and ``0``
stands for an empty answer. The source finds the header row by its columns (not by its number), reads each
group's YES columns as lists, and keys every programme by its worksheet name (``climate_adapt``), so a newer
export updates the same records. Countries are resolved to ISO codes ("EU-27" to the 27 Member States).
Data: Climate-ADAPT, European Environment Agency (EEA re-use policy: re-use with acknowledgement).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from citybridge.errors import Invalid
from citybridge.ingest.base import Rejection, SourceItem, existing_file, registry, rejected
from citybridge.ingest.jsonstream import head_text, open_binary
from citybridge.ingest.tabular import detect_encoding
from citybridge.model.entities import Opportunity, OpportunityType, Provenance

SOURCE = "climate-adapt"
LICENCE = "EEA re-use policy (acknowledgement)"
NAME = "Name of the funding programme"
HEADER_SEARCH_ROWS = 10
EU27 = ("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
        "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE")
#: question groups whose YES/NO columns become lists, by the start of the group's text
GROUPS = {"for which step of the ast": "adaptation_steps", "who is eligible": "eligible_applicants",
          "which sectors": "sectors", "which type of funding": "instruments",
          "what is the expected budget range": "budget_ranges"}
#: single columns, by the start of their header (case-insensitive)
COLUMNS = {
    "worksheet": "sheet", "provide a link to general information": "url",
    "for which country": "countries", "…if multiple countries": "countries_more",
    "for which regions": "regions", "…if for selected regions": "regions_more",
    "how high is the funding rate": "funding_rate", "are overhead costs covered": "overheads",
    "can the received funding be combined": "blending", "is a consortium required": "consortium",
    "if yes, please provide short info": "consortium_conditions", "estimate how much effort": "effort",
    "should the application be submited": "language", "summarise the objective": "objective",
    "list programme priority areas": "priorities", "which authority administers": "authority",
    "title of each available sub-programme": "subprogrammes",
    "short description of the aim of the sub-programme": "subprogramme_aims",
    "please provide a link to the publication page": "calls_url", "please provide contact information": "contact",
}


def _blank(value: str | None) -> str:
    v = (value or "").strip()
    return "" if v in ("0", "-", "n/a", "N/A", "NOT SPECIFIED") else v


def _euros(text: str) -> float | None:
    m = re.search(r"(\d[\d.,]*)\s*(M|k)?", text.replace(" ", ""))
    if not m:
        return None
    value = float(m.group(1).replace(".", "").replace(",", "."))
    return value * {"M": 1e6, "k": 1e3}.get(m.group(2) or "", 1.0)


def budget_bounds(ranges: list[str]) -> tuple[float | None, float | None]:
    """(lowest, highest) proposal budget over the ticked ranges ("< 50.000 €", "1M € - 10M €", "> 10M €");
    the highest is None when a range is open-ended."""
    lows, highs, open_ended = [], [], False
    for r in ranges:
        parts = re.split(r"\s-\s", r)
        if r.strip().startswith("<"):
            lows.append(0.0)
            highs.append(_euros(r) or 0.0)
        elif r.strip().startswith(">"):
            lows.append(_euros(r) or 0.0)
            open_ended = True
        elif len(parts) == 2:
            lows.append(_euros(parts[0]) or 0.0)
            highs.append(_euros(parts[1]) or 0.0)
    return (min(lows) if lows else None), (None if open_ended or not highs else max(highs))


def countries_of(*cells: str) -> tuple[list[str], list[str]]:
    """(ISO codes, names that are no country) of country cells such as "EU-27, Norway, Iceland"."""
    from citybridge.enrich.gazetteer import load_gazetteer

    gaz = load_gazetteer()
    codes: list[str] = []
    unknown: list[str] = []
    names = [n.strip(" .") for cell in cells for n in re.split(r"[,;\n]", cell)]
    for name in names:
        if not name or name == "0":
            continue
        # "Bosnia and Herzegovina" is one country, "Iceland and Norway" two
        for part in [name] if gaz.resolve_country(name) else [p.strip(" .") for p in re.split(r"\band\b", name)]:
            if re.fullmatch(r"(EU|EU-?27|EU Member States|all EU Member States)", part, re.I):
                codes += EU27
            elif part.upper() == "EEA":
                codes += (*EU27, "IS", "LI", "NO")
            elif (code := gaz.resolve_country(part)) is not None:
                codes.append(code)
            elif part:
                unknown.append(part)
    return list(dict.fromkeys(codes)), unknown


class ClimateAdaptFundingSource:
    """The Climate-ADAPT funding-programmes spreadsheet export (CSV)."""

    def __init__(self, path: str | Path) -> None:
        self.path = existing_file(path, "Climate-ADAPT funding file")
        self.name = self.path.name

    def _rows(self) -> Iterator[tuple[int, list[str]]]:
        with open_binary(self.path) as fh:
            raw = fh.read()
        text = raw.decode(detect_encoding(raw[:256 * 1024]), errors="replace")
        reader = csv.reader(io.StringIO(text, newline=""))
        for row in reader:
            yield reader.line_num, row

    def _layout(self, head: list[list[str]]) -> tuple[int, dict[int, str], dict[int, tuple[str, str]]]:
        """(header row index, column -> field, column -> (list field, option)) from the rows above the data."""
        i = next((i for i, row in enumerate(head) if any(c.strip().lower() == NAME.lower() for c in row)), None)
        if i is None:
            raise Invalid(f"no header row with a '{NAME}' column in the first {HEADER_SEARCH_ROWS} rows: not a "
                          "Climate-ADAPT funding export", where=str(self.path))
        header = [" ".join(c.split()) for c in head[i]]
        groups = head[i - 1] if i > 0 else [""] * len(header)
        single: dict[int, str] = {}
        options: dict[int, tuple[str, str]] = {}
        current: str | None = None
        for col, label in enumerate(header):
            low = label.lower()
            group_cell = groups[col].strip().lower() if col < len(groups) else ""
            if group_cell:
                current = next((f for start, f in GROUPS.items() if group_cell.startswith(start)), None)
            elif label.endswith(("?", ":")) or label.startswith("…") or not label:
                current = None  # a question of its own ends the options of the group before it
            if low == NAME.lower():
                single[col] = "name"
            elif current is not None and label:
                options[col] = (current, label)
            else:
                field = next((f for start, f in COLUMNS.items() if low.startswith(start)), None)
                if field is not None and field not in single.values():
                    single[col] = field
        return i, single, options

    def items(self) -> Iterator[SourceItem]:
        rows = self._rows()
        head = []
        for _line, row in rows:
            head.append(row)
            if len(head) >= HEADER_SEARCH_ROWS or any(c.strip().lower() == NAME.lower() for c in row):
                break
        _i, single, options = self._layout(head)
        for line, row in rows:
            where = f"{self.name}:{line}"
            if not any(c.strip() for c in row):
                continue
            values = {f: _blank(row[c]) if c < len(row) else "" for c, f in single.items()}
            lists: dict[str, list[str]] = {}
            for c, (f, option) in options.items():
                if c < len(row) and row[c].strip().upper() in ("YES", "X", "TRUE", "1"):
                    lists.setdefault(f, []).append(option.strip())
            yield self._item(where, values, lists)

    def _item(self, where: str, v: dict[str, str], lists: dict[str, list[str]]) -> SourceItem:
        name = " ".join(v.get("name", "").split())
        sheet = " ".join(v.get("sheet", "").split()) or name
        if not name:
            return SourceItem(where, rejection=Rejection(where, "programme without a name", NAME))
        countries, unknown = countries_of(v.get("countries", ""), v.get("countries_more", ""))
        low, high = budget_bounds(lists.get("budget_ranges", []))
        applicants = lists.get("eligible_applicants", [])
        text = [v.get("objective", "")]
        if v.get("priorities"):
            text.append(f"Priority areas: {v['priorities']}")
        if v.get("subprogrammes"):
            text.append(f"Sub-programmes: {v['subprogrammes']}" + (f" ({v['subprogramme_aims']})"
                                                                 if v.get("subprogramme_aims") else ""))
        if lists.get("sectors"):
            text.append("Sectors: " + ", ".join(lists["sectors"]) + ".")
        eligibility = "; ".join(x for x in (
            ("Eligible applicants: " + ", ".join(applicants)) if applicants else "",
            f"Countries: {v['countries']}" if v.get("countries") else "",
            f"Regions: {v.get('regions_more') or v.get('regions')}" if v.get("regions") else "",
            f"Consortium: {v['consortium']}" + (f" ({v['consortium_conditions']})"
                                                if v.get("consortium_conditions") else "")
            if v.get("consortium") else "") if x)
        attrs: dict[str, Any] = {k: val for k, val in {
            "sheet": sheet, "countries": countries or None, "countries_unresolved": unknown or None,
            "regions": v.get("regions_more") or v.get("regions") or None,
            "eligible_applicants": applicants or None, "sectors": lists.get("sectors"),
            "adaptation_steps": lists.get("adaptation_steps"), "instruments": lists.get("instruments"),
            "budget_ranges": lists.get("budget_ranges"), "budget_min": low, "budget_max": high,
            "funding_rate": v.get("funding_rate") or None, "effort": v.get("effort") or None,
            "application_language": v.get("language") or None, "calls_url": v.get("calls_url") or None,
            "contact": v.get("contact") or None, "status": "ongoing programme"}.items() if val not in (None, [], "")}
        url = v.get("url") if v.get("url", "").startswith("http") else None
        try:
            opp = Opportunity(
                name=name, description="\n\n".join(t for t in text if t) or None,
                opp_type=OpportunityType.funding_programme, url=url,
                funder=" ".join(v.get("authority", "").split())[:300] or None, amount=high,
                currency="EUR" if high is not None else None, eligibility=eligibility or None,
                country=countries[0] if len(countries) == 1 else None, external_ids={"climate_adapt": sheet},
                tags=lists.get("sectors", []), languages=["en"], attributes=attrs,
                provenance=[Provenance(source=SOURCE, record_id=sheet, licence=LICENCE, url=url)],
            )
        except ValueError as exc:
            return rejected(where, exc)
        return SourceItem(where, record=opp)


def _score(target: str) -> float:
    p = Path(target)
    if not p.is_file() or not p.name.lower().endswith((".csv", ".csv.gz")):
        return 0.0
    head = head_text(p, 16384).lower()
    return 3.0 if NAME.lower() in head and "who is eligible to receive funding" in head else 0.0


registry.register("climate-adapt-funding", ClimateAdaptFundingSource, _score)

__all__ = ["ClimateAdaptFundingSource", "budget_bounds", "countries_of"]

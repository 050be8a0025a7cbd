"""Presentation helpers for the templates: evidence highlighting, number formatting, facts per kind."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

#: the facts shown on each kind's page, in order (the field name is also the message key ``field.<name>``)
FACTS: dict[str, tuple[str, ...]] = {
    "organization": ("subtype", "acronym", "city", "region", "country", "address", "website", "established",
                     "status", "coordinates"),
    "person": ("given_name", "family_name", "country", "homepage"),
    "project": ("subtype", "acronym", "start_date", "end_date", "programme", "funding", "total_cost", "status",
                "country", "url"),
    "document": ("subtype", "published", "year", "authors", "venue", "publisher", "pages", "url"),
    "opportunity": ("subtype", "opens", "deadline", "funder", "amount", "eligibility", "country", "url"),
    "place": ("subtype", "admin1", "country", "population", "un_region", "capital", "coordinates"),
    "theme": ("scheme", "code"),
}
LINK_FIELDS = {"website", "url", "homepage"}


def facts(record: Any) -> list[tuple[str, Any, bool]]:
    """(field, display value, is a link) for the facts of a record's kind that have a value."""
    out = []
    for name in FACTS.get(record.kind.value, ()):
        if name == "subtype":
            value: Any = (record.subtype or "").replace("_", " ")
        elif name == "coordinates":
            lat, lon = getattr(record, "lat", None), getattr(record, "lon", None)
            value = f"{lat:.4f}, {lon:.4f}" if lat is not None and lon is not None else None
        else:
            value = getattr(record, name, None)
            if isinstance(value, list):
                value = ", ".join(str(v) for v in value)
            elif isinstance(value, float):
                value = f"{value:,.0f}"
            elif isinstance(value, int) and name == "population":
                value = f"{value:,}"
        if value not in (None, ""):
            is_link = name in LINK_FIELDS and str(value).startswith(("http://", "https://"))
            out.append((name, value, is_link))
    return out


def highlight(text: str, spans: list[tuple[int, int, str]], limit: int = 4000) -> Markup:
    """``text`` (cut at ``limit`` characters) with each ``(start, end, label)`` span in a ``<mark>``; spans that
    overlap an earlier one are skipped, so the markup always nests."""
    text = text[:limit]
    out: list[str] = []
    pos = 0
    for start, end, label in sorted(spans, key=lambda s: (s[0], -s[1])):
        if start < pos or start >= end or end > len(text):
            continue
        out.append(str(escape(text[pos:start])))
        out.append(f'<mark title="{escape(label)}">{escape(text[start:end])}</mark>')
        pos = end
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def snippet_html(snip: dict[str, Any] | None) -> Markup:
    """A search result's best passage, escaped, with its highlight offsets (relative to the passage) in
    ``<mark>``, and an ellipsis where the passage is cut out of a longer text. Data is never rendered as HTML."""
    if not snip or not snip.get("text"):
        return Markup("")
    text: str = snip["text"]
    out: list[str] = ["… "] if snip.get("start") else []
    pos = 0
    for start, end in sorted((int(s), int(e)) for s, e in snip.get("highlights") or ()):
        if start < pos or start >= end or end > len(text):
            continue
        out += [str(escape(text[pos:start])), f"<mark>{escape(text[start:end])}</mark>"]
        pos = end
    out.append(str(escape(text[pos:])))
    if not text.rstrip().endswith((".", "!", "?", "…")):
        out.append(" …")
    return Markup("".join(out))


def evidence_spans(annotations: list[dict[str, Any]], field: str) -> list[tuple[int, int, str]]:
    spans = []
    for ann in annotations:
        for ev in ann.get("evidence", []):
            if ev.get("field") == field and isinstance(ev.get("start"), int) and isinstance(ev.get("end"), int):
                spans.append((ev["start"], ev["end"], ann.get("name") or ann["label"]))
    return spans


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


def bar_width(n: int, top: int) -> int:
    """Percentage width of a bar in a bar list (at least 1% for a non-zero count)."""
    if top <= 0 or n <= 0:
        return 0
    return max(1, round(100 * n / top))

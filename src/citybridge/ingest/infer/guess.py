"""Guess which field each column fills, from its header and from its values, and say why.

Every (column, field) pair gets a score: how well the header names the field (1.0 the usual name,
0.8 a header that starts with it, 0.6 one that contains it), times how well the column's values fit the
field (dates for a date, ISO codes or country names for a country, URLs for a web address ...).
Pairs are taken best first, one field per column and one column per field; columns left over whose
values look like identifiers (ORCID, ROR, DOI, Wikidata, GeoNames, ISNI, GRID, PIC), URLs, e-mails,
countries or dates fill the matching free field; everything else is kept in ``attributes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from citybridge.errors import Invalid
from citybridge.ingest import values as V
from citybridge.ingest.infer.fit import Fit, field_types, value_fit
from citybridge.ingest.infer.synonyms import CONTAINS, FIELDS, KIND_EXCLUDE, KIND_FIELDS, WEB, normalize
from citybridge.ingest.mapping import Mapping, is_default_column, normalize_kind
from citybridge.model.entities import EXTERNAL_ID_SCHEMES, Kind, model_for

ACCEPT = 0.45  # lowest score that maps a column
KINDS = ("organization", "person", "project", "document", "opportunity", "place")
WEB_FIELD = {"organization": "website", "person": "homepage", "project": "url", "document": "url",
             "opportunity": "url"}
#: fields that tell one kind from the others, for guessing the kind of a file from its columns
DISTINCTIVE: dict[str, frozenset[str]] = {
    "organization": frozenset({"org_type", "website", "address", "city", "region", "established", "aliases",
                               "external_ids.ror", "external_ids.grid", "external_ids.pic"}),
    "person": frozenset({"given_name", "family_name", "email", "homepage", "external_ids.orcid"}),
    "project": frozenset({"start_date", "end_date", "total_cost", "funding", "programme", "project_type",
                          "external_ids.cordis"}),
    "document": frozenset({"body", "published", "year", "authors", "venue", "publisher", "pages", "doc_type",
                           "external_ids.doi"}),
    "opportunity": frozenset({"opens", "deadline", "funder", "amount", "eligibility", "opp_type"}),
    "place": frozenset({"admin1", "population", "un_region", "capital", "ascii_name", "place_type",
                        "external_ids.geonames"}),
}


@dataclass
class ColumnGuess:
    """What one column fills, and why."""

    column: str
    target: str | None  # a field, ``external_ids.<scheme>``, ``attributes.<name>``; None when ignored
    how: str  # "column name" | "header" | "values" | "kept" | "ignored"
    reason: str
    parse: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    score: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        out = {"column": self.column, "target": self.target, "how": self.how, "reason": self.reason,
               "samples": self.samples}
        if self.parse:
            out["parse"] = self.parse
        if self.values:
            out["values"] = self.values
        return out


@dataclass
class Inference:
    """An inferred mapping: the kind, one guess per column, and notes for the user."""

    kind: str | None
    kind_reason: str | None
    columns: list[ColumnGuess]
    notes: list[str] = field(default_factory=list)
    kind_source: str | None = None  # "given" | "column" (a kind column) | "name" (file, sheet) | "columns"

    def mapping(self, *, complete: bool = False) -> Mapping | None:
        """The :class:`Mapping` to import with; None when every column already has its default meaning.

        ``complete`` lists every column, as a mapping file written for the user to edit should.
        """
        columns: dict[str, str] = {}
        parse: dict[str, str] = {}
        values: dict[str, dict[str, str]] = {}
        for g in self.columns:
            target = g.target or "-"
            if complete or target != g.column and not (target == f"attributes.{g.column}"
                                                        and not is_default_column(g.column, self.kind)):
                columns[g.column] = target
            if g.target and g.parse:
                parse[g.target] = g.parse
            if g.target and g.values:
                values[g.target] = dict(g.values)
        if not (complete or columns or parse or values):
            return None
        return Mapping(kind=self.kind, columns=columns, values=values, parse=parse)

    def inferred(self) -> list[ColumnGuess]:
        """The guesses a user should hear about: renamed, parsed, value-mapped or ignored columns."""
        return [g for g in self.columns if g.how in ("header", "values", "ignored") or g.parse or g.values]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "kind_reason": self.kind_reason, "kind_source": self.kind_source,
                "columns": [g.to_dict() for g in self.columns], "notes": self.notes}


# ------------------------------------------------------------------------------------------ header scores
def _phrases(target: str, kind: str | None) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    key = target
    if kind and WEB_FIELD.get(kind) == target:
        key = WEB
    elif kind and target == _subtype_field(kind):
        key = "subtype"
    exact = [normalize(p) for p in FIELDS.get(key, ())]
    exact += [normalize(p) for p in KIND_FIELDS.get(kind or "", {}).get(target, ())]
    excluded = {normalize(p) for p in KIND_EXCLUDE.get(kind or "", {}).get(target, ())}
    exact = [p for p in exact if p not in excluded]
    exact.append(normalize(target))
    contains = [normalize(p) for p in CONTAINS.get(key, ()) if normalize(p) not in excluded]
    return exact, contains


def _subtype_field(kind: str | None) -> str | None:
    return model_for(kind).subtype_field if kind and kind in {k.value for k in Kind} else None


def header_score(header: str, target: str, kind: str | None) -> float:
    """How well ``header`` names ``target`` for ``kind``: 1.0 a usual name, 0.8 a header starting with one,
    0.6 a header containing one (for the phrases allowed inside longer headers), else 0."""
    words = normalize(header)
    if not words:
        return 0.0
    exact, contains = _phrases(target, kind)
    if words in exact:
        return 1.0
    if len(words) <= 14 and any(len(p) < len(words) and words[:len(p)] == p and len(p[0]) > 2 for p in exact):
        return 0.8
    if len(words) <= 24 and any(_inside(p, words) for p in contains):
        return 0.6
    return 0.0


def _inside(phrase: tuple[str, ...], words: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(words[i:i + n] == phrase for i in range(len(words) - n + 1))


# ------------------------------------------------------------------------------------------ inference
def infer_mapping(columns: Sequence[str], rows: Sequence[dict[str, Any]], *, kind: str | None = None,
                  kind_hint: str | None = None) -> Inference:
    """Infer the mapping of a table from its column names and a sample of its rows.

    Args:
        columns: the column names, in order (unnamed columns already left out by the reader).
        rows: a sample of rows (say the first 500), keyed by column name.
        kind: the kind the user chose (``--kind``); wins over everything.
        kind_hint: a weaker hint, e.g. from the file name (``projects.csv``).

    >>> inf = infer_mapping(["title", "objective", "startDate"],
    ...                     [{"title": "Cool Cities", "objective": "Shade for schools and streets of Lisbon",
    ...                       "startDate": "2020-01-01"}], kind="project")
    >>> [(g.column, g.target) for g in inf.columns]
    [('title', 'name'), ('objective', 'description'), ('startDate', 'start_date')]
    """
    notes: list[str] = []
    samples = {c: V.text_values((r.get(c) for r in rows), limit=len(rows) or 1) for c in columns}
    filled = {c: (len(samples[c]) / len(rows) if rows else 0.0) for c in columns}
    kind_reason: str | None = None
    source: str | None = None
    if "kind" in columns and kind is None:
        named = {normalize_kind(v) for v in samples["kind"]}
        if len(named) == 1 and None not in named:
            kind, kind_reason, source = named.pop(), "from the file's 'kind' column", "column"
    if kind == "relation" or ("kind" in columns and source is None):
        reason = ("relations keep their column names" if kind == "relation"
                  else "the rows are of several kinds (the 'kind' column)")
        return Inference(kind, reason, [_kept(c, samples[c], default=True) for c in columns], notes,
                         "given" if kind else None)
    if source is None and kind is not None:
        kind_reason, source = "given", "given"
    elif source is None and kind_hint is not None:
        kind, kind_reason, source = kind_hint, "from the file or sheet name", "name"
    elif source is None:
        kind, kind_reason = _guess_kind(columns, samples, filled)
        source = "columns" if kind else None
    if kind is None:
        notes.append("the kind of the rows is not known: pass --kind (organization, person, project, document, "
                     "opportunity, place)")
        return Inference(None, None, [_kept(c, samples[c], default=True) for c in columns], notes)
    guesses = _assign(columns, samples, filled, kind)
    notes += _identity_notes(columns, guesses, samples)
    return Inference(kind, kind_reason, [guesses[c] for c in columns], notes, source)


def choose(inference: Inference, rows: Sequence[dict[str, Any]], targets: dict[str, str | None]) -> Inference:
    """The inference with the user's choice of target for some columns (None or ``'-'`` ignores a column);
    a chosen column's parser and value map are fitted to its values again.

    Raises Invalid for a target that the kind does not have.
    """
    kind = inference.kind
    allowed = field_types(kind) if kind and kind in KINDS else {}
    columns: list[ColumnGuess] = []
    for g in inference.columns:
        if g.column not in targets or (targets[g.column] or "-") == (g.target or "-"):
            columns.append(g)
            continue
        target = targets[g.column] or "-"
        if target == "-":
            columns.append(ColumnGuess(g.column, None, "chosen", "ignored", samples=g.samples))
            continue
        if not (target in allowed or target.startswith("attributes.") or target == g.column
                and is_default_column(target, kind)):
            raise Invalid(f"'{target}' is not a field of a{'n' if (kind or 'x')[0] in 'aeiou' else ''} "
                          f"{kind or 'record of unknown kind'}", field=f"columns.{g.column}")
        values = V.text_values((r.get(g.column) for r in rows), limit=len(rows) or 1)
        filled = len(values) / len(rows) if rows else 0.0
        fit = value_fit(target, allowed[target], values, filled) if target in allowed else Fit(1.0)
        parse = fit.parse if fit.factor > 0 else None
        why = "chosen" + (f"; {fit.why}" if fit.why else "")
        columns.append(ColumnGuess(g.column, target, "chosen", why, parse=parse, values=fit.values if parse else {},
                                   samples=g.samples))
    return Inference(kind, inference.kind_reason, columns, list(inference.notes), inference.kind_source)


def field_choices(kind: str | None) -> list[str]:
    """The targets a column can be given for ``kind``: its fields, then the external id schemes."""
    if not kind or kind not in KINDS:
        return ["name", "description", "id"]
    return list(field_types(kind))


def _identity_notes(columns: Sequence[str], guesses: dict[str, ColumnGuess], samples: dict[str, list[str]]
                    ) -> list[str]:
    """Rows with no id are one record per name: say so when names repeat, and which column could tell
    the rows apart."""
    targets = {g.target: c for c, g in guesses.items() if g.target}
    name_col = targets.get("name")
    if name_col is None or "id" in targets or any(str(t).startswith("external_ids.") for t in targets):
        return []
    names = samples[name_col]
    repeated = len(names) - len(set(names))
    if not repeated:
        return []
    unique = next((c for c in columns if c != name_col and len(samples[c]) == len(names) > 1
                   and len(set(samples[c])) == len(samples[c]) and not all(V.is_number(v) for v in samples[c])
                   and sum(len(v) for v in samples[c]) / len(samples[c]) <= 120), None)
    hint = f"; '{unique}' has a different value on every row: map it to name (or to an id)" if unique else ""
    return [f"{repeated} rows repeat a name of '{name_col}' and no column gives an id, so rows with the "
            f"same name are one record (the later ones are reported as duplicates){hint}"]


def _kept(column: str, samples: list[str], *, default: bool = False) -> ColumnGuess:
    if default:
        return ColumnGuess(column, column, "column name", "citybridge column", samples=samples[:3])
    if is_default_column(column):  # a field of another kind, e.g. for a workbook's other sheets
        return ColumnGuess(column, column, "column name", "a field of other kinds: kept as is",
                           samples=samples[:3])
    return ColumnGuess(column, f"attributes.{column}", "kept", "no matching field: kept in attributes",
                       samples=samples[:3])


def _guess_kind(columns: Sequence[str], samples: dict[str, list[str]], filled: dict[str, float]
                ) -> tuple[str | None, str | None]:
    scored = []
    for k in KINDS:
        guesses = _assign(columns, samples, filled, k)
        hits = sorted({g.target for g in guesses.values() if g.target in DISTINCTIVE[k] and g.score >= 0.6})
        scored.append((len(hits), k, hits))
    scored.sort(reverse=True)
    (best, k, hits), runner_up = scored[0], scored[1][0]
    if best >= 2 and best > runner_up:
        return k, f"guessed from the columns for {', '.join(hits)}"
    return None, None


def _assign(columns: Sequence[str], samples: dict[str, list[str]], filled: dict[str, float], kind: str
            ) -> dict[str, ColumnGuess]:
    ftypes = field_types(kind)
    out: dict[str, ColumnGuess] = {}
    taken: set[str] = set()
    for c in columns:  # citybridge's own column names keep their meaning (values may still need a parser)
        if is_default_column(c, kind):
            out[c] = _own_column(c, kind, ftypes, samples[c], filled[c])
            if out[c].target:
                taken.add(str(out[c].target))
    candidates: list[tuple[float, int, int, str, str, Fit, float]] = []
    declined: dict[str, tuple[str, str, float]] = {}  # column -> (field its header names, why not, score)
    targets = [t for t in ftypes if t not in taken]
    for ci, c in enumerate(columns):
        if c in out:
            continue
        for ti, t in enumerate(targets):
            hs = header_score(c, t, kind)
            if hs <= 0:
                continue
            fit = value_fit(t, ftypes[t], samples[c], filled[c])
            score = hs * fit.factor + (0.01 if fit.parse is None else 0.0)
            if score < ACCEPT and fit.why and hs >= 0.6 and hs > declined.get(c, ("", "", 0.0))[2]:
                why = fit.why if fit.factor == 0 else f"only {fit.share:.0%} of its values read so"
                declined[c] = (t, why, hs)
            if score >= ACCEPT:
                candidates.append((score, -ci, -ti, c, t, fit, hs))
    candidates.sort(key=lambda x: (x[0], x[1], x[2]), reverse=True)
    for score, _ci, _ti, c, t, fit, hs in candidates:
        if c in out or t in taken:
            continue
        said = "usual name" if hs >= 1 else "header starts with a usual name" if hs >= 0.8 else "header mentions it"
        reason = said + (f"; {fit.why}" if fit.why else "")
        out[c] = ColumnGuess(c, t, "header", reason, parse=fit.parse,
                             values=fit.values, samples=samples[c][:3], score=score)
        taken.add(t)
    _by_values(columns, samples, ftypes, kind, out, taken)
    for c in columns:
        if c not in out:
            out[c] = _kept(c, samples[c])
            if c in declined:
                t, why, _hs = declined[c]
                out[c].reason = f"header names {t} but {why}: kept in attributes"
    return out


def _own_column(c: str, kind: str, ftypes: dict[str, str], samples: list[str], filled: float) -> ColumnGuess:
    """A column named like a citybridge field: kept, with a parser when its values need one; an ``id``
    holding ROR/ORCID/DOI/... identifiers fills that external id, and one that cannot be a record id (or
    a ``labels``/``attributes`` column of plain text) is kept in attributes."""
    subtype = _subtype_field(kind)
    if c == "id":
        scheme = next((s for s, p in V.IDENTIFIERS.items() if f"external_ids.{s}" in ftypes and s != "pic"
                       and samples and V.share(samples, lambda v, p=p: bool(p.match(v))) >= 0.9), None)
        if scheme:
            return ColumnGuess(c, f"external_ids.{scheme}", "values", f"ids are {scheme.upper()} ids",
                               samples=samples[:3], score=1.1)
        if value_fit("id", "text", samples, filled).factor == 0:
            return ColumnGuess(c, "attributes.id", "kept", "values are not usable record ids (letters, digits, "
                               "_ . : - only): kept in attributes", samples=samples[:3])
    if c in ("labels", "attributes", "external_ids", "provenance") and samples and not all(
            v.startswith(("{", "[")) for v in samples):
        return ColumnGuess(c, f"attributes.{c}", "kept", "plain text, not the JSON object this field holds: kept "
                           "in attributes", samples=samples[:3])
    target = subtype if c == "subtype" and subtype else (
        f"external_ids.{c.lower()}" if c.lower() in EXTERNAL_ID_SCHEMES and c not in ftypes else c)
    fit = value_fit(target, ftypes[target], samples, filled) if target in ftypes else Fit(1.0)
    parse = fit.parse if fit.factor > 0 else None
    return ColumnGuess(c, target, "column name", "citybridge column" + (f"; {fit.why}" if parse else ""),
                       parse=parse, values=fit.values if parse else {}, samples=samples[:3], score=1.1)


def _by_values(columns: Sequence[str], samples: dict[str, list[str]], ftypes: dict[str, str], kind: str,
               out: dict[str, ColumnGuess], taken: set[str]) -> None:
    """Columns whose header says nothing: identifiers, web addresses, e-mails, countries, dates."""
    free = [c for c in columns if c not in out and samples[c]]
    dates: list[tuple[str, Fit]] = []
    for c in free:
        vals = samples[c]
        for scheme, pattern in V.IDENTIFIERS.items():
            t = f"external_ids.{scheme}"
            ok = V.share(vals, lambda v, p=pattern: bool(p.match(v)))
            if ok < (0.95 if scheme == "pic" else 0.8):
                continue
            if t in ftypes and t not in taken:
                out[c] = ColumnGuess(c, t, "values", f"{ok:.0%} {scheme.upper()} ids", samples=vals[:3])
                taken.add(t)
            elif t not in ftypes:
                out[c] = ColumnGuess(c, f"attributes.{c}", "kept", f"{scheme.upper()} ids of other records (they do "
                                     f"not identify a {kind}): kept in attributes", samples=vals[:3])
            break
        if c in out:
            continue
        web = WEB_FIELD.get(kind)
        if web and web not in taken and V.share(vals, lambda v: bool(V.URL.match(v))) >= 0.8:
            out[c] = ColumnGuess(c, web, "values", "values are web addresses", samples=vals[:3])
            taken.add(web)
        elif "email" in ftypes and "email" not in taken and V.share(vals, lambda v: bool(V.EMAIL.match(v))) >= 0.8:
            out[c] = ColumnGuess(c, "email", "values", "values are e-mail addresses", samples=vals[:3])
            taken.add("email")
        elif ("country" in ftypes and "country" not in taken and len(set(vals)) > 1
              and V.share(vals, V.is_iso2) >= 0.95):
            out[c] = ColumnGuess(c, "country", "values", "values are ISO country codes", samples=vals[:3])
            taken.add("country")
        else:
            fit = value_fit("-", "date", vals, 1.0)
            if fit.factor == 1.0:
                dates.append((c, fit))
    free_dates = [t for t, ft in ftypes.items() if ft == "date" and t not in taken]
    if len(dates) == len(free_dates) == 1:
        (c, fit), t = dates[0], free_dates[0]
        out[c] = ColumnGuess(c, t, "values", f"the only date column; {fit.why}", parse=fit.parse,
                             samples=samples[c][:3])
        taken.add(t)
    elif len(dates) == 2 and {"start_date", "end_date"} <= set(free_dates) and _ordered(dates, samples):
        for (c, fit), t in zip(dates, ("start_date", "end_date"), strict=True):
            out[c] = ColumnGuess(c, t, "values", f"two date columns, the first never after the second; {fit.why}",
                                 parse=fit.parse, samples=samples[c][:3])
            taken.add(t)


def _ordered(dates: list[tuple[str, Fit]], samples: dict[str, list[str]]) -> bool:
    (a, fa), (b, fb) = dates
    pairs = list(zip(samples[a], samples[b], strict=False))
    first = [V.parse_value(fa.parse or "date:%Y-%m-%d", x) for x, _ in pairs]
    second = [V.parse_value(fb.parse or "date:%Y-%m-%d", y) for _, y in pairs]
    return bool(pairs) and all(x <= y for x, y in zip(first, second, strict=True))


__all__ = ["ColumnGuess", "Inference", "choose", "field_choices", "header_score", "infer_mapping", "value_fit"]

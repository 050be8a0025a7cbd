"""``citybridge link``, ``citybridge peers``, ``citybridge partners`` and ``citybridge fit``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from citybridge.cli.common import app, emit_json, open_hub, out, user_errors

TITLES = {"evidence": "Research and reports", "practice": "Practice: case studies, guidelines, policies",
          "experts": "Experts", "organisations": "Organisations", "peer_cities": "Peer cities",
          "opportunities": "Open calls and events", "projects": "Projects"}


def _components(comps: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in comps.items() if v)


def _item(i: int, name: str, score: float, ident: str, comps: dict[str, float], reasons: list[str]) -> None:
    out.print(f"{i:>3}. [bold]{escape(name[:90])}[/bold]  {score:.3f}  [dim]{ident}[/dim]", highlight=False)
    out.print(f"     [dim]{escape(_components(comps))}[/dim]", highlight=False)
    for r in reasons:
        out.print(f"     - {escape(r)}", highlight=False, soft_wrap=True)


@app.command("link")
@user_errors
def link_(
    text: Annotated[str | None, typer.Argument(help="the challenge, in any supported language")] = None,
    entity: Annotated[str | None, typer.Option("--entity", "-e", help="a city, organisation, project or call id")]
    = None,
    city: Annotated[str | None, typer.Option("--city", help="focus city: name or id")] = None,
    want: Annotated[str | None, typer.Option("--want", help="sections, comma-separated (default: all)")] = None,
    country: Annotated[list[str] | None, typer.Option("--country", help="ISO code filter")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="items per section")] = 5,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Matchmaking: evidence, practice, experts, organisations, peer cities, calls and projects for a
    challenge, each with the reasons behind it."""
    filters = {"country": country} if country else None
    with open_hub() as hub:
        result = hub.link(text, entity, place=city, filters=filters, want=want, limit=limit)
    if as_json:
        emit_json(result.to_dict())
        return
    ch = result.challenge
    labels = ", ".join(f"{lab['name']} ({', '.join(lab['passages'][:2])})" if lab["passages"] else lab["name"]
                       for lab in ch["labels"][:5])
    out.print(f"[bold]Challenge[/bold] ({ch.get('language') or '?'}): {escape(ch['text'][:200])}", highlight=False)
    if labels:
        out.print(f"  themes: {escape(labels)}", highlight=False, soft_wrap=True)
    if ch.get("keywords"):
        out.print(f"  keywords: {escape(', '.join(ch['keywords']))}", highlight=False)
    if ch.get("place"):
        out.print(f"  city: {escape(ch['place']['name'])} ({ch['place']['country']})", highlight=False)
    if ch.get("reverse"):
        out.print(f"  [italic]{ch['reverse']}[/italic]")
    for name, items in result.sections.items():
        out.print(f"\n[bold underline]{TITLES.get(name, name)}[/bold underline]")
        if not items:
            out.print("  [dim]nothing in the store matches with evidence to show[/dim]")
        for i, it in enumerate(items, 1):
            _item(i, it.name, it.score, it.id, it.components, it.reasons)
    out.print(f"\n[dim]{result.took_ms:.0f} ms[/dim]")


@app.command()
@user_errors
def peers(city: Annotated[str, typer.Argument(help="city id, simplemaps:<id>, or a local government id")],
          limit: Annotated[int, typer.Option("--limit", "-n")] = 10,
          as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Peer cities: the most similar cities, with every component and the reasons."""
    with open_hub() as hub:
        found = hub.peer_cities(city, limit=limit)
    if as_json:
        emit_json([p.__dict__ for p in found])
        return
    for i, p in enumerate(found, 1):
        _item(i, f"{p.name} ({p.country})", p.score, p.id, p.components, p.reasons)


@app.command()
@user_errors
def partners(text: Annotated[str | None, typer.Option("--text", help="call or project description")] = None,
             project: Annotated[str | None, typer.Option("--project", help="a stored project id")] = None,
             with_: Annotated[list[str] | None, typer.Option("--with", help="organisation already in")] = None,
             country: Annotated[list[str] | None, typer.Option("--country")] = None,
             limit: Annotated[int, typer.Option("--limit", "-n")] = 10,
             as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Consortium builder: organisations that would complete a consortium."""
    cons: dict[str, Any] = {"max_results": limit}
    if country:
        cons["countries"] = country
    with open_hub() as hub:
        found = hub.suggest_partners(text=text, project=project, current_partners=with_ or [], constraints=cons)
    if as_json:
        emit_json([s.__dict__ for s in found])
        return
    for i, s in enumerate(found, 1):
        _item(i, f"{s.name} ({s.org_type}, {s.country or '?'})", s.score, s.id, s.components, s.reasons)


@app.command("fit")
@user_errors
def fit_(entity_id: Annotated[str, typer.Argument(help="a person, organisation or city id")],
         text: Annotated[str, typer.Option("--text", help="the text to fit")],
         as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """How well one person or organisation fits a text (0..1), with the records that show it."""
    with open_hub() as hub:
        result = hub.fit(entity_id, text)
    if as_json:
        emit_json(result.to_dict())
        return
    _item(1, result.name, result.score, result.entity_id, result.components, result.reasons or [result.explanation])

"""``citybridge enrich`` and ``citybridge tag``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from citybridge.cli.common import app, emit_json, err, open_hub, out, progress_bar, user_errors
from citybridge.errors import Invalid


@app.command()
@user_errors
def enrich(
    step: Annotated[list[str] | None, typer.Option("--step", "-s", help="only these steps (repeatable)")] = None,
    workers: Annotated[int | None, typer.Option("--workers", "-w", help="processes (default: cores)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Enrich new and changed records: language, SDG/pathway tags, places, keywords, embeddings, profiles."""
    with open_hub() as hub:
        hub.init()
        pending = hub.pending_enrichment()
        total = max(pending.values(), default=0)
        with progress_bar("enriching", total or None) as tick:
            report = hub.enrich(step, workers=workers, progress=tick)
    if as_json:
        emit_json(report.to_dict())
        return
    done = ", ".join(f"{k} {v:,}" for k, v in report.steps.items())
    out.print(f"enriched ({done}); {report.annotations:,} annotations, {report.relations:,} relations, "
              f"{report.vectors:,} vectors, {report.profiles:,} profiles in {report.seconds:.1f}s", highlight=False)


@app.command()
@user_errors
def tag(
    texts: Annotated[list[str] | None, typer.Argument(help="texts to tag; none: one text per line on stdin")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="language of the texts (default: detected)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Tag texts with SDGs, pathways and user taxonomies, with scores and evidence; nothing is stored."""
    items = list(texts or [])
    if not items:
        if sys.stdin is None or sys.stdin.isatty():
            raise Invalid("give texts as arguments or one per line on stdin")
        items = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    with open_hub() as hub:
        labels = hub.tag(items, lang=lang)
    if as_json:
        emit_json([{"text": t, "labels": [{"scheme": lab.scheme, "code": lab.code, "score": round(lab.score, 4),
                                            "evidence": [{"text": e.text, "start": e.start, "end": e.end,
                                                          "kind": e.kind} for e in lab.evidence]}
                                           for lab in labs]}
                   for t, labs in zip(items, labels, strict=True)])
        return
    for text, labs in zip(items, labels, strict=True):
        out.print(f"[bold]{escape(text[:100])}[/bold]", highlight=False)
        if not labs:
            out.print("  (no label)")
        for lab in labs:
            ev = "; ".join(f"“{e.text}”" for e in lab.evidence[:4])
            out.print(f"  {lab.scheme}:{lab.code:<14} {lab.score:.2f}  {escape(ev)}", highlight=False, soft_wrap=True)
    err.print(f"{len(items)} text(s) tagged", highlight=False)

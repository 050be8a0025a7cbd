"""``citybridge import``: tables in, with an inferred mapping, a dry run, a saved mapping and strict mode.

Exit codes (documented in the README): 0 every row imported, 1 some rows rejected (or, with --strict, the
first bad row stopped the import and nothing was written), 2 the command itself failed (a missing file,
a bad mapping file, an unknown kind ...). The summary goes to stdout, rejections to stderr and --report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from citybridge.cli.common import app, emit_json, err, open_hub, out, print_report, progress_bar, user_errors
from citybridge.errors import Invalid

EXIT_OK, EXIT_REJECTED, EXIT_FAILED = 0, 1, 2
_CUT = 100  # characters of a text shown in a preview


@app.command("import")
@user_errors
def import_(
    files: Annotated[list[Path], typer.Argument(help="CSV, TSV, XLSX, JSON or JSONL files")],
    kind: Annotated[str | None, typer.Option("--kind", "-k", help="entity kind of every row, or 'relation'")] = None,
    mapping: Annotated[Path | None, typer.Option("--mapping", "-m", help="column mapping file (no inference)")]
    = None,
    delimiter: Annotated[str | None, typer.Option("--delimiter", help="CSV delimiter (default: detected)")] = None,
    encoding: Annotated[str | None, typer.Option("--encoding", help="file encoding (default: detected)")] = None,
    header_row: Annotated[int | None, typer.Option("--header-row", min=1,
                                                   help="row number of the header (default: found)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show the mapping, first records and problems; "
                                                            "write nothing")] = False,
    save_mapping: Annotated[Path | None, typer.Option("--save-mapping", help="write the mapping used (inferred "
                                                      "or given) to this .toml/.json/.yaml file")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="stop at the first bad row and write nothing")] = False,
    infer: Annotated[bool, typer.Option("--infer/--no-infer", help="infer the mapping when none is given")] = True,
    report_path: Annotated[Path | None, typer.Option("--report", help="write a JSON report here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report (or preview) as JSON")] = False,
) -> None:
    """Import records and relations; re-importing the same file changes nothing.

    Without --mapping the mapping is inferred from the headers (the usual names of each field across
    languages and portals) and the values (dates, countries, URLs, identifiers), and reported.
    Exit code 0: everything imported; 1: some rows rejected; 2: the command failed.
    """
    if save_mapping is not None and len(files) != 1:
        raise Invalid("--save-mapping takes exactly one file", field="save-mapping")
    options: dict[str, Any] = dict(kind=kind, mapping=mapping, delimiter=delimiter, encoding=encoding,
                                   header_row=header_row, infer=infer)
    if dry_run:
        _dry_run(files, options, save_mapping, as_json)
        return
    with open_hub() as hub:
        hub.init()
        if save_mapping is not None:
            _save(hub.plan_import(files[0], **options), save_mapping)
        row_log = report_path.with_suffix(".rows.jsonl").open("w", encoding="utf-8") if report_path else None
        try:
            with progress_bar("importing", None) as tick:
                report = hub.import_files(files, strict=strict, progress=tick, row_log=row_log, **options)
        finally:
            if row_log:
                row_log.close()
        if report_path:
            body = report.to_dict()
            body["rows_file"] = str(report_path.with_suffix(".rows.jsonl"))
            report_path.write_text(json.dumps(body, ensure_ascii=False, indent=1), encoding="utf-8")
        if not as_json:
            for summary in report.inferred:
                _print_inferred(summary)
        print_report(report, as_json)
        if report.stopped_at and not as_json:
            err.print(f"stopped at {escape(report.stopped_at)} (--strict): nothing was written", highlight=False)
        if report.rejected:
            raise typer.Exit(EXIT_REJECTED)


def _save(plan: Any, path: Path) -> None:
    header = (f"citybridge import mapping for {plan.source.name}\n"
              f"use: citybridge import FILE --mapping {path.name}\n"
              "columns: target field, external_ids.<scheme>, attributes.<name>, or \"-\" to drop")
    plan.saved_mapping().save(path, comments=plan.comments(), header=header)
    err.print(f"mapping written to {escape(str(path))}", highlight=False)


def _dry_run(files: list[Path], options: dict[str, Any], save_mapping: Path | None, as_json: bool) -> None:
    previews = []
    with open_hub(store=False) as hub:
        for f in files:
            previews.append(hub.preview_import(f, **options))
    if save_mapping is not None:
        _save(previews[0].plan, save_mapping)
    if as_json:
        emit_json({"files": [p.to_dict() for p in previews], "written": False})
    else:
        for p in previews:
            _print_preview(p)
    if any(p.rejected for p in previews):
        raise typer.Exit(EXIT_REJECTED)


def _print_inferred(summary: dict[str, Any]) -> None:
    parts = []
    for c in summary.get("columns", []):
        arrow = f"{c['column']} → {c['target'] or 'ignored'}"
        if c.get("parse"):
            arrow += f" ({c['parse']})"
        parts.append(arrow)
    kind = f"kind {summary['kind']}" if summary.get("kind") else "kind unknown"
    if parts:
        err.print(f"{escape(summary['source'])}: inferred {escape(kind)}; {escape(', '.join(parts))}",
                  highlight=False, soft_wrap=True)
    for note in summary.get("notes", []):
        err.print(f"{escape(summary['source'])}: {escape(note)}", highlight=False, soft_wrap=True)


def _print_preview(p: Any) -> None:
    info = p.plan.summary()
    how = [info.get("format", "").upper()]
    labels = (("encoding", "encoding {}"), ("delimiter", "delimiter {!r}"), ("header_row", "header on row {}"))
    for key, label in labels:
        if info.get(key) is not None:
            how.append(label.format(info[key]))
    out.print(f"[bold]{escape(info['source'])}[/bold]  ({escape(', '.join(how))})", highlight=False)
    inference = p.plan.inference
    if inference is not None:
        kind = inference.kind or "unknown: pass --kind"
        out.print(f"kind: {escape(kind)}" + (f" ({escape(inference.kind_reason)})" if inference.kind_reason else ""),
                  highlight=False)
        fields = [(g.target or "ignored") + (f" ({g.parse})" if g.parse else "") for g in inference.columns]
        width = min(40, max((len(g.column) for g in inference.columns), default=0))
        fwidth = min(40, max((len(f) for f in fields), default=0))
        for g, field in zip(inference.columns, fields, strict=True):
            out.print(f"  {escape(g.column[:width].ljust(width))} → {escape(field.ljust(fwidth))}  {escape(g.reason)}",
                      highlight=False, soft_wrap=True)
    elif p.plan.mapping is not None:
        out.print("mapping: as given (no inference)", highlight=False)
    for note in p.plan.notes:
        out.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)
    if p.records:
        out.print(f"first {len(p.records)} records:", highlight=False)
        for rec in p.records:
            shown = _short({k: v for k, v in rec.items() if k != "where"})
            out.print(f"  {escape(rec['where'])}  {escape(json.dumps(shown, ensure_ascii=False, default=str))}",
                      highlight=False, soft_wrap=True)
    for problem in p.problems:
        fld = f" [{problem['field']}]" if problem.get("field") else ""
        err.print(f"[yellow]rejected[/yellow] {escape(problem['where'])}:{escape(fld)} {escape(problem['reason'])}",
                  highlight=False, soft_wrap=True)
    if p.rejected > len(p.problems):
        err.print(f"... and {p.rejected - len(p.problems):,} more problems (see --json)", highlight=False)
    out.print(f"would import {p.ok:,} of {p.rows:,} rows; {p.rejected:,} rejected. Nothing was written.",
              highlight=False)


def _short(value: Any) -> Any:
    """A record for a preview line: long texts cut, also inside attributes."""
    if isinstance(value, str):
        return value[:_CUT] + "…" if len(value) > _CUT else value
    if isinstance(value, dict):
        return {k: _short(v) for k, v in value.items()}
    return value

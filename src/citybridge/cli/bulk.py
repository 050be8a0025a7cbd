"""``citybridge bulk``: partitioned inputs through parse, resolve, enrich on Dask, then load and index."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from citybridge.cli.common import app, emit_json, err, open_hub, out, user_errors


@app.command()
@user_errors
def bulk(
    sources: Annotated[list[Path], typer.Argument(help="OpenAlex snapshot folders or parts, CSV/JSONL shards, "
                                                  "folders of documents")],
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler address "
                                                  "(tcp://host:8786); default: a LocalCluster")] = None,
    workers: Annotated[int | None, typer.Option("--workers", "-w", help="LocalCluster worker processes "
                                                "(default 2)")] = None,
    work_dir: Annotated[Path | None, typer.Option("--work-dir", help="Parquet partitions and markers "
                                                  "(default: DATA_DIR/bulk)")] = None,
    step: Annotated[list[str] | None, typer.Option("--step", "-s", help="only these enrichment steps")] = None,
    no_index: Annotated[bool, typer.Option("--no-index", help="do not build the search index")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Bulk-load partitioned inputs on Dask (parse, resolve ids, enrich on workers; load, index here).

    Resumable: a rerun skips the partitions an interrupted run finished."""
    with open_hub() as hub:
        report = hub.bulk([str(s) for s in sources], scheduler=scheduler, workers=workers, work_dir=work_dir,
                          steps=step, index=not no_index, progress=not as_json)
    data = report.to_dict()
    if as_json:
        emit_json(data)
        return
    imp, sec = data["import"], data["seconds"]
    out.print(f"{data['partitions']:,} partitions ({data['computed']:,} computed on {data['workers']} workers at "
              f"{data['scheduler'] or 'no scheduler'}, {data['reused']:,} reused; {data['loaded']:,} loaded, "
              f"{data['already_loaded']:,} already loaded)", highlight=False)
    out.print(f"records: {imp['created']:,} created, {imp['updated']:,} updated, {imp['unchanged']:,} unchanged, "
              f"{imp['rejected']:,} rejected; {data['enrich']['annotations']:,} annotations, "
              f"{data['enrich']['vectors']:,} vectors in {sec.get('wall', 0):.1f}s", highlight=False)
    if data["left_for_enrich"]:
        err.print(f"{data['left_for_enrich']:,} records merged into stored ones with other text: run "
                  "`citybridge enrich` for them", highlight=False)
    if data["index"]:
        out.print(f"indexed {data['index']['documents']:,} records", highlight=False)

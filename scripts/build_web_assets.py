"""Vendor the web UI's third-party static files from npm packages (run by hand; the output is committed).

    python scripts/build_web_assets.py

* world-atlas 2.0.2 (ISC; data: Natural Earth, public domain): ``countries-110m.json``, the basemap the map
  page draws (decoded in ``citybridge/web/basemap.py``) -> ``src/citybridge/web/static/vendor/world-atlas/``
* d3 7.9.0 (ISC) and @observablehq/plot 0.6.17 (ISC): ``d3.min.js`` and ``plot.umd.min.js``, the chart library of
  the analytics pages (theme network, trend lines, gap heat-map; Plot draws SVG on top of d3) ->
  ``src/citybridge/web/static/vendor/d3/`` and ``.../vendor/plot/``
* axe-core 4.14.1 (MPL-2.0): ``axe.min.js``, injected by the accessibility test only -> ``tests/web/assets/``

Needs ``npm`` (it only runs ``npm pack``: no install scripts, no build). Swagger UI and ReDoc for the API
docs come from the PyPI package ``fastapi-offline``; the map and network scripts and the chart glue
(``static/js/charts.js``) are citybridge's own.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "world-atlas@2.0.2": [("package/countries-110m.json", "src/citybridge/web/static/vendor/world-atlas/"),
                          ("package/LICENSE", "src/citybridge/web/static/vendor/world-atlas/")],
    "d3@7.9.0": [("package/dist/d3.min.js", "src/citybridge/web/static/vendor/d3/"),
                 ("package/LICENSE", "src/citybridge/web/static/vendor/d3/")],
    # Plot's UMD build expects the global ``d3`` of the same minor version (it names d3@7.9.0)
    "@observablehq/plot@0.6.17": [("package/dist/plot.umd.min.js", "src/citybridge/web/static/vendor/plot/"),
                                  ("package/LICENSE", "src/citybridge/web/static/vendor/plot/")],
    "axe-core@4.14.1": [("package/axe.min.js", "tests/web/assets/"),
                        ("package/LICENSE", "tests/web/assets/axe-core-LICENSE")],
}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for spec, files in PACKAGES.items():
            out = subprocess.run(["npm", "pack", spec, "--silent", "--pack-destination", tmp], check=True,
                                 capture_output=True, text=True).stdout.strip().splitlines()[-1]
            with tarfile.open(Path(tmp) / out) as tar:
                tar.extractall(Path(tmp) / spec, filter="data")
            for member, dest in files:
                target = ROOT / dest
                if dest.endswith("/"):
                    target.mkdir(parents=True, exist_ok=True)
                    target = target / Path(member).name
                shutil.copyfile(Path(tmp) / spec / member, target)
                print(f"{spec}: {member} -> {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

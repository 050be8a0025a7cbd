"""Importing wordllama must not switch the program's logging to INFO (wordllama 0.4 calls basicConfig on import)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)


def test_plain_import_of_wordllama_changes_root_logging() -> None:
    # the side effect being guarded against (if a wordllama release drops it, this test says so)
    proc = _run("""
        import logging
        import wordllama
        root = logging.getLogger()
        print(root.level, len(root.handlers))
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["20", "1"]


def test_citybridge_loads_wordllama_without_touching_logging(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc = _run(f"""
        import logging
        from citybridge.enrich.embed import get_embedder
        from citybridge.enrich.sdg_knowledge import wordllama_model
        get_embedder("wordllama").embed(["urban heat"])
        wordllama_model()
        root = logging.getLogger()
        print(root.level, len(root.handlers))
        from citybridge.hub import Hub
        from citybridge.settings import Settings
        Hub(Settings(data_dir={str(tmp_path / "data")!r}, _env_file=None)).init()
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["30", "0"]
    assert "INFO" not in proc.stderr and "alembic" not in proc.stderr.lower()  # no migration log lines

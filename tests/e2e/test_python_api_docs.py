"""docs/python.md is true: every snippet runs, in order, and its assertions hold.

The snippets share one namespace (a notebook's), run from a scratch folder
that holds the repository's `scenarios/`, on the DuckDB version the project
installs.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "python.md"


def snippets() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_every_snippet_of_docs_python_md_runs(workdir: Path) -> None:
    (workdir / "scenarios").symlink_to(ROOT / "scenarios")
    blocks = snippets()
    assert len(blocks) >= 10
    namespace: dict[str, object] = {}
    for number, block in enumerate(blocks, start=1):
        code = compile(block, f"docs/python.md snippet {number}", "exec")
        exec(code, namespace)  # the documented code, as a user would run it
    assert (workdir / "runs" / "q1" / "run.json").is_file()

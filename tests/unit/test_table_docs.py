"""docs/tables.md documents every column of every DuckDB table, and is up to date.

It is generated from the declarations in projections/schema.py
(``python -m projections.tabledocs``, ``make tables-doc``): a new column
without a meaning, or a declaration changed without regenerating the page,
fails here.
"""

from __future__ import annotations

from pathlib import Path

from projections import schema, tabledocs

DOC = Path(__file__).resolve().parents[2] / "docs" / "tables.md"


def test_every_column_has_a_meaning() -> None:
    assert tabledocs.missing_meanings() == []


def test_docs_tables_md_is_what_the_declarations_generate() -> None:
    assert DOC.read_text(encoding="utf-8") == tabledocs.render(), (
        "docs/tables.md is out of date: run `make tables-doc`"
    )


def test_every_declared_table_and_column_is_in_the_page() -> None:
    text = DOC.read_text(encoding="utf-8")
    for table in schema.TABLES:
        section = text.split(f"\n## {table.name}\n", 1)[1].split("\n## ", 1)[0]
        documented = [line.split("`")[1] for line in section.splitlines() if line.startswith("| `")]
        assert documented == list(table.column_names), table.name

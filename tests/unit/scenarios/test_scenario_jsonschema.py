"""The committed JSON Schemas are generated from the models and kept up to date."""

from __future__ import annotations

import json

import pytest

from scenarios.jsonschema import SCHEMA_DIR, SCHEMAS, render


@pytest.mark.parametrize("filename", sorted(SCHEMAS))
def test_the_committed_json_schema_matches_the_models(filename: str) -> None:
    committed = (SCHEMA_DIR / filename).read_text(encoding="utf-8")

    assert committed == render(SCHEMAS[filename]), (
        f"scenarios/schema/{filename} is stale: run `python -m scenarios.jsonschema`"
    )


def test_the_scenario_schema_leaves_defaulted_instants_optional() -> None:
    schema = json.loads((SCHEMA_DIR / "scenario.v1.json").read_text(encoding="utf-8"))
    defs = schema["$defs"]

    assert "subscribed" not in defs["Workspace"]["required"]
    assert "opened" not in defs["Organization"]["required"]
    assert "from" not in defs["Expectation"]["required"]
    assert sorted(schema["required"]) == ["end", "name", "start", "version"]
    assert defs["UsageLine"]["additionalProperties"] is False

"""Write the JSON Schemas of the file formats: ``python -m scenarios.jsonschema``.

The schemas are generated from the pydantic models, never edited by hand;
editors use them to complete and check scenario files as users type. A test
fails when a committed schema is older than the models.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from scenarios.schema import Scenario, Workload

SCHEMA_DIR = Path(__file__).parent / "schema"
SCHEMAS: dict[str, type[BaseModel]] = {
    "scenario.v1.json": Scenario,
    "workload.v1.json": Workload,
}


def render(model: type[BaseModel]) -> str:
    """The schema text exactly as committed: sorted keys, two spaces, a final newline."""
    return json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n"


def write_all(folder: Path = SCHEMA_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, model in SCHEMAS.items():
        path = folder / filename
        path.write_text(render(model), encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    for path in write_all():
        sys.stdout.write(f"wrote {path}\n")


if __name__ == "__main__":
    main()

"""Golden runs: each example scenario stores exactly the events and monthly figures
pinned in tests/golden. A change shows as a unified diff; `make golden` accepts it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ledger.tools.testing import golden

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = golden.example_scenarios(ROOT / "scenarios" / "examples")
GOLDEN = Path(__file__).parent


def test_every_example_scenario_has_its_golden_files() -> None:
    assert EXAMPLES, "no example scenario found"
    expected = {f"{p.stem}.{kind}" for p in EXAMPLES for kind in ("events.txt", "monthly.csv")}
    found = {p.name for p in GOLDEN.iterdir() if p.suffix in {".txt", ".csv"}}
    assert found == expected


@pytest.mark.parametrize("scenario", EXAMPLES, ids=lambda p: p.stem)
def test_the_replay_matches_the_golden_files(scenario: Path, tmp_path: Path) -> None:
    diffs = list(golden.compare(scenario, GOLDEN, tmp_path))
    if diffs:
        pytest.fail(
            "the replay differs from the golden files (run `make golden` if the change is "
            "intended, and review the diff):\n" + "\n".join(diffs),
            pytrace=False,
        )


def test_the_events_file_names_no_ids_and_sorts_fields() -> None:
    lines = (GOLDEN / "solo-creator.events.txt").read_text(encoding="utf-8").splitlines()
    first = lines[0]
    assert first.startswith("creator 2027-01-15T10:00:00+00:00 v1 PlanSubscribed ")
    keys = [part.split("=", 1)[0] for part in first.split(" ")[4:] if "=" in part]
    assert keys == sorted(keys)
    text = "\n".join(lines)
    assert "originator_id" not in text
    assert all(f" v{n} " in line for n, line in enumerate(lines, start=1))


def test_a_changed_event_shows_as_a_unified_diff(tmp_path: Path) -> None:
    scenario = next(p for p in EXAMPLES if p.stem == "solo-creator")
    tampered = tmp_path / "golden"
    shutil.copytree(GOLDEN, tampered, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    events = tampered / "solo-creator.events.txt"
    text = events.read_text(encoding="utf-8")
    events.write_text(text.replace("credits=625", "credits=626", 1), encoding="utf-8")
    (tampered / "solo-creator.monthly.csv").unlink()
    diffs = list(golden.compare(scenario, tampered, tmp_path / "work"))
    assert len(diffs) == 2
    assert diffs[0].startswith(
        "--- solo-creator.events.txt (golden)\n+++ solo-creator.events.txt (this replay)\n"
    )
    assert "\n-creator 2027-01-15T10:00:00+00:00 v1 PlanSubscribed" in diffs[0]
    assert "credits=626" in diffs[0] and "credits=625" in diffs[0]
    assert "solo-creator.monthly.csv is missing (run `make golden`)" in diffs[1]


def test_regenerating_writes_what_check_then_accepts(tmp_path: Path) -> None:
    folder = tmp_path / "examples"
    folder.mkdir()
    shutil.copy(next(p for p in EXAMPLES if p.stem == "solo-creator"), folder)
    (folder / "a-workload.yaml").write_text("version: 1\nkind: workload\n", encoding="utf-8")
    out = tmp_path / "golden"
    assert golden.main([str(folder), str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "solo-creator.events.txt",
        "solo-creator.monthly.csv",
    ]
    assert (out / "solo-creator.events.txt").read_bytes() == (
        GOLDEN / "solo-creator.events.txt"
    ).read_bytes()
    assert golden.main([str(folder), str(out), "--check"]) == 0
    (out / "solo-creator.monthly.csv").write_text("month\n", encoding="utf-8")
    assert golden.main([str(folder), str(out), "--check"]) == 1

"""Reading YAML keeps the line of every value, and problems read as sentences."""

from __future__ import annotations

import pytest

from scenarios.errors import Problem, ScenarioError, Severity, format_path
from scenarios.source import read_yaml


def test_each_key_and_list_item_maps_to_its_line() -> None:
    source = read_yaml("a: 1\nitems:\n  - x: 1\n    y:\n      - 7\n", "f.yaml")

    assert source.map.lines[("a",)] == 1
    assert source.map.lines[("items", 0)] == 3
    assert source.map.lines[("items", 0, "y")] == 4
    assert source.map.lines[("items", 0, "y", 0)] == 5


def test_a_path_not_in_the_file_falls_back_to_its_nearest_parent() -> None:
    source = read_yaml("a: 1\nitems:\n  - x: 1\n", "f.yaml")

    assert source.map.line(("items", 0, "missing", 3)) == 3
    assert source.map.line(("nothing",)) == 1


def test_duplicate_keys_are_problems_and_the_last_value_is_kept() -> None:
    source = read_yaml("a: 1\nb:\n  c: 1\n  c: 2\n", "f.yaml")

    assert source.data == {"a": 1, "b": {"c": 2}}
    assert [(p.line, p.field) for p in source.problems] == [(4, "b.c")]


def test_overriding_a_merged_default_is_not_a_duplicate_key() -> None:
    source = read_yaml("base: &b {plan: pro, id: x}\nw:\n  <<: *b\n  plan: standard\n", "f.yaml")

    assert source.problems == []
    assert source.data["w"] == {"plan": "standard", "id": "x"}
    assert source.map.lines[("w", "plan")] == 4


def test_times_of_day_and_dates_stay_text_for_the_schema_to_read() -> None:
    source = read_yaml("time: 10:00\nstart: 2027-01-01\nn: 12\nr: 0.5\n", "f.yaml")

    assert source.data == {"time": "10:00", "start": "2027-01-01", "n": 12, "r": 0.5}


def test_a_second_yaml_document_is_a_syntax_problem() -> None:
    with pytest.raises(ScenarioError) as caught:
        read_yaml("a: 1\n---\nb: 2\n", "f.yaml")

    assert caught.value.problems[0].line == 2


def test_a_problem_reads_as_file_line_field_message_and_rule() -> None:
    problem = Problem(
        "scenarios/x.yaml",
        14,
        "workspaces[0].events[2].buy",
        "web credits are bought in at least 1,000",
        "W07",
    )

    assert str(problem) == (
        "scenarios/x.yaml, line 14, workspaces[0].events[2].buy: "
        "web credits are bought in at least 1,000 (rule W07)"
    )


def test_a_warning_says_so_and_a_file_level_problem_has_no_line_or_field() -> None:
    warning = Problem("x.yaml", 3, "a", "heads up", None, Severity.WARNING)

    assert str(warning) == "x.yaml, line 3, a: warning: heads up"
    assert str(Problem("x.yaml", None, "", "file not found")) == "x.yaml: file not found"


def test_a_scenario_error_lists_every_problem_one_per_line() -> None:
    error = ScenarioError([Problem("x.yaml", 1, "a", "one"), Problem("x.yaml", 2, "b", "two")])

    assert str(error) == "x.yaml, line 1, a: one\nx.yaml, line 2, b: two"


def test_a_data_path_formats_keys_with_dots_and_indices_in_brackets() -> None:
    assert format_path(("workspaces", 0, "events", 2, "buy")) == "workspaces[0].events[2].buy"
    assert (
        format_path(("overrides", "web.models.gen4.5.rate")) == "overrides.web.models.gen4.5.rate"
    )
    assert format_path(()) == ""

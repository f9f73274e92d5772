"""A malformed scenario is reported by file, line and field, with the rule it breaks.

Each test writes one mistake in the scenario language and checks the exact
line and field path a user would be sent to. HEADER takes lines 1-4, so the
first line of each snippet is line 5.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios.errors import Problem, ScenarioError, Severity
from scenarios.loader import load_scenario, load_scenario_text, load_workload_text

HEADER = """\
version: 1
name: test
start: 2027-01-01
end: 2028-01-01
"""


def problems_in(text: str) -> list[Problem]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text(text, filename="x.yaml")
    return caught.value.problems


def problem_in(text: str) -> Problem:
    problems = problems_in(text)
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def where(problem: Problem) -> tuple[int | None, str, str | None]:
    return problem.line, problem.field, problem.rule


# ---------------------------------------------------------------- the file itself


def test_a_yaml_syntax_error_is_reported_at_its_line() -> None:
    problem = problem_in(HEADER + "workspaces:\n  - {id: w, plan: pro\n")

    assert (problem.line, problem.field) == (7, "")
    assert "not valid YAML" in problem.message


def test_tab_indentation_is_named_as_such() -> None:
    problem = problem_in(HEADER + "workspaces:\n  - id: w\n\tplan: pro\n")

    assert problem.line == 7
    assert "tab character" in problem.message


def test_a_duplicate_key_is_reported_at_its_second_occurrence() -> None:
    problem = problem_in(HEADER + "workspaces:\n  - id: w\n    plan: pro\n    plan: standard\n")

    assert where(problem) == (8, "workspaces[0].plan", None)
    assert "line 7" in problem.message


def test_an_empty_file_is_a_problem_without_a_line() -> None:
    problem = problem_in("# nothing yet\n")

    assert (problem.line, problem.message) == (None, "the file is empty")


def test_a_top_level_list_is_not_a_scenario() -> None:
    assert "must be a mapping" in problem_in("- version: 1\n").message


def test_a_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path / "nowhere.yaml")

    assert str(caught.value) == f"{tmp_path / 'nowhere.yaml'}: file not found"


def test_a_workload_given_as_a_scenario_says_what_it_is() -> None:
    problem = problem_in("version: 1\nkind: workload\nname: w\n")

    assert (problem.line, problem.field) == (2, "kind")
    assert "compare" in problem.message


# ---------------------------------------------------------------- schema


def test_an_unknown_top_level_field_suggests_the_known_one() -> None:
    problem = problem_in(HEADER + "workspace: []\n")

    assert where(problem) == (5, "workspace", None)
    assert problem.message == "unknown field 'workspace' (did you mean 'workspaces'?)"


def test_a_wrong_version_says_which_version_is_read() -> None:
    problem = problem_in(HEADER.replace("version: 1", "version: 2"))

    assert where(problem) == (1, "version", None)
    assert problem.message == "version must be 1 (got 2)"


def test_a_missing_required_field_points_at_the_mapping_that_needs_it() -> None:
    problem = problem_in(HEADER + "workspaces:\n  - id: w\n    billing: annual\n")

    assert where(problem) == (6, "workspaces[0].plan", None)
    assert problem.message == "required field 'plan' is missing"


def test_an_unknown_plan_lists_the_plans() -> None:
    problem = problem_in(HEADER + "workspaces:\n  - id: w\n    plan: platinum\n")

    assert where(problem) == (7, "workspaces[0].plan", None)
    assert problem.message == (
        "plan must be one of free, standard, pro, unlimited, enterprise (got 'platinum')"
    )


def test_an_impossible_date_is_reported_on_its_field() -> None:
    problem = problem_in(
        HEADER + "workspaces:\n  - id: w\n    plan: pro\n    events:\n"
        "      - {at: 2027-02-30, buy: 1000}\n"
    )

    assert where(problem) == (9, "workspaces[0].events[0].at", None)
    assert "must be a date" in problem.message


def test_an_event_with_a_misspelt_action_suggests_the_action() -> None:
    problem = problem_in(
        HEADER + "workspaces:\n  - id: w\n    plan: pro\n    events:\n"
        "      - {at: 2027-02-10, buys: 1000}\n"
    )

    assert where(problem) == (9, "workspaces[0].events[0]", None)
    assert problem.message.endswith("found buys (did you mean 'buy'?)")


def test_an_organization_action_on_a_workspace_says_where_it_belongs() -> None:
    problem = problem_in(
        HEADER + "workspaces:\n  - id: w\n    plan: pro\n    events:\n"
        "      - {at: 2027-02-10, add_member: bob}\n"
    )

    assert problem.line == 9
    assert "add_member, which is an action of organizations" in problem.message


def test_an_error_inside_an_event_drops_pydantics_union_tag_from_the_path() -> None:
    problem = problem_in(
        HEADER + "organizations:\n  - id: o\n    events:\n"
        "      - {at: 2027-02-10, enable_autobill: {threshold: 10, amont: 2000}}\n"
    )

    assert where(problem) == (8, "organizations[0].events[0].enable_autobill.amont", None)
    assert problem.message == "unknown field 'amont' (did you mean 'amount'?)"


def test_two_schedules_on_one_usage_line_are_one_too_many() -> None:
    problem = problem_in(
        HEADER + "workspaces:\n  - id: w\n    plan: pro\n    usage:\n"
        "      - {at: 2027-02-15, every: day, model: gen4_turbo, seconds: 5}\n"
    )

    assert where(problem) == (9, "workspaces[0].usage[0]", None)
    assert "exactly one schedule" in problem.message and "at and every" in problem.message


def test_a_usage_line_without_a_schedule_is_reported() -> None:
    problem = problem_in(
        HEADER + "workspaces:\n  - id: w\n    plan: pro\n    usage:\n"
        "      - model: gen4_turbo\n        seconds: 5\n"
    )

    assert where(problem) == (9, "workspaces[0].usage[0]", None)
    assert "it has none" in problem.message


def test_a_failure_rate_above_one_is_reported() -> None:
    problem = problem_in(
        HEADER + "organizations:\n  - id: o\n    usage:\n"
        "      - every: day\n        model: gen4_turbo\n        seconds: 5\n"
        "        failure_rate: 1.5\n"
    )

    assert where(problem) == (11, "organizations[0].usage[0].failure_rate", None)
    assert problem.message == "failure_rate must be at most 1 (got 1.5)"


def test_a_count_of_zero_is_reported() -> None:
    problem = problem_in(
        HEADER + "organizations:\n  - id: o\n    usage:\n"
        "      - {every: day, model: gen4_turbo, seconds: 5, count: 0}\n"
    )

    assert where(problem) == (8, "organizations[0].usage[0].count", None)
    assert problem.message == "count must be at least 1 (got 0)"


# ---------------------------------------------------------------- window and schedules


def test_end_before_start_is_reported_on_end() -> None:
    problem = problem_in(HEADER.replace("end: 2028-01-01", "end: 2026-12-01"))

    assert where(problem) == (4, "end", None)
    assert problem.message == "end (2026-12-01) must be after start (2027-01-01)"


def test_an_event_outside_the_window_is_reported_on_its_at() -> None:
    problem = problem_in(
        HEADER + "workspaces:\n  - id: w\n    plan: pro\n    events:\n"
        "      - {at: 2028-02-01, buy: 1000}\n"
    )

    assert where(problem) == (9, "workspaces[0].events[0].at", None)
    assert "outside the scenario window" in problem.message


def test_an_event_before_the_workspace_is_subscribed_is_reported() -> None:
    problem = problem_in(
        HEADER + "workspaces:\n  - id: w\n    plan: pro\n    subscribed: 2027-03-01\n"
        "    events:\n      - {at: 2027-02-01, buy: 1000}\n"
    )

    assert where(problem) == (10, "workspaces[0].events[0].at", None)
    assert "before the account exists" in problem.message


def test_a_bad_rrule_is_reported_with_dateutils_reason() -> None:
    problem = problem_in(
        HEADER + "workspaces:\n  - id: w\n    plan: pro\n    usage:\n"
        "      - {rrule: 'FREQ=SOMETIMES', model: gen4_turbo, seconds: 5}\n"
    )

    assert where(problem) == (9, "workspaces[0].usage[0].rrule", None)
    assert "not a recurrence rule" in problem.message


def test_between_with_its_end_before_its_start_is_reported() -> None:
    problem = problem_in(
        HEADER + "workspaces:\n  - id: w\n    plan: pro\n    usage:\n"
        "      - every: day\n        between: ['17:00', '09:00']\n"
        "        model: gen4_turbo\n        seconds: 5\n"
    )

    assert where(problem) == (10, "workspaces[0].usage[0].between", None)
    assert problem.message == "the end of between (09:00) must be after its start (17:00)"


def test_a_time_of_day_with_a_one_off_line_is_reported() -> None:
    problem = problem_in(
        HEADER + "workspaces:\n  - id: w\n    plan: pro\n    usage:\n"
        "      - {at: 2027-02-15, time: '10:00', model: gen4_turbo, seconds: 5}\n"
    )

    assert where(problem) == (9, "workspaces[0].usage[0].time", None)


def test_until_not_after_from_is_reported_on_until() -> None:
    problem = problem_in(
        HEADER + "workspaces:\n  - id: w\n    plan: pro\n    usage:\n"
        "      - every: day\n        from: 2027-05-01\n        until: 2027-04-01\n"
        "        model: gen4_turbo\n        seconds: 5\n"
    )

    assert where(problem) == (11, "workspaces[0].usage[0].until", None)


# ---------------------------------------------------------------- models and units


def test_an_unknown_web_model_lists_the_web_catalogue() -> None:
    problem = problem_in(
        HEADER + "workspaces:\n  - id: w\n    plan: pro\n    usage:\n"
        "      - {every: day, model: gen5, seconds: 5}\n"
    )

    assert where(problem) == (9, "workspaces[0].usage[0].model", None)
    assert problem.message.startswith(
        "unknown web model 'gen5'; the price book knows: eleven_multilingual_sts_v2,"
    )
    assert "gen4_aleph" not in problem.message


def test_an_api_only_model_on_a_workspace_says_it_is_an_api_model() -> None:
    problem = problem_in(
        HEADER + "workspaces:\n  - id: w\n    plan: pro\n    usage:\n"
        "      - {every: day, model: gen4_aleph, seconds: 5}\n"
    )

    assert where(problem) == (9, "workspaces[0].usage[0].model", None)
    assert problem.message.endswith("'gen4_aleph' is an API model (for organizations)")


def test_an_unknown_api_model_lists_the_api_catalogue() -> None:
    problem = problem_in(
        HEADER + "organizations:\n  - id: o\n    usage:\n"
        "      - {every: day, model: gen2, seconds: 5}\n"
    )

    assert where(problem) == (8, "organizations[0].usage[0].model", None)
    assert problem.message.startswith("unknown api model 'gen2'")
    assert "web-app model" in problem.message


def test_an_image_resolution_the_model_has_no_rate_for_is_reported() -> None:
    problem = problem_in(
        HEADER + "workspaces:\n  - id: w\n    plan: pro\n    usage:\n"
        "      - {every: day, model: gen4_image, resolution: 4k}\n"
    )

    assert where(problem) == (9, "workspaces[0].usage[0].resolution", None)
    assert problem.message == "no rate for '4k'; known: 1080p, 720p"


def test_a_per_second_model_without_seconds_is_reported() -> None:
    problem = problem_in(
        HEADER + "organizations:\n  - id: o\n    usage:\n      - {every: day, model: veo3}\n"
    )

    assert where(problem) == (8, "organizations[0].usage[0].seconds", None)


# ---------------------------------------------------------------- web rules


def test_w07_free_workspace_cannot_buy_is_reported_with_line() -> None:
    problem = problem_in(
        HEADER + "workspaces:\n  - id: w\n    plan: free\n    events:\n"
        "      - {at: 2027-02-10, buy: 1000}\n"
    )

    assert where(problem) == (9, "workspaces[0].events[0].buy", "W07")
    assert problem.message.startswith("a Free workspace cannot buy credits")


def test_w07_a_workspace_that_left_free_before_buying_may_buy() -> None:
    loaded = load_scenario_text(
        HEADER + "workspaces:\n  - id: w\n    plan: free\n    events:\n"
        "      - {at: 2027-02-01, change_plan: standard}\n"
        "      - {at: 2027-02-10, buy: 1000}\n"
    )

    assert loaded.warnings == ()


def test_w07_buying_fewer_than_1000_web_credits_is_reported() -> None:
    problem = problem_in(
        HEADER + "workspaces:\n  - id: w\n    plan: pro\n    events:\n"
        "      - {at: 2027-02-10, buy: 500}\n"
    )

    assert where(problem) == (9, "workspaces[0].events[0].buy", "W07")
    assert problem.message == "web credits are bought in at least 1,000 at a time; this buys 500"


def test_w07_an_enterprise_in_app_purchase_over_9999_dollars_is_reported() -> None:
    problem = problem_in(
        HEADER + "workspaces:\n  - id: w\n    plan: enterprise\n    contract_credits: 60000\n"
        "    events:\n      - {at: 2027-02-10, buy: 1000000}\n"
    )

    assert where(problem) == (10, "workspaces[0].events[0].buy", "W07")
    assert "$9,999" in problem.message and "$10,000.00" in problem.message


def test_w03_editors_over_the_plan_seat_cap_are_reported() -> None:
    problem = problem_in(
        HEADER + "workspaces:\n  - id: w\n    plan: standard\n    editors: [a, b, c, d, e, f]\n"
    )

    assert where(problem) == (8, "workspaces[0].editors", "W03")
    assert problem.message == "6 editors is more than the Standard plan's 5 seats"


def test_a_duplicate_editor_is_reported_on_the_second_name() -> None:
    problem = problem_in(HEADER + "workspaces:\n  - id: w\n    plan: pro\n    editors: [a, a]\n")

    assert where(problem) == (8, "workspaces[0].editors[1]", None)


def test_w10_explore_on_a_workspace_never_on_unlimited_is_a_warning_with_its_line() -> None:
    loaded = load_scenario_text(
        HEADER + "workspaces:\n  - id: w\n    plan: pro\n    usage:\n"
        "      - {every: day, model: gen4_turbo, seconds: 5, mode: explore}\n",
        filename="x.yaml",
    )

    assert [(w.line, w.field, w.rule, w.severity) for w in loaded.warnings] == [
        (9, "workspaces[0].usage[0].mode", "W10", Severity.WARNING)
    ]


def test_w10_explore_with_a_model_not_eligible_is_reported() -> None:
    problem = problem_in(
        HEADER + "workspaces:\n  - id: w\n    plan: unlimited\n    usage:\n"
        "      - {every: day, model: gen2, seconds: 5, mode: explore}\n"
    )

    assert where(problem) == (9, "workspaces[0].usage[0].mode", "W10")
    assert problem.message == "gen2 is not eligible for Explore Mode"


def test_w10_explore_on_an_api_organization_is_reported() -> None:
    problem = problem_in(
        HEADER + "organizations:\n  - id: o\n    usage:\n"
        "      - {every: day, model: gen4_turbo, seconds: 5, mode: explore}\n"
    )

    assert where(problem) == (8, "organizations[0].usage[0].mode", "W10")


def test_w16_an_enterprise_workspace_without_contract_credits_is_reported() -> None:
    problem = problem_in(HEADER + "workspaces:\n  - id: w\n    plan: enterprise\n")

    assert where(problem) == (6, "workspaces[0].contract_credits", "W16")


def test_w15_auto_refill_on_a_workspace_never_on_a_refill_plan_is_a_warning() -> None:
    # The replay keeps the settings dormant on Free (they would fire after an
    # upgrade), so run accepts the file: validate warns instead of refusing it.
    loaded = load_scenario_text(
        HEADER + "workspaces:\n  - id: w\n    plan: free\n"
        "    auto_refill: {trigger: 100, amount_usd: 10, monthly_max_usd: 50}\n",
        filename="x.yaml",
    )

    assert [(w.line, w.field, w.rule, w.severity) for w in loaded.warnings] == [
        (8, "workspaces[0].auto_refill", "W15", Severity.WARNING)
    ]


def test_w16_a_plan_change_to_or_from_enterprise_is_reported() -> None:
    problem = problem_in(
        HEADER + "workspaces:\n  - id: w\n    plan: enterprise\n    contract_credits: 9000\n"
        "    events:\n      - {at: 2027-03-01, change_plan: pro}\n"
    )

    assert where(problem) == (10, "workspaces[0].events[0].change_plan", "W16")


def test_w13_cancelling_a_workspace_that_was_never_paid_is_reported() -> None:
    problem = problem_in(
        HEADER + "workspaces:\n  - id: w\n    plan: free\n"
        "    events:\n      - {at: 2027-03-01, cancel: true}\n"
    )

    assert where(problem) == (9, "workspaces[0].events[0].cancel", "W13")


# ---------------------------------------------------------------- API rules


def test_a02_a_duration_the_api_model_does_not_accept_is_reported_at_its_line() -> None:
    # runwayml/sdk-python: gen4.5 takes 2 to 10 seconds, veo3.1 4, 6 or 8.
    problems = problems_in(
        HEADER + "organizations:\n  - id: o\n    usage:\n"
        "      - {every: day, model: gen4.5, seconds: 12}\n"
        "      - {every: day, model: veo3.1, seconds: 5}\n"
        "      - {every: day, model: veo3.1, seconds: 8}\n"
    )

    assert [where(p) for p in problems] == [
        (8, "organizations[0].usage[0].seconds", "A02"),
        (9, "organizations[0].usage[1].seconds", "A02"),
    ]
    assert "gen4.5: this model makes videos of 2 to 10 seconds, not 12" in problems[0].message
    assert "veo3.1: this model makes videos of 4, 6 or 8 seconds, not 5" in problems[1].message


def test_a01_buying_fewer_than_1000_api_credits_is_reported() -> None:
    problem = problem_in(
        HEADER + "organizations:\n  - id: o\n    events:\n      - {at: 2027-01-05, buy: 500}\n"
    )

    assert where(problem) == (8, "organizations[0].events[0].buy", "A01")


def test_a04_an_autobill_amount_under_1000_credits_is_reported() -> None:
    problem = problem_in(
        HEADER + "organizations:\n  - id: o\n    autobill: {threshold: 100, amount: 500}\n"
    )

    assert where(problem) == (7, "organizations[0].autobill.amount", "A04")
    assert problem.message == "an autobill recharge is at least 1,000 credits; this one is 500"


def test_a10_a_key_created_by_someone_not_yet_a_member_is_reported() -> None:
    problem = problem_in(
        HEADER + "organizations:\n  - id: o\n    events:\n"
        "      - {at: 2027-03-02, create_key: k2, by: dev2}\n"
        "      - {at: 2027-03-05, add_member: dev2}\n"
    )

    assert where(problem) == (8, "organizations[0].events[0].by", "A10")
    assert problem.message.startswith("'dev2' is not a member")


def test_a10_a_usage_line_naming_a_key_never_created_is_reported() -> None:
    problem = problem_in(
        HEADER + "organizations:\n  - id: o\n    usage:\n"
        "      - {every: day, model: gen4_turbo, seconds: 5, key: k9}\n"
    )

    assert where(problem) == (8, "organizations[0].usage[0].key", "A10")


def test_a05_card_fails_must_be_at_least_one() -> None:
    problem = problem_in(
        HEADER + "organizations:\n  - id: o\n    events:\n      - {at: 2027-03-02, card_fails: 0}\n"
    )

    assert where(problem) == (8, "organizations[0].events[0].card_fails", None)


# ---------------------------------------------------------------- accounts and expectations


def test_duplicate_ids_across_workspaces_and_organizations_are_reported() -> None:
    problem = problem_in(
        HEADER + "workspaces:\n  - id: acme\n    plan: pro\norganizations:\n  - id: acme\n"
    )

    assert where(problem) == (9, "organizations[0].id", None)
    assert "already used by workspaces[0] (line 6)" in problem.message


def test_an_expectation_on_an_unknown_account_suggests_the_known_one() -> None:
    problem = problem_in(
        HEADER + "workspaces:\n  - id: studio\n    plan: pro\n"
        "expect:\n  - {at: 2027-02-01, account: stduio, balance: 10}\n"
    )

    assert where(problem) == (9, "expect[0].account", None)
    assert "(did you mean 'studio'?)" in problem.message


def test_a_tier_expectation_on_a_workspace_is_reported() -> None:
    problem = problem_in(
        HEADER + "workspaces:\n  - id: w\n    plan: pro\n"
        "expect:\n  - at: 2027-02-01\n    account: w\n    tier: 2\n"
    )

    assert where(problem) == (11, "expect[0].tier", None)


def test_plan_and_purchased_expectations_on_an_organization_are_reported() -> None:
    problem = problem_in(
        HEADER + "organizations:\n  - id: o\n"
        "expect:\n  - {at: 2027-02-01, account: o, plan: 0, purchased: 10}\n"
    )

    assert where(problem) == (8, "expect[0].plan", None)
    assert "use balance" in problem.message


def test_an_expectation_without_an_assertion_is_reported() -> None:
    problem = problem_in(
        HEADER + "organizations:\n  - id: o\nexpect:\n  - {at: 2027-02-01, account: o}\n"
    )

    assert where(problem) == (8, "expect[0]", None)


# ---------------------------------------------------------------- price book


def test_a_bad_override_path_is_reported_on_that_override() -> None:
    problem = problem_in(HEADER + "overrides:\n  web.models.gen9.rate: 30\n")

    assert where(problem) == (6, "overrides.web.models.gen9.rate", None)
    assert "'gen9.rate' is not in web.models" in problem.message


def test_a_good_override_still_applies_beside_a_bad_one() -> None:
    problems = problems_in(
        HEADER + "overrides:\n  web.models.gen4.rate: 1\n  api.tiers.9.monthly_cap_usd: 1\n"
        "workspaces:\n  - id: w\n    plan: pro\n    usage:\n"
        "      - {every: day, model: gen4, seconds: 5}\n"
    )

    assert [where(p) for p in problems] == [(7, "overrides.api.tiers.9.monthly_cap_usd", None)]


def test_an_unknown_price_book_is_reported_on_price_book() -> None:
    problem = problem_in(HEADER + "price_book: runway-1999-01\n")

    assert where(problem) == (5, "price_book", None)
    assert "bundled: runway-2026-05" in problem.message


# ---------------------------------------------------------------- all at once


def test_a_file_with_three_mistakes_reports_all_three_in_line_order() -> None:
    problems = problems_in(
        HEADER
        + "workspaces:\n"
        + "  - id: a\n"
        + "    plan: platinum\n"  # line 7: schema
        + "  - id: b\n"
        + "    plan: pro\n"
        + "    events:\n"
        + "      - {at: 2027-02-10, buy: 500}\n"  # line 11: W07, on an entry that passed
        + "expect:\n"
        + "  - {at: 2027-02-01, account: c, balance: 1}\n"  # line 13: unknown account
    )

    assert [where(p) for p in problems] == [
        (7, "workspaces[0].plan", None),
        (11, "workspaces[1].events[0].buy", "W07"),
        (13, "expect[0].account", None),
    ]


def test_a_problem_reads_as_file_line_field_and_rule(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(
        HEADER + "workspaces:\n  - id: w\n    plan: free\n    events:\n"
        "      - {at: 2027-02-10, buy: 1000}\n",
        encoding="utf-8",
    )

    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)

    assert str(caught.value) == (
        f"{path}, line 9, workspaces[0].events[0].buy: a Free workspace cannot buy credits; "
        "Standard, Pro, Unlimited and Enterprise can (rule W07)"
    )


def test_a_workload_with_an_unknown_model_lists_both_catalogues() -> None:
    with pytest.raises(ScenarioError) as caught:
        load_workload_text(
            "version: 1\nkind: workload\nname: w\nstart: 2027-01-01\nend: 2028-01-01\n"
            "usage:\n  - {every: weekday, model: gen9, seconds: 5}\n"
        )

    [problem] = caught.value.problems
    assert where(problem) == (7, "usage[0].model", None)
    assert "unknown web model" in problem.message and "unknown api model" in problem.message

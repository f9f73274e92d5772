"""Bounded input (docs/scenario-format.md, "Limits"): every hostile file is one line of error.

Each case of the hardening report (issue 14) must exit 2 quickly, with the
file, the line and what is wrong, never a traceback, a hang or a memory
blow-up; and what `validate` accepts at the limits, `run` completes.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.pricing.yaml_limits import MAX_FILE_BYTES
from scenarios import limits
from tests.e2e.conftest import invoke

HEAD = "version: 1\nname: x\nstart: 2027-01-01\nend: 2028-01-01\n"
WS = HEAD + "workspaces:\n  - id: a\n    plan: standard\n"
ORG = HEAD + "organizations:\n  - id: o\n"
USAGE = WS + "    usage:\n      - {usage}\n"
BOMB = "".join(
    f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}" if i else '"lol"'] * 9) + "]\n"
    for i in range(9)
)

# (id, file text, line, words the message must hold)
CASES: list[tuple[str, str, int | None, list[str]]] = [
    ("nul", WS.replace("id: a", 'id: "a\x00b"'), 6, ["control character", "U+0000"]),
    ("escape-char", HEAD + "name2: \x1b[2J\n", 5, ["control character", "U+001B"]),
    ("recursive-alias", HEAD.replace("name: x", "name: &r [*r]"), 2, ["alias", "contains it"]),
    ("deep-nesting", HEAD + "seed: " + "[" * 900 + "]" * 900 + "\n", 5, ["nest more than"]),
    ("alias-bomb", BOMB, None, ["expand", "values"]),
    ("tag-timestamp", WS + "    subscribed: !!timestamp 2027-02-30\n", 8, ["!!timestamp"]),
    ("tag-int", HEAD + "seed: !!int abc\n", 5, ["!!int"]),
    ("tag-python", HEAD + "seed: !!python/object/apply:os.system ['true']\n", 5, ["tags"]),
    ("overflow-date", HEAD.replace("2027-01-01", "0001-01-01T00:00+01:00"), 3, ["start"]),
    ("year-9999", HEAD.replace("2028-01-01", "9999-12-31"), 4, ["end", "supported dates"]),
    (
        "buy-huge",
        ORG + "    events:\n      - {at: 2027-02-01, buy: 1000000000000000000}\n",
        8,
        ["buy"],
    ),
    (
        "seconds-huge",
        USAGE.format(usage="{every: day, model: gen4_turbo, seconds: 10000000}"),
        9,
        ["seconds"],
    ),
    (
        "count-huge",
        USAGE.format(usage="{every: day, model: gen4_turbo, seconds: 5, count: 10000000}"),
        9,
        ["count"],
    ),
    (
        "count-true",
        USAGE.format(usage="{every: day, model: gen4_turbo, seconds: 5, count: true}"),
        9,
        ["count", "not true"],
    ),
    (
        "refill-huge",
        WS + "    auto_refill: {trigger: 10, amount_usd: 1000000000000000000000000000000,"
        " monthly_max_usd: 100}\n",
        8,
        ["amount_usd"],
    ),
    (
        "rate-huge",
        HEAD + "overrides:\n  web.models.gen4_turbo.rate: 1000000000000000000000000000000\n",
        6,
        ["price-book figure"],
    ),
    ("rate-negative", HEAD + "overrides:\n  web.models.gen4_turbo.rate: -5\n", 6, ["negative"]),
    (
        "interval-0",
        USAGE.format(usage='{rrule: "FREQ=DAILY;INTERVAL=0", model: gen4_turbo, seconds: 5}'),
        9,
        ["INTERVAL"],
    ),
    (
        "minutely-100y",
        USAGE.replace("2028-01-01", "2127-01-01").format(
            usage='{rrule: "FREQ=MINUTELY", model: gen4_turbo, seconds: 5}'
        ),
        9,
        ["more than"],
    ),
    (
        "secondly",
        USAGE.format(usage='{rrule: "FREQ=SECONDLY", model: gen4_turbo, seconds: 5}'),
        9,
        ["SECONDLY"],
    ),
    (
        "dtstart-after",
        USAGE.format(
            usage='{rrule: "DTSTART:20300101T000000\\nRRULE:FREQ=DAILY", '
            "model: gen4_turbo, seconds: 5}"
        ),
        9,
        ["DTSTART", "after"],
    ),
    (
        "dtstart-far-before",
        USAGE.format(
            usage='{rrule: "DTSTART:19700101T000000\\nRRULE:FREQ=MINUTELY", '
            "model: gen4_turbo, seconds: 5}"
        ),
        9,
        ["DTSTART", "long before"],
    ),
    ("nan", HEAD + "seed: .nan\n", 5, []),
]


@pytest.mark.parametrize(("case", "text", "line", "words"), CASES, ids=[c[0] for c in CASES])
def test_a_hostile_file_is_one_error_with_its_line(
    tmp_path: Path, case: str, text: str, line: int | None, words: list[str]
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    began = time.monotonic()
    code, out, err = invoke(CliRunner(), "validate", str(path))
    assert time.monotonic() - began < 20, case
    assert code == 2, (case, out, err)
    assert "Traceback" not in err
    assert str(path) in err
    if line is not None:
        assert f"line {line}" in err, (case, err)
    for word in words:
        assert word in err, (case, err)


def test_a_file_too_big_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(HEAD + "# " + "x" * MAX_FILE_BYTES + "\n")
    code, _, err = invoke(CliRunner(), "validate", str(path))
    assert code == 2 and "at most" in err


def test_a_price_book_with_a_yaml_error_or_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("web: [\n")
    (tmp_path / "latin.yaml").write_bytes(b"web: \xff\xfe\n")
    for book, gist in (("bad.yaml", "not valid YAML"), ("latin.yaml", "not UTF-8")):
        path = tmp_path / "s.yaml"
        path.write_text(HEAD + f"price_book: {book}\n")
        code, _, err = invoke(CliRunner(), "validate", str(path))
        assert code == 2 and gist in err and "line 5" in err, err


def test_what_validate_accepts_at_the_limits_run_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The largest values each field takes replay to the end (exit 0), a month long."""
    monkeypatch.chdir(tmp_path)
    text = (
        "version: 1\nname: limits\nstart: 2027-01-01\nend: 2027-02-01\n"
        f"seed: {limits.MAX_SEED}\n"
        "overrides:\n  web.models.gen4_turbo.rate: 1000000000\n"
        "workspaces:\n  - id: a\n    plan: standard\n"
        f"    auto_refill: {{trigger: 1000, amount_usd: {limits.MAX_DOLLARS}, "
        f"monthly_max_usd: {limits.MAX_DOLLARS}}}\n"
        f"    events:\n      - {{at: 2027-01-02, buy: {limits.MAX_CREDITS}}}\n"
        "    usage:\n"
        f"      - {{every: day, model: gen4_turbo, seconds: {limits.MAX_SECONDS}, count: 3}}\n"
        "organizations:\n  - id: o\n"
        f"    autobill: {{threshold: {limits.MAX_CREDITS}, amount: {limits.MAX_CREDITS}}}\n"
        f"    events:\n      - {{at: 2027-01-02, buy: {limits.MAX_CREDITS}}}\n"
        "    usage:\n"
        f"      - {{every: day, model: gen4_turbo, seconds: {limits.MAX_SECONDS}}}\n"
    )
    (tmp_path / "s.yaml").write_text(text)
    code, _, err = invoke(CliRunner(), "validate", "s.yaml")
    if code == 2:  # a rule (not a limit) refuses it: the limits themselves are not in question
        assert "at most" not in err and "at least" not in err, err
        return
    code, _, err = invoke(CliRunner(), "run", "s.yaml", "-q")
    assert code == 0, err


def test_each_limit_is_documented() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "scenario-format.md").read_text()
    for figure in (
        f"{MAX_FILE_BYTES:,}",
        f"{limits.MAX_CREDITS:,}",
        f"{limits.MAX_SECONDS:,}",
        f"{limits.MAX_COUNT:,}",
        f"{limits.MAX_DOLLARS:,}",
        f"{limits.MAX_OCCURRENCES_PER_LINE:,}",
        f"{limits.MAX_OCCURRENCES:,}",
        f"{limits.MAX_TASKS:,}",
        limits.FIRST_INSTANT.date().isoformat(),
        limits.LAST_INSTANT.date().isoformat(),
    ):
        assert figure in doc, figure

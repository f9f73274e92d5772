"""`credit-ledger import runway` through the real runwayml client against a local server."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from ledger.tools.cli import importing
from ledger.tools.cli.app import app
from ledger.tools.runs import run_scenario
from tests.integration.runway.fake import (
    API_KEY,
    FakeRunway,
    History,
    serve,
    truth_from_run,
    web_row,
)

START, END = date(2026, 1, 1), date(2026, 7, 1)  # 181 days: three 90-day calls

TRUTH = """\
version: 1
name: truth
start: 2026-01-01
end: 2026-07-01
organizations:
  - id: api
    tier: 1
    balance: 90000
    usage:
      - {every: weekday, time: "10:00", model: gen4.5, seconds: 5, count: 6}
      - {rrule: "FREQ=WEEKLY;BYDAY=MO,TH", time: "14:00", model: gen4_turbo, seconds: 10,
         count: 4}
      - {every: day, time: "09:00", model: gen4_image, resolution: 720p, count: 3,
         failure_rate: 0.2}
workspaces:
  - id: studio
    plan: pro
    usage:
      - {rrule: "FREQ=WEEKLY;BYDAY=TU", time: "11:00", model: gen4_turbo, seconds: 10, count: 2,
         failure_rate: 0.3}
"""


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(importing, "_today", lambda: date(2026, 6, 30))
    monkeypatch.setenv("RUNWAYML_API_SECRET", API_KEY)
    return CliRunner()


@pytest.fixture(scope="module")
def truth(tmp_path_factory: pytest.TempPathFactory) -> History:
    folder = tmp_path_factory.mktemp("truth")
    path = folder / "truth.yaml"
    path.write_text(TRUTH)
    run_scenario(path, folder / "run")
    history = truth_from_run(folder / "run", "api", END)
    history.tier_models = {"gen4.5": (2, 200), "gen4_turbo": (2, 200), "gen4_image": (2, 200)}
    return history


def _import(
    runner: CliRunner, url: str, out: Path, *extra: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    monkeypatch.setenv("RUNWAYML_BASE_URL", url)
    result = runner.invoke(
        app,
        [
            "import",
            "runway",
            "--since",
            "2026-01-01",
            "--out",
            str(out),
            "--max-retries",
            "2",
            *extra,
        ],
    )
    return result.exit_code, result.stdout, result.stderr


def _per_model_day(run_dir: Path, account: str) -> dict[tuple[date, str], int]:
    con = duckdb.connect(str(run_dir / "ledger.duckdb"), read_only=True)
    try:
        rows = con.execute(
            """SELECT day, model, SUM(count * credits_each - len(refunded) * credits_each)
               FROM task_runs WHERE account_id = ? GROUP BY ALL""",
            [account],
        ).fetchall()
    finally:
        con.close()
    return {(d, m): int(n) for d, m, n in rows if n}


def test_import_pages_and_replays_exactly(
    runner: CliRunner, truth: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeRunway(truth, page_size=7)  # several cursor pages
    out = tmp_path / "imported.yaml"
    with serve(fake) as url:
        code, _stdout, stderr = _import(
            runner, url, out, "--save-json", str(tmp_path / "saved"), monkeypatch=monkeypatch
        )
    assert code == 0, stderr
    assert fake.usage_calls == [
        ("2026-01-01", "2026-04-01"),
        ("2026-04-01", "2026-06-30"),
        ("2026-06-30", "2026-07-01"),
    ]
    pages = [p for p in fake.requests if p[1] == "/v1/organization/webapp/usage"]
    assert len(pages) > 3
    assert fake.auth == {f"Bearer {API_KEY}"}
    # validate, then run: the credits per model per day are Runway's.
    check = runner.invoke(app, ["validate", str(out)])
    assert check.exit_code == 0, check.stderr
    run_scenario(out, tmp_path / "run")
    replayed = _per_model_day(tmp_path / "run", "api")
    reported = {(d, m): a for d, models in truth.daily.items() for m, a in models.items() if a}
    assert replayed == reported
    # the balance at the end is the one Runway reported (the file's own expect holds)
    checked = runner.invoke(app, ["check", str(out), "--dir", str(tmp_path / "run2")])
    assert checked.exit_code == 0, checked.stdout + checked.stderr
    # web: every charged generation at its instant, refunds cancel theirs
    web = _per_model_day(tmp_path / "run", "studio-7")
    charged = sum(r["credits"] for r in truth.web)
    assert sum(web.values()) == charged
    # the saved bodies are the raw responses, one per call and page
    saved = sorted(p.name for p in (tmp_path / "saved").iterdir())
    assert saved[0] == "organization.json"
    assert sum(1 for n in saved if n.startswith("usage-")) == 3
    assert sum(1 for n in saved if n.startswith("webapp-usage-")) == len(pages)


def test_from_json_gives_the_same_file_offline(
    runner: CliRunner, truth: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve(FakeRunway(truth, page_size=50)) as url:
        code, _, stderr = _import(
            runner,
            url,
            tmp_path / "live.yaml",
            "--save-json",
            str(tmp_path / "saved"),
            monkeypatch=monkeypatch,
        )
    assert code == 0, stderr
    monkeypatch.delenv("RUNWAYML_API_SECRET")
    offline = runner.invoke(
        app, ["import", "runway", "--from-json", str(tmp_path / "saved"), "--until", "2026-07-01"]
    )
    assert offline.exit_code == 0, offline.stderr
    assert offline.stdout == (tmp_path / "live.yaml").read_text()


def test_refund_unknown_model_and_tier_diff(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)
    history = History(
        balance=5000,
        tier_models={"gen4.5": (2, 400)},  # the book says 200 a day at tier 1
        daily={date(2026, 2, 3): {"gen4.5": 125, "gen9_ultra": 77}},
        web=[
            web_row(at, 50, "Gen-4 Turbo", 3, "Studio"),
            web_row(at.replace(minute=5), -50, "Gen-4 Turbo", 3, "Studio", "refund"),
            web_row(at.replace(hour=12), 40, "Dream Machine", 3, "Studio"),
        ],
    )
    out = tmp_path / "f.yaml"
    with serve(FakeRunway(history)) as url:
        code, stdout, stderr = _import(
            runner, url, out, "--format", "json", monkeypatch=monkeypatch
        )
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["overrides"] == [
        "api.tiers.1.limits.video.daily: 200 -> 400 (Runway, for gen4.5)"
    ]
    text = out.read_text().splitlines()
    unknown = {u["model"]: u["line"] for u in report["unknown_models"]}
    assert set(unknown) == {"gen9_ultra", "dream_machine"}
    for model, line in unknown.items():
        assert model in text[line - 1]
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0
    run_scenario(out, tmp_path / "run")
    api = _per_model_day(tmp_path / "run", "api")
    assert api == {(date(2026, 2, 3), "gen4.5"): 125, (date(2026, 2, 3), "gen9_ultra"): 77}
    web = _per_model_day(tmp_path / "run", "studio-3")
    assert web == {(date(2026, 2, 3), "dream_machine"): 40}  # the refunded one nets to zero


def test_empty_window(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "empty.yaml"
    with serve(FakeRunway(History(balance=1234))) as url:
        code, stdout, stderr = _import(runner, url, out, monkeypatch=monkeypatch)
    assert code == 0, stderr
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0
    assert "balance: 1234" in out.read_text()
    assert "0 web generation(s)" in stdout


@pytest.mark.parametrize(
    ("status", "words"),
    [(401, "refused the API key"), (429, "rate-limiting"), (500, "API failed")],
)
def test_errors_are_one_sentence_exit_2_nothing_written(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, status: int, words: str
) -> None:
    fake = FakeRunway(History(balance=1))
    fake.fail_with = status
    out, saved = tmp_path / "never.yaml", tmp_path / "saved"
    with serve(fake) as url:
        code, _stdout, stderr = _import(
            runner, url, out, "--save-json", str(saved), monkeypatch=monkeypatch
        )
    assert code == 2
    assert words in stderr and len(stderr.strip().splitlines()) == 1
    assert not out.exists() and not saved.exists()
    retried = 1 if status == 401 else 3  # the SDK retries 429 and 5xx (max_retries=2)
    assert len(fake.requests) == retried


def test_the_api_key_never_appears(
    runner: CliRunner,
    truth: History,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Outputs, files, errors and logs (the SDK's and httpx's, at debug level): the key is
    nowhere."""
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    with serve(FakeRunway(truth, page_size=40)) as url:
        _code, stdout, stderr = _import(
            runner,
            url,
            tmp_path / "a.yaml",
            "--save-json",
            str(tmp_path / "saved"),
            monkeypatch=monkeypatch,
        )
        seen += [stdout, stderr]
    bad = FakeRunway(History(balance=1))
    bad.fail_with = 500
    with serve(bad) as url:
        seen += list(_import(runner, url, tmp_path / "b.yaml", monkeypatch=monkeypatch)[1:])
    monkeypatch.setenv("RUNWAYML_API_SECRET", API_KEY[:-1] + "0")  # a wrong key: 401
    with serve(FakeRunway(History(balance=1))) as url:
        seen += list(_import(runner, url, tmp_path / "c.yaml", monkeypatch=monkeypatch)[1:])
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files
    assert "Sending HTTP Request" in caplog.text  # the SDK did log its requests
    seen.append(caplog.text)
    for text in seen + [p.read_text(errors="replace") for p in files]:
        assert API_KEY not in text and API_KEY[4:20] not in text


def test_no_key_and_no_workspace_link(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RUNWAYML_API_SECRET")
    result = runner.invoke(app, ["import", "runway", "--out", str(tmp_path / "x.yaml")])
    assert result.exit_code == 2 and "RUNWAYML_API_SECRET" in result.stderr
    monkeypatch.setenv("RUNWAYML_API_SECRET", API_KEY)
    fake = FakeRunway(History(balance=10, daily={date(2026, 3, 2): {"gen4.5": 60}}))
    fake.no_workspace = True
    with serve(fake) as url:
        code, stdout, _ = _import(runner, url, tmp_path / "y.yaml", monkeypatch=monkeypatch)
    assert code == 0
    assert "no web workspace is linked" in stdout

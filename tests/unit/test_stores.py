"""Store URLs: which store a user named, passwords masked and scrubbed, run names
mapped to schema names that stay distinct and within PostgreSQL's limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.application import store_env
from ledger.pgstore import build_schema, check_run_name, run_schema
from ledger.stores import StoreError, is_postgres, mask, normalize, scrub
from ledger.tools.cli.app import app


def test_no_store_and_sqlite_mean_the_run_folder_s_file() -> None:
    assert normalize(None) is None
    assert normalize("") is None
    assert normalize("sqlite") is None


def test_a_postgresql_url_names_a_team_store() -> None:
    url = "postgresql://ana:pw@db.example:5433/ledger"
    assert normalize(url) == url
    assert normalize(" postgres://ana@db/ledger ") == "postgres://ana@db/ledger"
    assert is_postgres(url) and not is_postgres(Path("events.sqlite"))


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://ana:hunter22@db/ledger", "unsupported store"),
        ("postgresql://ana:hunter22@db:port/ledger", "port"),
        ("postgresql://ana:hunter22@/ledger", "no host"),
        ("postgresql://ana:hunter22@db:5432/", "no database"),
        ("./events.sqlite", "unsupported store"),
    ],
)
def test_a_store_that_cannot_be_used_is_refused_with_the_password_masked(
    url: str, says: str
) -> None:
    with pytest.raises(StoreError, match=says) as caught:
        normalize(url)
    assert "hunter22" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://ana:pw@db:5432/ledger", "postgresql://ana:***@db:5432/ledger"),
        ("postgresql://ana:p%40ss%3Aw@db/ledger", "postgresql://ana:***@db/ledger"),
        ("postgresql://ana:p@ss@db/ledger?x=1", "postgresql://ana:***@db/ledger?x=1"),
        ("postgresql://ana@db/ledger", "postgresql://ana@db/ledger"),
        ("postgresql://:pw@db/ledger", "postgresql://:***@db/ledger"),
        ("postgresql://ana:pw@db:port/ledger", "postgresql://ana:***@db:port/ledger"),
    ],
)
def test_mask_hides_the_password_and_keeps_the_rest(url: str, masked: str) -> None:
    assert mask(url) == masked


def test_scrub_removes_a_password_in_any_form_from_free_text() -> None:
    url = "postgresql://ana:s%20cr%40t@db/ledger"
    text = "failed for s cr@t, s%20cr%40t and postgresql://bob:other@h/x"
    cleaned = scrub(text, url)
    assert "s cr@t" not in cleaned and "s%20cr%40t" not in cleaned and "other" not in cleaned
    assert cleaned.count("***") == 3


def test_store_env_points_the_library_at_a_schema_with_the_password_decoded() -> None:
    env = store_env("postgresql://ana:p%40ss@db:5433/led%20ger?schema=cl_run_x&create_table=false")
    assert env["POSTGRES_PASSWORD"] == "p@ss"
    assert env["POSTGRES_DBNAME"] == "led ger"
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"]) == ("db", "5433")
    assert (env["POSTGRES_SCHEMA"], env["CREATE_TABLE"]) == ("cl_run_x", "false")
    assert "POSTGRES_SCHEMA" not in store_env("postgresql://ana@db/ledger")


@pytest.mark.parametrize(
    "names",
    [
        ["q1", "Q1", "q-1", "q_1", "q 1"],
        ["a" * 100, "a" * 101, "a" * 40, "a" * 41],
        ["runway 2027 — café", "runway_2027", "runway-2027"],
    ],
)
def test_run_names_map_to_distinct_schemas_within_63_bytes(names: list[str]) -> None:
    schemas = [run_schema(n) for n in names] + [build_schema(n) for n in names]
    assert len(set(schemas)) == len(schemas)
    for schema in schemas:
        assert len(schema.encode()) <= 63 and schema.isascii()
    assert run_schema("q1") == "cl_run_q1"  # plain names stay readable


@pytest.mark.parametrize("name", ["", " x", "x ", "tab\there", "x" * 121])
def test_an_unusable_run_name_is_refused(name: str) -> None:
    with pytest.raises(StoreError):
        check_run_name(name)


# Every shape of store URL a user may type, valid or not: the password
# ("Hunter2Secret", raw or in a part of it) must never come back in a
# message. Port 1 on the loopback refuses connections at once.
SECRET = "Hunter2Secret"
URL_SHAPES = [
    ("plain", f"postgresql://ana:{SECRET}@127.0.0.1:1/ledger"),
    ("unencoded-slash", f"postgresql://ana:{SECRET}/x@127.0.0.1:1/ledger"),
    ("unencoded-hash", f"postgresql://ana:{SECRET}#x@127.0.0.1:1/ledger"),
    ("unencoded-question", f"postgresql://ana:{SECRET}?x@127.0.0.1:1/ledger"),
    ("unencoded-at", f"postgresql://ana:{SECRET}@x@127.0.0.1:1/ledger"),
    ("unencoded-colon", f"postgresql://ana:{SECRET}:x@127.0.0.1:1/ledger"),
    ("no-scheme", f"ana:{SECRET}@127.0.0.1:1/ledger"),
    ("scheme-relative", f"//ana:{SECRET}@127.0.0.1:1/ledger"),
    ("other-scheme", f"mysql://ana:{SECRET}@127.0.0.1:1/ledger"),
    ("query-password", f"postgresql://ana@127.0.0.1:1/ledger?password={SECRET}"),
    ("query-password-later", f"postgresql://ana@127.0.0.1:1/ledger?a=1&password={SECRET}"),
    ("query-sslpassword", f"postgresql://ana@127.0.0.1:1/ledger?sslpassword={SECRET}"),
    ("ipv6", f"postgresql://ana:{SECRET}@[::1]:1/ledger"),
    ("ipv6-malformed", f"postgresql://ana:{SECRET}@[::1:1/ledger"),
    ("port-not-number", f"postgresql://ana:{SECRET}@127.0.0.1:abc/ledger"),
    ("no-host", f"postgresql://ana:{SECRET}@/ledger"),
    ("no-database", f"postgresql://ana:{SECRET}@127.0.0.1:1"),
    ("percent-encoded", "postgresql://ana:Hunter2%53ecret@127.0.0.1:1/ledger"),
    ("key-value", f"host=127.0.0.1 port=1 password={SECRET} dbname=ledger"),
    ("spaces", f"  postgresql://ana:{SECRET}@127.0.0.1:1/ledger  "),
]


@pytest.mark.parametrize(("shape", "url"), URL_SHAPES, ids=[s for s, _ in URL_SHAPES])
def test_no_url_shape_ever_shows_its_password(shape: str, url: str) -> None:
    assert SECRET not in mask(url), shape
    assert SECRET[:8] not in mask(url), shape
    try:
        normalize(url)
    except StoreError as exc:
        assert SECRET[:8] not in str(exc), shape


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://ana@db/ledger?password={SECRET}",
        f"postgresql://ana@db/ledger?sslmode=require&PASSWORD={SECRET}",
    ],
)
def test_a_password_in_the_query_string_is_refused(url: str) -> None:
    with pytest.raises(StoreError, match="query parameter"):
        normalize(url)


@pytest.mark.parametrize(("shape", "url"), URL_SHAPES, ids=[s for s, _ in URL_SHAPES])
def test_no_command_prints_the_password_of_any_url_shape(
    shape: str, url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for args in (["runs", "--store", url], ["balance", "x", "--at", "2027-01-01", "--store", url]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, (shape, result.output)
        assert not isinstance(result.exception, Exception) or isinstance(
            result.exception, SystemExit
        ), (shape, result.exception)
        assert SECRET[:8] not in result.stdout + result.stderr, (shape, result.stderr)
    assert not any(SECRET[:8] in p.read_text(errors="replace") for p in tmp_path.rglob("*.json"))

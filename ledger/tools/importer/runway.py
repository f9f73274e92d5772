"""Runway's own account of an organization, fetched through the ``runwayml`` SDK or read back.

Three endpoints (the SDK's names):

- ``client.organization.retrieve()`` (``GET /v1/organization``): the credit
  balance now, the tier's monthly credit spend and its per-model limits;
- ``client.organization.retrieve_usage(start_date=, before_date=)``
  (``POST /v1/organization/usage``): net credits per model per UTC day, at
  most 90 days per call, so a window is fetched in 90-day calls;
- ``client.organization.webapp.list_usage(from_=, to=, limit=, cursor=)``
  (``GET /v1/organization/webapp/usage``): the linked web workspaces'
  generations one by one, newest first, cursor-paginated.

Every body is kept exactly as Runway sent it (``RunwayExport``) so that
``--save-json DIR`` writes it and ``--from-json DIR`` reads the same bytes
back: ``organization.json``, ``usage-<start>--<before>.json`` (one per usage
call, the request's dates in the name) and ``webapp-usage-NNN.json`` (one per
page). Both paths then read the same dictionaries, so an offline import is
the live import.

The API key comes from ``RUNWAYML_API_SECRET`` (the SDK reads it) and is
never printed, stored or put in an error: messages name the HTTP status and
what to do, never the request.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

MAX_DAYS_PER_CALL = 90  # POST /v1/organization/usage: beforeDate at most 90 days after startDate
WEBAPP_PAGE_LIMIT = 100
ORGANIZATION_FILE = "organization.json"
_USAGE_FILE = re.compile(r"^usage-(\d{4}-\d{2}-\d{2})--(\d{4}-\d{2}-\d{2})\.json$")
_WEBAPP_FILE = re.compile(r"^webapp-usage-(\d+)\.json$")
NO_WORKSPACE_LINKED = "No workspace is linked"


class RunwayImportError(Exception):
    """Runway could not be read (no key, refused, unreachable, a bad saved file): exit 2."""


@dataclass
class RunwayExport:
    """What Runway said, body by body, exactly as sent."""

    organization: dict[str, Any]
    usage: list[tuple[date, date, dict[str, Any]]] = field(default_factory=list)
    webapp_pages: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, bytes] = field(default_factory=dict)  # file name -> the body's bytes
    webapp_linked: bool = True  # False when Runway said no workspace is linked

    @property
    def fetched_from(self) -> date | None:
        return min((start for start, _, _ in self.usage), default=None)

    @property
    def fetched_before(self) -> date | None:
        return max((before for _, before, _ in self.usage), default=None)

    def save(self, folder: Path) -> list[Path]:
        """Write every body as received; nothing else goes into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name, body in sorted(self.raw.items()):
            path = folder / name
            path.write_bytes(body)
            written.append(path)
        return written


def usage_file_name(start: date, before: date) -> str:
    return f"usage-{start.isoformat()}--{before.isoformat()}.json"


def webapp_file_name(page: int) -> str:
    return f"webapp-usage-{page:03d}.json"


def windows(start: date, before: date) -> list[tuple[date, date]]:
    """[start, before) cut into calls of at most 90 days."""
    calls = []
    at = start
    while at < before:
        end = min(before, at + timedelta(days=MAX_DAYS_PER_CALL))
        calls.append((at, end))
        at = end
    return calls


# ------------------------------------------------------------------ reading saved bodies


def load_export(folder: Path) -> RunwayExport:
    """The bodies saved in ``folder`` (``--from-json``), checked enough to be read."""
    if not folder.is_dir():
        raise RunwayImportError(f"{folder} is not a folder of saved Runway responses")
    org_path = folder / ORGANIZATION_FILE
    if not org_path.is_file():
        raise RunwayImportError(
            f"{folder} has no {ORGANIZATION_FILE} (the body of GET /v1/organization)"
        )
    raw: dict[str, bytes] = {ORGANIZATION_FILE: org_path.read_bytes()}
    organization = _object(org_path, raw[ORGANIZATION_FILE])
    usage: list[tuple[date, date, dict[str, Any]]] = []
    pages: list[tuple[int, dict[str, Any]]] = []
    for path in sorted(folder.iterdir()):
        if match := _USAGE_FILE.match(path.name):
            body = path.read_bytes()
            raw[path.name] = body
            start, before = date.fromisoformat(match[1]), date.fromisoformat(match[2])
            if not start < before <= start + timedelta(days=MAX_DAYS_PER_CALL):
                raise RunwayImportError(
                    f"{path}: a usage call covers 1 to {MAX_DAYS_PER_CALL} days; "
                    f"the name says {start} to {before}"
                )
            usage.append((start, before, _object(path, body)))
        elif match := _WEBAPP_FILE.match(path.name):
            body = path.read_bytes()
            raw[path.name] = body
            pages.append((int(match[1]), _object(path, body)))
    if not usage:
        raise RunwayImportError(
            f"{folder} has no usage-<start>--<before>.json (the bodies of POST "
            "/v1/organization/usage)"
        )
    usage.sort(key=lambda item: item[0])
    for (_, before, _), (start, _, _) in itertools.pairwise(usage):
        if start != before:
            raise RunwayImportError(
                f"{folder}: the usage files leave a gap or overlap between {before} and {start}"
            )
    pages.sort(key=lambda item: item[0])
    return RunwayExport(organization, usage, [page for _, page in pages], raw)


def _object(path: Path, body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunwayImportError(f"{path}: not a JSON body ({exc})") from None
    if not isinstance(value, dict):
        raise RunwayImportError(f"{path}: a Runway response body is a JSON object")
    return value


# ------------------------------------------------------------------ fetching live


def fetch_export(
    start: date,
    before: date,
    *,
    max_retries: int = 2,
    timeout: float = 60.0,
    page_limit: int = WEBAPP_PAGE_LIMIT,
    progress: Callable[[str], None] | None = None,
) -> RunwayExport:
    """Read the organization, its usage over [start, before) and its web-app usage.

    The SDK reads ``RUNWAYML_API_SECRET`` and ``RUNWAYML_BASE_URL`` itself and
    retries 429 and 5xx answers ``max_retries`` times with its own backoff.
    """
    try:
        import runwayml  # noqa: PLC0415 - an optional extra: credit-ledger[runway]
    except ImportError:
        raise RunwayImportError(
            "the runwayml SDK is not installed: pip install 'credit-ledger[runway]'"
        ) from None
    try:
        client = runwayml.RunwayML(max_retries=max_retries, timeout=timeout)
    except runwayml.RunwayMLError:
        raise RunwayImportError(
            "no API key: set RUNWAYML_API_SECRET to a key of the organization to import"
        ) from None
    tell = progress or (lambda _message: None)
    try:
        with client:
            tell("organization")
            raw_org = client.organization.with_raw_response.retrieve()
            raw_org.parse()  # the SDK's own model reads it, or says why not
            body = raw_org.http_response.content
            export = RunwayExport(_object(Path(ORGANIZATION_FILE), body))
            export.raw[ORGANIZATION_FILE] = body
            for call_start, call_before in windows(start, before):
                tell(f"usage {call_start} to {call_before}")
                raw_usage = client.organization.with_raw_response.retrieve_usage(
                    start_date=call_start, before_date=call_before
                )
                raw_usage.parse()
                name = usage_file_name(call_start, call_before)
                body = raw_usage.http_response.content
                export.usage.append((call_start, call_before, _object(Path(name), body)))
                export.raw[name] = body
            _fetch_webapp(client, runwayml, export, start, before, page_limit, tell)
    except runwayml.APIStatusError as exc:
        raise RunwayImportError(_status_sentence(exc.status_code)) from None
    except runwayml.APITimeoutError:
        raise RunwayImportError(
            f"Runway did not answer within {timeout:g} s (after {max_retries} retries); "
            "nothing was written"
        ) from None
    except runwayml.APIConnectionError:
        raise RunwayImportError(
            "could not reach Runway's API (check the network, or RUNWAYML_BASE_URL); "
            "nothing was written"
        ) from None
    return export


def _fetch_webapp(
    client: Any,
    runwayml: Any,
    export: RunwayExport,
    start: date,
    before: date,
    page_limit: int,
    tell: Callable[[str], None],
) -> None:
    cursor: str | None = None
    page_no = 0
    while True:
        page_no += 1
        tell(f"web-app usage page {page_no}")
        try:
            raw = client.organization.webapp.with_raw_response.list_usage(
                from_=start.isoformat(),
                to=before.isoformat(),
                limit=page_limit,
                **({"cursor": cursor} if cursor else {}),
            )
        except runwayml.BadRequestError as exc:
            if NO_WORKSPACE_LINKED.lower() in str(exc).lower():
                export.webapp_linked = False  # an API-only project: nothing to import there
                return
            raise
        page = raw.parse()
        body = raw.http_response.content
        name = webapp_file_name(page_no)
        export.webapp_pages.append(_object(Path(name), body))
        export.raw[name] = body
        cursor = page.next_cursor
        if not cursor:
            return


def _status_sentence(status: int) -> str:
    if status == 401:
        return (
            "Runway refused the API key (401 Unauthorized): check RUNWAYML_API_SECRET; "
            "nothing was written"
        )
    if status == 403:
        return "Runway refused access (403 Forbidden) for this key; nothing was written"
    if status == 429:
        return (
            "Runway is rate-limiting this key (429 Too Many Requests, still after the SDK's "
            "retries); try again later, nothing was written"
        )
    if status >= 500:
        return (
            f"Runway's API failed ({status}, still after the SDK's retries); try again later, "
            "nothing was written"
        )
    return f"Runway answered {status} to a usage request; nothing was written"


def parse_day(text: str) -> date:
    """A YYYY-MM-DD option value."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise RunwayImportError(f"{text!r} is not a date like 2026-03-01") from None


def today_utc(clock: Callable[[], datetime]) -> date:
    return clock().date()

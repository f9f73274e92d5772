"""A local stand-in for Runway's API on 127.0.0.1, serving the three endpoints the importer
reads. Every body is built from the ``runwayml`` SDK's own response models
(``model_validate`` of the wire form, then ``to_dict``), so a change of the
SDK's types breaks these tests rather than our users' imports.

``truth_from_run`` renders a run of our own replay as Runway's responses: the
history whose truth is known by construction.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import duckdb
from runwayml.types.organization.webapp_list_usage_response import WebappListUsageResponse
from runwayml.types.organization_retrieve_response import OrganizationRetrieveResponse
from runwayml.types.organization_retrieve_usage_response import (
    OrganizationRetrieveUsageResponse,
    Result,
    ResultUsedCredit,
)

API_KEY = "key_" + "f00dfeed" * 8  # the secret the tests grep for


@dataclass
class History:
    """What the fake Runway knows: a balance, tier figures, usage and web rows."""

    balance: int
    monthly_spend: int = 10000
    tier_models: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    daily: dict[date, dict[str, int]] = field(default_factory=dict)
    web: list[dict[str, Any]] = field(default_factory=list)  # wire-form rows


def organization_body(h: History) -> dict[str, Any]:
    wire = {
        "creditBalance": h.balance,
        "tier": {
            "maxMonthlyCreditSpend": h.monthly_spend,
            "models": {
                m: {"maxConcurrentGenerations": c, "maxDailyGenerations": d}
                for m, (c, d) in h.tier_models.items()
            },
        },
        "usage": {"models": {}},
    }
    return OrganizationRetrieveResponse.model_validate(wire).to_dict(mode="json")


def _used(model: str, amount: int) -> dict[str, Any]:
    wire: dict[str, Any] = {"model": model, "amount": amount}
    try:
        return ResultUsedCredit.model_validate(wire).to_dict(mode="json")
    except ValueError:
        # A model newer than the SDK's list: the SDK itself reads it leniently.
        return ResultUsedCredit.construct(**wire).to_dict(mode="json")


def _result(day: date, used: list[dict[str, Any]]) -> dict[str, Any]:
    wire: dict[str, Any] = {"date": day.isoformat(), "usedCredits": used}
    try:
        return Result.model_validate(wire).to_dict(mode="json")
    except ValueError:  # holds a model newer than the SDK's list
        return Result.construct(**wire).to_dict(mode="json")


def usage_body(h: History, start: date, before: date) -> dict[str, Any]:
    days = [d for d in sorted(h.daily) if start <= d < before]
    results = [_result(d, [_used(m, a) for m, a in sorted(h.daily[d].items())]) for d in days]
    models = sorted({m for d in days for m in h.daily[d]})
    body = OrganizationRetrieveUsageResponse.construct(models=models, results=[]).to_dict(
        mode="json"
    )
    body["results"] = results
    return body


def web_row(
    at: datetime, credits: int, tool: str, workspace: int, name: str, kind: str = "charge"
) -> dict[str, Any]:
    wire = {
        "credits": credits,
        "email": "someone@example.com",
        "timestamp": at.isoformat().replace("+00:00", "Z"),
        "tool": tool,
        "type": kind,
        "workspaceId": workspace,
        "workspaceName": name,
    }
    return WebappListUsageResponse.model_validate(wire).to_dict(mode="json")


class FakeRunway:
    def __init__(self, history: History, page_size: int | None = None) -> None:
        self.history = history
        self.page_size = page_size
        self.fail_with: int | None = None  # answer every request with this status
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.auth: set[str] = set()
        self.usage_calls: list[tuple[str, str]] = []
        self.no_workspace = False

    def handle(self, method: str, url: str, body: bytes, auth: str) -> tuple[int, dict[str, Any]]:
        self.auth.add(auth)
        parsed = urlparse(url)
        payload = json.loads(body) if body else {}
        self.requests.append((method, parsed.path, payload))
        if self.fail_with is not None:
            return self.fail_with, {"error": f"status {self.fail_with}"}
        if auth != f"Bearer {API_KEY}":
            return 401, {"error": "Invalid API key"}
        if method == "GET" and parsed.path == "/v1/organization":
            return 200, organization_body(self.history)
        if method == "POST" and parsed.path == "/v1/organization/usage":
            start, before = payload["startDate"], payload["beforeDate"]
            self.usage_calls.append((start, before))
            s, b = date.fromisoformat(start), date.fromisoformat(before)
            if (b - s).days > 90:
                return 400, {"error": "beforeDate must be within 90 days of startDate"}
            return 200, usage_body(self.history, s, b)
        if method == "GET" and parsed.path == "/v1/organization/webapp/usage":
            if self.no_workspace:
                return 400, {"error": "No workspace is linked to this API project"}
            query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
            lo = _instant(query["from"])
            hi = _instant(query["to"])
            rows = sorted(
                (r for r in self.history.web if lo <= _instant(r["timestamp"]) < hi),
                key=lambda r: r["timestamp"],
                reverse=True,  # newest first, as Runway sends them
            )
            limit = min(int(query["limit"]), self.page_size or 10**9)
            offset = int(query.get("cursor", "0"))
            page = rows[offset : offset + limit]
            nxt = offset + limit
            return 200, {"data": page, "nextCursor": str(nxt) if nxt < len(rows) else None}
        return 404, {"error": "not found"}


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@contextmanager
def serve(fake: FakeRunway) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            status, data = fake.handle(
                method, self.path, body, self.headers.get("authorization", "")
            )
            out = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(out)))
            self.send_header("retry-after-ms", "5")  # keeps the SDK's retries fast
            self.end_headers()
            self.wfile.write(out)

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def truth_from_run(run_dir: Path, org: str, end: date) -> History:
    """A finished run of our replay, as Runway would report it: net credits per model per
    day, the balance at the end, the web generations one by one (refunds as rows)."""
    con = duckdb.connect(str(run_dir / "ledger.duckdb"), read_only=True)
    try:
        daily: dict[date, dict[str, int]] = {}
        for day, model, net in con.execute(
            """SELECT day, model, SUM(count * credits_each - len(refunded) * credits_each)
               FROM task_runs WHERE account_id = ? GROUP BY ALL ORDER BY ALL""",
            [org],
        ).fetchall():
            daily.setdefault(day, {})[model] = int(net)
        row = con.execute(
            "SELECT balance FROM daily_balances WHERE account_id = ? AND day = ?",
            [org, end - timedelta(days=1)],
        ).fetchone()
        assert row is not None, f"no daily balance for {org} on the last day"
        (balance,) = row
        web: list[dict[str, Any]] = []
        for account, model, first_us, interval_us, count, each, refunded in con.execute(
            """SELECT account_id, model, first_us, interval_us, count, credits_each, refunded
               FROM task_runs WHERE surface = 'web' ORDER BY first_us"""
        ).fetchall():
            for i in range(count):
                at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(
                    microseconds=first_us + i * interval_us
                )
                tool = {"gen4_turbo": "Gen-4 Turbo", "gen4.5": "Gen-4.5"}.get(model, model)
                web.append(web_row(at, each, tool, 7, account))
                if i in refunded:
                    web.append(
                        web_row(at + timedelta(minutes=3), -each, tool, 7, account, "refund")
                    )
    finally:
        con.close()
    return History(balance=int(balance), daily=daily, web=web)

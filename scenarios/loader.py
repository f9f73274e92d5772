"""Load a scenario or workload file: parse, check the schema, check the rules.

Every problem of a file is collected (YAML duplicates, schema errors, price
book and override errors, semantic checks) and raised once as a
``ScenarioError``, sorted by line, so a user fixes a file in one pass. Only a
file that cannot be parsed at all stops at its first problem.

When the schema rejects part of a file, the parts that did pass (each
workspace, organization and expectation on its own) still go through the
semantic checks, so a wrong plan name does not hide a purchase that is too
small further down.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ledger.domain.types import Surface
from ledger.pricing.loader import apply_override, load_price_book, raw_price_book
from ledger.pricing.models import PriceBook, PricingError
from ledger.pricing.yaml_limits import FileLimitError, read_text
from scenarios import limits
from scenarios.errors import DataPath, Problem, ScenarioError, Severity, format_path
from scenarios.messages import problems_from
from scenarios.schema import (
    Expectation,
    Organization,
    Scenario,
    UsageLine,
    Workload,
    Workspace,
    with_default_instants,
)
from scenarios.source import Source, SourceMap, read_yaml
from scenarios.validate import AccountRef, check_scenario, check_sections, check_workload

_SECTIONS = ("workspaces", "organizations", "expect")
_Model = TypeVar("_Model", bound=BaseModel)


@dataclass(frozen=True)
class LoadedScenario:
    path: str  # as shown in messages
    scenario: Scenario
    price_book: PriceBook  # the scenario's book with its overrides applied
    source: SourceMap  # lines of the file, for problems found later by the replay
    warnings: tuple[Problem, ...] = ()  # replayable, but something will surely be refused

    def line_of(self, path: DataPath) -> int | None:
        return self.source.line(path)


@dataclass(frozen=True)
class LoadedWorkload:
    path: str
    workload: Workload
    price_book: PriceBook
    source: SourceMap
    warnings: tuple[Problem, ...] = ()

    def line_of(self, path: DataPath) -> int | None:
        return self.source.line(path)


def load_scenario(path: Path) -> LoadedScenario:
    """Read and check a scenario file; a price book path is relative to its folder."""
    return load_scenario_text(_read(path), filename=str(path), base_dir=path.parent)


def load_scenario_text(
    text: str, filename: str = "<inline>", base_dir: Path | None = None
) -> LoadedScenario:
    source = read_yaml(text, filename)
    data = _top_mapping(source, expected_kind="scenario")
    beyond = limits.check_values(data, source.map)
    problems = list(source.problems) + beyond
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems += problems_from(exc, Scenario, source.map)
        if not beyond:  # the rule checks never compute with values beyond the limits
            problems += _check_what_passed(data, base_dir, source.map)
        raise ScenarioError(_sorted(problems)) from None
    if beyond:
        raise ScenarioError(_sorted(problems))
    book, book_problems = price_book_for(
        scenario.price_book, scenario.overrides, base_dir, source.map
    )
    problems += book_problems + check_scenario(scenario, book, source.map)
    problems += _window_and_occurrences(scenario.start, scenario.end, _usage_of(scenario), source)
    warnings = _raise_errors(problems)
    assert book is not None  # a missing book is an error, raised above
    return LoadedScenario(filename, scenario, book, source.map, warnings)


def load_workload(path: Path) -> LoadedWorkload:
    return load_workload_text(_read(path), filename=str(path), base_dir=path.parent)


def load_workload_text(
    text: str, filename: str = "<inline>", base_dir: Path | None = None
) -> LoadedWorkload:
    source = read_yaml(text, filename)
    data = _top_mapping(source, expected_kind="workload")
    problems = list(source.problems) + limits.check_values(data, source.map)
    try:
        workload = Workload.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_sorted(problems + problems_from(exc, Workload, source.map))) from None
    if len(problems) > len(source.problems):  # values beyond the limits: no rule checks
        raise ScenarioError(_sorted(problems))
    book, book_problems = price_book_for(
        workload.price_book, workload.overrides, base_dir, source.map
    )
    problems += book_problems + check_workload(workload, book, source.map)
    lines = [(("usage", i), line, None) for i, line in enumerate(workload.usage)]
    problems += _window_and_occurrences(workload.start, workload.end, lines, source)
    warnings = _raise_errors(problems)
    assert book is not None
    return LoadedWorkload(filename, workload, book, source.map, warnings)


def _usage_of(scenario: Scenario) -> list[tuple[DataPath, UsageLine, datetime | None]]:
    lines: list[tuple[DataPath, UsageLine, datetime | None]] = []
    for i, w in enumerate(scenario.workspaces):
        lines += [(("workspaces", i, "usage", j), u, w.subscribed) for j, u in enumerate(w.usage)]
    for i, o in enumerate(scenario.organizations):
        lines += [(("organizations", i, "usage", j), u, o.opened) for j, u in enumerate(o.usage)]
    return lines


def _window_and_occurrences(
    start: datetime,
    end: datetime,
    lines: Sequence[tuple[DataPath, UsageLine, datetime | None]],
    source: Source,
) -> list[Problem]:
    """The window's date range, then (within it) the occurrence limits."""
    problems = limits.check_window(start, end, source.map)
    if problems or start >= end:
        return problems
    return limits.check_occurrences(lines, start, end, source.map)


def price_book_for(
    ref: str, overrides: dict[str, Any], base_dir: Path | None, src: SourceMap
) -> tuple[PriceBook | None, list[Problem]]:
    """The price book with its overrides, or the problems that stop it.

    On failure the overrides are applied one at a time, so each bad one is
    reported on its own line and the good ones still shape the book that the
    other checks use.
    """
    try:
        return load_price_book(ref, overrides, base_dir), []
    except PricingError:
        pass
    try:
        raw = raw_price_book(ref, base_dir)
        PriceBook.model_validate(raw)
    except PricingError as exc:
        return None, [src.problem(("price_book",), str(exc))]
    except ValidationError as exc:
        return None, [src.problem(("price_book",), f"price book {ref!r} is invalid: {_first(exc)}")]
    problems = []
    for dotted, value in overrides.items():
        trial = copy.deepcopy(raw)
        try:
            apply_override(trial, dotted, value)
            PriceBook.model_validate(trial)
        except PricingError as exc:
            problems.append(src.problem(("overrides", dotted), str(exc)))
        except ValidationError as exc:
            problems.append(
                src.problem(("overrides", dotted), f"the price book cannot take it: {_first(exc)}")
            )
        else:
            raw = trial
    return PriceBook.model_validate(raw), problems


def _read(path: Path) -> str:
    try:
        return read_text(path)  # within the size limit, UTF-8 (docs/scenario-format.md)
    except FileNotFoundError:
        raise ScenarioError([Problem(str(path), None, "", "file not found")]) from None
    except FileLimitError as exc:
        raise ScenarioError([Problem(str(path), None, "", str(exc))]) from None
    except IsADirectoryError:
        raise ScenarioError(
            [Problem(str(path), None, "", "this is a folder, not a file")]
        ) from None
    except OSError as exc:
        raise ScenarioError([Problem(str(path), None, "", f"cannot read it: {exc}")]) from None


def _top_mapping(source: Source, expected_kind: str) -> dict[str, Any]:
    data = source.data
    if not isinstance(data, dict):
        message = "the top level must be a mapping of fields (version, name, start, ...)"
        raise ScenarioError([source.map.problem((), message)])
    kind = data.get("kind", "scenario")
    if kind in ("scenario", "workload") and kind != expected_kind:
        verb = "compare it with `credit-ledger compare`" if kind == "workload" else "run it"
        message = f"this file is a {kind} (kind: {kind}), not a {expected_kind}: {verb}"
        raise ScenarioError([source.map.problem(("kind",), message)])
    return data


def _check_what_passed(
    data: dict[str, Any], base_dir: Path | None, src: SourceMap
) -> list[Problem]:
    """Semantic checks on what the schema let through, in the same pass.

    The schema's own problems are reported already. Here each part that did
    not pass is salvaged (``_Salvage``): a bad item of a list is left out, a
    bad optional field too, and a bad required one gets a stand-in, so the
    rest of the entry (its purchases, its usage lines, its models) still
    meets the rule and catalogue checks. Problems found at a stand-in's place
    are dropped: they would be about the stand-in, not the file.
    """
    salvage = _Salvage(src)
    header = salvage.entry(
        {k: v for k, v in data.items() if k not in _SECTIONS},
        Scenario.model_validate,
        (),
        {"version": 1, "name": "", "start": _PLACEHOLDER, "end": _FAR_END},
    )
    if header is None:
        return []
    filled = with_default_instants(data | {"start": header.start})
    book, problems = price_book_for(header.price_book, header.overrides, base_dir, src)
    workspaces = salvage.section(filled, "workspaces", Workspace.model_validate, _workspace_fills)
    organizations = salvage.section(filled, "organizations", Organization.model_validate)
    expectations = salvage.section(filled, "expect", Expectation.model_validate)
    problems += check_sections(
        header,
        book,
        salvage.map(),
        workspaces=workspaces,
        organizations=organizations,
        expectations=expectations,
        accounts=_raw_accounts(data),
    )
    return [p for p in problems if p.field not in salvage.stand_ins]


_PLACEHOLDER = datetime(1970, 1, 1, tzinfo=UTC)  # scenarios.schema's stand-in for a bad start
_FAR_END = datetime(2999, 1, 1, tzinfo=UTC)
_MAX_SALVAGE_ROUNDS = 25


def _workspace_fills(item: dict[str, Any]) -> dict[str, Any]:
    # The plan that refuses least, so no rule check fires on the stand-in's account.
    return {"plan": "enterprise" if "contract_credits" in item else "unlimited"}


@dataclass
class _Salvage:
    """Entries that failed the schema, made checkable by leaving their bad parts out.

    Items left out of a nested list shift the indices of those after them;
    ``renumber`` keeps, per list, the index in the file of each item kept, so
    a later problem is reported at its own line and field.
    """

    src: SourceMap
    renumber: dict[DataPath, tuple[int, ...]] = field(default_factory=dict)
    stand_ins: set[str] = field(default_factory=set)

    def section(
        self,
        data: dict[str, Any],
        name: str,
        parse: Callable[[Any], _Model],
        fills: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> list[tuple[int, _Model]]:
        items = data.get(name)
        found = []
        for index, item in enumerate(items if isinstance(items, list) else []):
            extra = fills(item) if fills is not None and isinstance(item, dict) else {}
            model = self.entry(item, parse, (name, index), extra)
            if model is not None:
                found.append((index, model))
        return found

    def entry(
        self,
        item: Any,
        parse: Callable[[Any], _Model],
        path: DataPath,
        fills: dict[str, Any],
    ) -> _Model | None:
        if not isinstance(item, dict):
            return None
        data = dict(item)
        kept: dict[str, list[int]] = {}
        for _ in range(_MAX_SALVAGE_ROUNDS):
            try:
                model = parse(data)
            except ValidationError as exc:
                if not self._leave_out(exc, data, kept, path, fills):
                    return None
                continue
            for key, indices in kept.items():
                self.renumber[(*path, key)] = tuple(indices)
            return model
        return None

    def _leave_out(
        self,
        exc: ValidationError,
        data: dict[str, Any],
        kept: dict[str, list[int]],
        path: DataPath,
        fills: dict[str, Any],
    ) -> bool:
        """Leave out (or stand in for) what ``exc`` names; False when nothing can be."""
        drop: dict[str, set[int]] = {}
        changed = False
        for error in exc.errors(include_url=False):
            loc = error["loc"]
            if not loc or not isinstance(loc[0], str):
                return False  # a problem of the entry as a whole
            key = loc[0]
            value = data.get(key)
            if len(loc) > 1 and isinstance(loc[1], int) and isinstance(value, list):
                drop.setdefault(key, set()).add(loc[1])
            elif key in fills and data.get(key) is not fills[key]:
                data[key] = fills[key]
                self.stand_ins.add(format_path((*path, key)))
                changed = True
            elif key in data:
                del data[key]
                changed = True
            else:
                return False  # a required field that is missing: nothing to check against
        for key, indices in drop.items():
            items = data[key]
            original = kept.get(key, list(range(len(items))))
            data[key] = [v for i, v in enumerate(items) if i not in indices]
            kept[key] = [o for i, o in enumerate(original) if i not in indices]
            changed = True
        return changed

    def map(self) -> SourceMap:
        return _Renumbered(self.src.file, self.src.lines, dict(self.renumber))


@dataclass(frozen=True)
class _Renumbered(SourceMap):
    """A source map that reads paths into salvaged lists as the file's own paths."""

    renumber: dict[DataPath, tuple[int, ...]] = field(default_factory=dict)

    def original(self, path: DataPath) -> DataPath:
        out: list[str | int] = []
        for part in path:
            indices = self.renumber.get(tuple(out))
            if isinstance(part, int) and indices is not None and part < len(indices):
                out.append(indices[part])
            else:
                out.append(part)
        return tuple(out)

    def line(self, path: DataPath) -> int | None:
        return super().line(self.original(path))

    def problem(
        self,
        path: DataPath,
        message: str,
        rule: str | None = None,
        severity: Severity = Severity.ERROR,
    ) -> Problem:
        return super().problem(self.original(path), message, rule, severity)


def _raw_accounts(data: dict[str, Any]) -> list[AccountRef]:
    """Every account id written in the file, valid entry or not."""
    accounts: list[AccountRef] = []
    for section, surface in (("workspaces", Surface.WEB), ("organizations", Surface.API)):
        items = data.get(section)
        for index, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict) and isinstance(item.get("id"), str | int):
                accounts.append(((section, index), str(item["id"]), surface))
    return accounts


def _raise_errors(problems: Iterable[Problem]) -> tuple[Problem, ...]:
    """Raise the errors, if any; otherwise give back the warnings."""
    found = _sorted(problems)
    errors = [p for p in found if p.severity is Severity.ERROR]
    if errors:
        raise ScenarioError(errors)
    return tuple(found)


def _sorted(problems: Iterable[Problem]) -> list[Problem]:
    # Stable: problems on one line keep the order they were found in.
    return sorted(problems, key=lambda p: p.line or 0)


def _first(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}"

"""Problems found in a scenario file, as values, and the one error that carries them.

Checks return ``Problem`` values instead of raising (beancount's habit), so a
single run can tell the user about every mistake in the file at once.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeAlias

PathItem: TypeAlias = str | int
DataPath: TypeAlias = tuple[PathItem, ...]  # keys and list indices from the top of the file


class Severity(StrEnum):
    ERROR = "error"  # the file cannot be replayed
    WARNING = "warning"  # the file replays, but something will surely be refused


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int | None  # 1-based; None when the file itself is the problem
    field: str  # e.g. "workspaces[0].events[2].buy"; "" for the whole file
    message: str  # a sentence a non-programmer understands, without the rule id
    rule: str | None = None  # e.g. "W07"
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = [self.file]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field:
            where.append(self.field)
        prefix = "warning: " if self.severity is Severity.WARNING else ""
        rule = f" (rule {self.rule})" if self.rule else ""
        return f"{', '.join(where)}: {prefix}{self.message}{rule}"


class ScenarioError(Exception):
    """A file that cannot be replayed, with every problem found in it."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def format_path(path: DataPath) -> str:
    """``("workspaces", 0, "events", 2, "buy")`` -> ``workspaces[0].events[2].buy``."""
    text = ""
    for item in path:
        if isinstance(item, int):
            text += f"[{item}]"
        else:
            text += f".{item}" if text else item
    return text


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'buy'?)`` for a near miss, else an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""

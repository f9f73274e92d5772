"""Fuzz `validate` and `run`: seeded mutations of every example plus generated hostile files.

Each case is a file made from a seed (the same seed gives the same file on
any machine). It goes through ``credit-ledger validate``; a file that
validates also goes through ``credit-ledger run`` (every case in the long
mode, every ``--run-every``-th in the test suite). A case passes when every
command exits 0, 1 or 2 with no traceback, within the CPU-time limit
(``--seconds``, process CPU time, so a loaded machine does not trip it), in
a worker process whose address space is capped (``--memory-mb``); a worker
that dies (out of memory, a crash) marks its case failed and a new worker
takes the next case.

    python -m tests.fuzz.runner --cases 10000 --run-every 1     # make fuzz
    python -m tests.fuzz.runner --worker ...                    # internal

The figures it prints go into docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).parents[2]
EXAMPLES = sorted((ROOT / "scenarios" / "examples").glob("*.yaml"))

# ----------------------------------------------------------------- values

HOSTILE_NUMBERS: list[Any] = [
    0,
    -1,
    -(10**6),
    1,
    10**9,
    10**12 + 1,
    10**18,
    10**30,
    2**63,
    -(2**63) - 1,
    1.5,
    -0.0,
    1e308,
    float("inf"),
    float("nan"),
    True,
    False,
    None,
    "",
    "abc",
    [],
    {},
]
HOSTILE_DATES = [
    "2027-02-30",
    "0001-01-01T00:00+01:00",
    "9999-12-31T23:59:59",
    "9999-12-31",
    "1969-12-31",
    "2200-01-02",
    "2027-13-01",
    "2027-01-01T25:00",
    "2027-01-01T10:00+99:00",
    "1900-01-01",
    "2027-06-01T12:00:00.999999Z",
]
HOSTILE_RRULES = [
    "FREQ=DAILY;INTERVAL=0",
    "FREQ=MINUTELY",
    "FREQ=SECONDLY",
    "FREQ=HOURLY;INTERVAL=1",
    "FREQ=MINUTELY;BYHOUR=10",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=DAILY;COUNT=0",
    "FREQ=DAILY;UNTIL=19000101T000000Z",
    "DTSTART:20990101T000000\nRRULE:FREQ=DAILY",
    "DTSTART:19700101T000000\nRRULE:FREQ=HOURLY",
    "FREQ=WEEKLY;BYDAY=XX",
    "FREQ=MONTHLY;BYSETPOS=400;BYDAY=MO",
    "RRULE:FREQ=DAILY\nEXRULE:FREQ=DAILY",
    "garbage",
    "FREQ=DAILY;INTERVAL=-3",
    "FREQ=DAILY;BYHOUR=99",
]
HOSTILE_TEXT = [
    "\x1b[2J\x1b[H",
    "a\x00b",
    "\u202ereversed",
    "x" * 5000,
    "../../etc/passwd",
    "'; DROP TABLE accounts; --",
    "${HOME}",
    "日本語のアカウント",
    "\ud7ff",
]
HOSTILE_FILES: list[Callable[[random.Random], str]] = [
    lambda r: "",
    lambda r: "---\n",
    lambda r: "[1, 2, 3]\n",
    lambda r: "version: 1\n" * 3,
    lambda r: (
        "a: &a ["
        + ",".join(["x"] * 9)
        + "]\n"
        + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n"
            for i in range(8)
        )
    ),
    lambda r: "name: &r [*r]\n",
    lambda r: "seed: " + "[" * r.randint(30, 2000) + "]" * r.randint(0, 2000) + "\n",
    lambda r: "seed: " + "{a: " * r.randint(30, 500) + "1" + "}" * 500 + "\n",
    lambda r: "seed: !!int abc\n",
    lambda r: "start: !!timestamp 2027-02-30\n",
    lambda r: "name: !!python/object/apply:os.system ['true']\n",
    lambda r: "# " + "x" * 1_100_000 + "\n",
    lambda r: "version: 1\nname: \x00\n",
    lambda r: "version: 1\nname: x\x07\n",
]


def _leaves(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _leaves(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _leaves(value, (*path, index))
    return found


def _set(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return data


PLAUSIBLE: list[Any] = [0, 1, 2, 5, 10, 99, 100, 1000, 25_000, "2027-03-01", "10:00"]


def _hostile_value(rng: random.Random, key: Any) -> Any:
    kind = rng.random()
    if kind < 0.3:  # near the valid values, so more cases get as far as a run
        return rng.choice(PLAUSIBLE)
    kind = rng.random()
    if key in {"rrule"} or kind < 0.1:
        return rng.choice(HOSTILE_RRULES)
    if key in {"at", "start", "end", "from", "until", "subscribed", "opened"} or kind < 0.3:
        return rng.choice(HOSTILE_DATES)
    if kind < 0.85:
        return rng.choice(HOSTILE_NUMBERS)
    return rng.choice(HOSTILE_TEXT)


def structural_mutation(text: str, rng: random.Random) -> str:
    data = yaml.safe_load(text)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        paths = _leaves(data)
        path = rng.choice(paths[1:] or paths)
        choice = rng.random()
        if choice < 0.75:
            data = _set(data, path, _hostile_value(rng, path[-1] if path else None))
        elif choice < 0.9 and path:
            parent = data
            for part in path[:-1]:
                parent = parent[part]
            del parent[path[-1]]
        else:
            node = data
            for part in path:
                node = node[part]
            if isinstance(node, list) and node:
                node.extend([rng.choice(node)] * rng.randint(1, 50))
            elif isinstance(node, dict):
                node[rng.choice(["extra", "count", "seconds", "buy", "rrule"])] = _hostile_value(
                    rng, None
                )
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000)


def scalar_mutation(text: str, rng: random.Random) -> str:
    """One value of the file (not a list or mapping) replaced: often still a valid file."""
    data = yaml.safe_load(text)
    scalars = [p for p in _leaves(data) if p and not isinstance(_get(data, p), dict | list)]
    path = rng.choice(scalars)
    data = _set(data, path, _hostile_value(rng, path[-1]))
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000)


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def text_mutation(text: str, rng: random.Random) -> str:
    lines = text.splitlines(keepends=True)
    for _ in range(rng.randint(1, 4)):
        if not lines:
            lines = ["\n"]
        i = rng.randrange(len(lines))
        op = rng.randrange(8)
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[rng.randrange(len(lines))])
        elif op == 2:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 3:
            cut = rng.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:cut] + rng.choice(["\x00", "\x1b", "\t", "\ufeff", "\x85", "é"])
            lines[i] += "\n"
        elif op == 4:
            lines = lines[:i]
        elif op == 5:
            lines[i] = " " * rng.randint(0, 8) + lines[i].lstrip()
        elif op == 6:
            lines[i] = lines[i].replace(":", rng.choice([": &x", ": *x", ":", " :", ": !!str"]), 1)
        else:
            lines[i] = "".join(
                str(rng.choice([10**20, -5, 0])) if c.isdigit() and rng.random() < 0.3 else c
                for c in lines[i]
            )
    return "".join(lines)


def make_case(seed: int, index: int) -> tuple[str, bytes]:
    """(description, file bytes) of case ``index`` of run ``seed``."""
    rng = random.Random(f"{seed}:{index}")
    roll = rng.random()
    if roll < 0.1:
        maker = rng.randrange(len(HOSTILE_FILES))
        text = HOSTILE_FILES[maker](rng)
        raw = text.encode("utf-8", "surrogatepass")
        if rng.random() < 0.2:
            raw = raw[: rng.randrange(len(raw) + 1)] + b"\xff\xfe"
        return f"hostile-file-{maker}", raw
    example = rng.choice(EXAMPLES)
    text = example.read_text(encoding="utf-8")
    if roll < 0.4:
        text = scalar_mutation(text, rng)
        kind = "scalar"
    elif roll < 0.7:
        text = structural_mutation(text, rng)
        kind = "structure"
    else:
        text = text_mutation(text, rng)
        kind = "text"
    return f"{kind}-{example.stem}", text.encode("utf-8", "surrogatepass")


# ----------------------------------------------------------------- worker


class CaseTimeout(BaseException):
    """The case ran past its CPU-time limit (raised by SIGPROF)."""


_FIRED: list[bool] = [False]  # the timer went off (DuckDB may turn it into its own error)


def _alarm(_signum: int, _frame: Any) -> None:
    _FIRED[0] = True
    raise CaseTimeout


@dataclass
class Outcome:
    index: int
    kind: str
    validate: int | str = "-"
    run: int | str = "-"
    seconds: float = 0.0
    problem: str = ""


def _invoke(args: list[str], limit: float) -> tuple[int | str, str]:
    from typer.testing import CliRunner

    from ledger.tools.cli.app import app

    # CPU time, not wall time: on a loaded machine a case waits for a core without
    # being any slower, and must not count as a hang for it.
    _FIRED[0] = False
    signal.setitimer(signal.ITIMER_PROF, limit)
    try:
        result = CliRunner().invoke(app, args)
    except CaseTimeout:
        return "timeout", f"over {limit:g} s"
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
    if isinstance(result.exception, CaseTimeout) or _FIRED[0]:
        return "timeout", f"over {limit:g} s"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        kind = type(result.exception).__name__
        return "traceback", f"{kind}: {str(result.exception)[:200]}"
    output = result.stdout + result.stderr
    if "Traceback (most recent call last)" in output:
        return "traceback", output[-300:]
    if result.exit_code not in (0, 1, 2):
        return result.exit_code, output[-300:]
    return result.exit_code, ""


def worker(args: argparse.Namespace) -> None:
    signal.signal(signal.SIGPROF, _alarm)
    folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
    os.chdir(folder)
    with Path(args.out).open("a", encoding="utf-8") as out:
        _work(args, folder, out)


def _work(args: argparse.Namespace, folder: Path, out: Any) -> None:
    valid = 0
    for index in range(args.first, args.cases):
        kind, raw = make_case(args.seed, index)
        print(json.dumps({"start": index}), file=out, flush=True)
        path = folder / "case.yaml"
        path.write_bytes(raw)
        began = time.monotonic()
        outcome = Outcome(index, kind)
        outcome.validate, problem = _invoke(["validate", str(path)], args.seconds)
        if outcome.validate == 0 and "workload" not in kind:
            valid += 1
        runs = args.run_every > 0 and valid % args.run_every == 0
        if outcome.validate == 0 and runs and "workload" not in kind:
            outcome.run, problem = _invoke(
                ["run", str(path), "--dir", str(folder / "runs" / "case"), "-q"], args.seconds
            )
        outcome.problem = problem
        outcome.seconds = round(time.monotonic() - began, 3)
        print(json.dumps(outcome.__dict__), file=out, flush=True)


# ----------------------------------------------------------------- driver


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    failures: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        validate = Counter(str(o.validate) for o in self.outcomes)
        run = Counter(str(o.run) for o in self.outcomes if o.run != "-")
        slowest = max((o.seconds for o in self.outcomes), default=0.0)
        lines = [
            f"cases: {len(self.outcomes)} in {self.seconds:.1f} s (slowest case {slowest:.2f} s)",
            "validate exit codes: " + ", ".join(f"{k}: {v}" for k, v in sorted(validate.items())),
            "run exit codes: " + ", ".join(f"{k}: {v}" for k, v in sorted(run.items())),
            f"failures (traceback, timeout, worker died, other exit): {len(self.failures)}",
        ]
        lines += [f"  case {f.index} ({f.kind}): {f.problem}" for f in self.failures[:20]]
        return "\n".join(lines)


def _limit_memory(megabytes: int) -> Callable[[], None]:
    def apply() -> None:
        size = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))

    return apply


def fuzz(
    seed: int, cases: int, run_every: int, seconds: float, memory_mb: int, first: int = 0
) -> Report:
    """Run cases first..cases-1 in worker processes; a dead worker's case is a failure."""
    report = Report()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fuzz-results-") as scratch:
        results = Path(scratch) / "results.jsonl"
        next_case = first
        while next_case < cases:
            results.write_text("", encoding="utf-8")
            command = [
                sys.executable,
                "-m",
                "tests.fuzz.runner",
                "--worker",
                f"--seed={seed}",
                f"--cases={cases}",
                f"--first={next_case}",
                f"--run-every={run_every}",
                f"--seconds={seconds}",
                f"--out={results}",
            ]
            done = subprocess.run(
                command,
                cwd=ROOT,
                env=dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1"),
                preexec_fn=_limit_memory(memory_mb),
                capture_output=True,
                text=True,
                check=False,
            )
            started = None
            for line in results.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                if "start" in record:
                    started = record["start"]
                    continue
                outcome = Outcome(**record)
                started = None
                report.outcomes.append(outcome)
                bad = {outcome.validate, outcome.run} - {0, 1, 2, "-"}
                if bad:
                    report.failures.append(outcome)
                next_case = outcome.index + 1
            if started is not None:  # the worker died inside this case
                kind, _ = make_case(seed, started)
                tail = (done.stderr or "").strip().splitlines()[-1:] or [f"exit {done.returncode}"]
                dead = Outcome(started, kind, "died", "-", 0.0, tail[0][:200])
                report.outcomes.append(dead)
                report.failures.append(dead)
                next_case = started + 1
            elif done.returncode != 0 and next_case < cases:
                raise RuntimeError(f"the fuzz worker failed to start: {done.stderr[-500:]}")
    report.seconds = time.monotonic() - began
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--run-every", type=int, default=1, help="run every n-th valid case")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--memory-mb", type=int, default=3_000)
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return 0
    report = fuzz(args.seed, args.cases, args.run_every, args.seconds, args.memory_mb)
    print(
        f"seed {args.seed}, run every {args.run_every} valid case(s), limits "
        f"{args.seconds:g} s and {args.memory_mb} MB per case"
    )
    print(report.summary())
    return 1 if report.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())

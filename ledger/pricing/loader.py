"""Read a price book from YAML (bundled id or a path) and apply dotted overrides."""

from __future__ import annotations

import copy
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ledger.pricing.models import PriceBook, PricingError
from ledger.pricing.yaml_limits import FileLimitError, read_text, safe_load

BUNDLED_DIR = "books"


def bundled_ids() -> list[str]:
    folder = resources.files("ledger.pricing").joinpath(BUNDLED_DIR)
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


@lru_cache(maxsize=16)
def _raw_bundled(book_id: str) -> dict[str, Any]:
    path = resources.files("ledger.pricing").joinpath(BUNDLED_DIR, f"{book_id}.yaml")
    if not path.is_file():
        raise PricingError(f"unknown price book {book_id!r}; bundled: {', '.join(bundled_ids())}")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise PricingError(f"price book {book_id!r} is not a mapping")
    return data


def raw_price_book(ref: str, base_dir: Path | None = None) -> dict[str, Any]:
    """The price book's data as plain YAML values: a bundled id or a file path."""
    if ref.endswith((".yaml", ".yml")) or "/" in ref:
        path = Path(ref)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if not path.is_file():
            raise PricingError(f"price book file {ref!r} not found")
        data = _read_book(path, ref)
        if not isinstance(data, dict):
            raise PricingError(f"price book file {ref!r} is not a mapping")
        return data
    return copy.deepcopy(_raw_bundled(ref))


def _read_book(path: Path, ref: str) -> object:
    """A price book file's data, within the YAML limits; any problem is a PricingError."""
    try:
        text = read_text(path)
    except (OSError, FileLimitError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise PricingError(f"price book file {ref!r} cannot be read: {reason}") from None
    try:
        return safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" (its line {mark.line + 1})" if mark is not None else ""
        raise PricingError(
            f"price book file {ref!r} is not valid YAML{where}: {exc.problem or exc.context}"
        ) from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PricingError(f"price book file {ref!r} is not valid YAML: {first}") from None


def apply_override(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set one figure by a dotted path such as ``web.models.gen4.5.rate``.

    Model ids contain dots, so each step takes the longest run of segments
    that names an existing key; the last segment may name a new figure only
    where its parent already exists.
    """
    parts = dotted.split(".")
    node: Any = data
    i = 0
    trail: list[str] = []
    while i < len(parts):
        if not isinstance(node, dict):
            raise PricingError(f"override {dotted!r}: {'.'.join(trail)} is a figure, not a group")
        for j in range(len(parts), i, -1):
            key = ".".join(parts[i:j])
            match = _find_key(node, key)
            if match is not None:
                if j == len(parts):
                    node[match] = value
                    return
                node = node[match]
                trail.append(key)
                i = j
                break
        else:
            known = ", ".join(sorted(str(k) for k in node))
            where = ".".join(trail) or "the price book"
            raise PricingError(
                f"override {dotted!r}: {'.'.join(parts[i:])!r} is not in {where}; known: {known}"
            )
    raise PricingError(f"override {dotted!r} names a group, not a figure")


def _find_key(node: dict[Any, Any], key: str) -> Any:
    for existing in node:
        if str(existing) == key:
            return existing
    return None


def load_price_book(
    ref: str = "runway-2026-05",
    overrides: dict[str, Any] | None = None,
    base_dir: Path | None = None,
) -> PriceBook:
    data = raw_price_book(ref, base_dir)
    for dotted, value in (overrides or {}).items():
        apply_override(data, dotted, value)
    try:
        return PriceBook.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise PricingError(f"price book {ref!r} is invalid at {loc}: {first['msg']}") from exc

"""pydantic's validation errors as located findings whose messages say what to write instead."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from provisioner.errors import Finding
from provisioner.model.display import short
from provisioner.model.rules import SECRET_HINT, close_matches, looks_like_secret_name
from provisioner.model.yaml_parse import MAX_FINDINGS_PER_FILE
from provisioner.model.yaml_source import Source


def _model_at(model: type[BaseModel], loc: Sequence[object]) -> type[BaseModel] | None:
    """The nested model that validates the value at `loc`, if that value is a model."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        info = getattr(current, "model_fields", {}).get(part)
        if info is None:
            return None
        ann = info.annotation
        candidates = [ann, *getattr(ann, "__args__", ())]
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not nested:
            return None
        current = nested[0]
    return current  # type: ignore[no-any-return]


def _fields_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """Field names valid where an unknown key was found, for 'did you mean'."""
    found = _model_at(model, loc[:-1])
    return list(found.model_fields) if found is not None else []


_SECRET_HINT = SECRET_HINT


def _error_finding(source: Source, model: type[BaseModel], err: Any) -> Finding:
    loc: tuple[Any, ...] = tuple(
        p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    kind = err["type"]
    msg = err["msg"].removeprefix("Value error, ")
    if "[key]" in loc:  # a dict key failed its own rule (labels): point at the key
        return source.finding(tuple(p for p in loc if p != "[key]"), f"key {_message(err)}",
                              key=True)
    if kind == "extra_forbidden":
        name = str(loc[-1])
        if looks_like_secret_name(name):
            return source.finding(loc, f"unknown field: {_SECRET_HINT}", key=True)
        return source.finding(
            loc, f"unknown field{close_matches(name[:100], _fields_at(model, loc))}", key=True)
    if kind == "missing":
        return source.finding(loc, "required field is missing")
    if kind == "invalid_key":
        return source.finding(loc[:-1], f"keys must be field names (text), not {short(loc[-1])}")
    if loc and loc[-1] == "admin_password" and kind == "literal_error":
        return source.finding(loc, f"must be 'generate' or 'stack_secret'; {_SECRET_HINT}")
    if kind == "string_pattern_mismatch":
        return source.finding(loc, _message(err))
    if kind == "value_error":
        # A model-level rule ("ose_url is required ..."): name the field it is about.
        nested = _model_at(model, loc)
        first = msg.split(" ", 1)[0].strip("'")
        if nested is not None and first in nested.model_fields:
            return source.finding((*loc, first), msg)
    return source.finding(loc, msg)


def _message(err: Any) -> str:
    if err["type"] == "string_pattern_mismatch":
        return (f"{short(err.get('input'))} does not match the expected format "
                f"{err['ctx']['pattern']}")
    return str(err["msg"]).removeprefix("Value error, ")


def validation_findings(source: Source, model: type[BaseModel],
                        exc: ValidationError) -> list[Finding]:
    """Every error pydantic found, located in the file (the first MAX_FINDINGS_PER_FILE; the
    rest counted in `source.unreported` for the one "and N more" line the repository's
    `_capped` writes)."""
    errors = exc.errors(include_url=False)
    source.unreported += max(0, len(errors) - MAX_FINDINGS_PER_FILE)
    return [_error_finding(source, model, err) for err in errors[:MAX_FINDINGS_PER_FILE]]

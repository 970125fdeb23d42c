"""Regular expressions from documents, matched in time linear in the input (RE2).

A pattern in a Control's JSON Schema or a Framework's `idFormat` is written by whoever edits the
catalogue, which for a pull-request gate may be anyone. Python's `re` backtracks: `(a+)+$` against 30
characters takes minutes. RE2 never backtracks; it lacks backreferences and lookaround, so a pattern
that needs them is refused with a message saying so, where it is written.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, Iterator, Protocol

MAX_PATTERN = 4096  # characters; longer patterns are refused, as is a program RE2 finds too large


class RegexRefused(ValueError):
    """A pattern the linear-time engine cannot run; the message says why and what to do."""


class Matcher(Protocol):
    def search(self, text: str) -> Any: ...


def _quiet_re2() -> Any:
    # RE2 logs each pattern it rejects to stderr through absl; the finding says it already.
    os.environ.setdefault("GLOG_minloglevel", "3")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
    import re2

    return re2


@lru_cache(maxsize=1024)
def compile_linear(pattern: str) -> Matcher:
    """The pattern compiled for RE2 (Python syntax, `search` semantics), or RegexRefused."""
    if len(pattern) > MAX_PATTERN:
        raise RegexRefused(f"longer than {MAX_PATTERN} characters: shorten it")
    re2 = _quiet_re2()
    options = re2.Options()
    options.log_errors = False
    try:
        compiled: Matcher = re2.compile(pattern, options)
    except re2.error as error:
        reason = str(error.args[0] if error.args else error)
        if isinstance(error.args[0] if error.args else None, bytes):
            reason = error.args[0].decode("utf-8", "replace")
        raise RegexRefused(f"cannot run in linear time ({reason}); svcascode matches patterns with RE2, which "
                           "has no backreferences or lookaround: rewrite it without them") from None
    return compiled


def search(pattern: str, text: str) -> bool:
    return compile_linear(pattern).search(text) is not None


# ---------------------------------------------------------------------------------------------------
# JSON Schema keywords that match regular expressions, on RE2


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "string") and not search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator: Any, patterns: dict[str, Any], instance: Any, schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional(instance: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    return [key for key in instance
            if key not in properties and not any(search(p, key) for p in patterns)]


def _additional_properties(validator: Any, allowed: Any, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if not validator.is_type(instance, "object"):
        return
    extras = _additional(instance, schema)
    if validator.is_type(allowed, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], allowed, path=extra)
    elif allowed is False and extras:
        shown = ", ".join(repr(e) for e in sorted(extras, key=str))
        if "patternProperties" in schema:
            patterns = ", ".join(repr(p) for p in sorted(schema["patternProperties"]))
            yield ValidationError(f"{shown} {'does' if len(extras) == 1 else 'do'} not match any of the regexes: "
                                  f"{patterns}")
        else:
            yield ValidationError(f"Additional properties are not allowed ({shown} "
                                  f"{'was' if len(extras) == 1 else 'were'} unexpected)")


def _linear_validator() -> Any:
    from jsonschema import Draft202012Validator, validators

    return validators.extend(Draft202012Validator, {  # type: ignore[no-untyped-call]
        "pattern": _pattern, "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
    })


LinearValidator: Any = _linear_validator()

"""PromQL text from catalogue text: quoted label values, and metric selectors parsed and written back.

A query in an SLO is never pasted into a rule. It is parsed as one of the few shapes an SLI uses (a
selector, `rate(selector[5m])`, `increase(...)`, either inside `sum(...)`), and the selector is written
back from its parts with every label value quoted here; anything else is refused with the reason, so
that YAML text can change neither the PromQL nor the rule file around it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from svcascode.linear_regex import RegexRefused, compile_linear

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_RANGE = re.compile(r"\[\s*([0-9]+(ms|s|m|h|d|w|y))\s*\]")
_OPERATORS = ("=~", "!~", "!=", "=")
# Words PromQL reads as something other than a metric name.
_KEYWORDS = frozenset({
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool",
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
    "quantile", "limitk", "limit_ratio", "atan2", "inf", "nan", "start", "end", "step",
})
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\x00"}


class PromqlError(ValueError):
    """Text that is not the PromQL it should be; the message says what is wrong, for the user."""


def quote(value: str) -> str:
    """A PromQL (and Alertmanager matcher) double-quoted string whose value is exactly `value`."""
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def matcher(label: str, value: str, op: str = "=") -> str:
    """`label="value"`, quoted; the label name must be a valid label name."""
    if not _LABEL_NAME.fullmatch(label):
        raise PromqlError(f"{label!r} is not a label name")
    return f"{label}{op}{quote(value)}"


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str
    value: str

    def text(self) -> str:
        return f"{self.label}{self.op}{quote(self.value)}"


@dataclass(frozen=True)
class Selector:
    """An instant vector selector, e.g. `http_requests_total{job="claims-api",code!~"5.."}`."""

    metric: str | None
    matchers: tuple[Matcher, ...]

    def text(self) -> str:
        inner = ",".join(m.text() for m in self.matchers)
        if self.metric is None:
            return "{" + inner + "}"
        return self.metric + ("{" + inner + "}" if inner else "")


@dataclass(frozen=True)
class Query:
    """An SLI query reduced to its selector; `counter` when it was written as a rate or an increase."""

    selector: Selector
    counter: bool | None  # None: written as a bare selector, so the indicator's `counter` decides


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def peek(self, word: str) -> bool:
        self.skip()
        return self.text.startswith(word, self.pos)

    def expect(self, word: str, what: str) -> None:
        if not self.peek(word):
            raise PromqlError(f"expected {what} at character {self.pos + 1}")
        self.pos += len(word)

    def match(self, pattern: re.Pattern[str]) -> str | None:
        self.skip()
        found = pattern.match(self.text, self.pos)
        if found is None:
            return None
        self.pos = found.end()
        return found.group(0)

    def string(self) -> str:
        self.skip()
        if self.pos >= len(self.text) or self.text[self.pos] not in "\"'`":
            raise PromqlError(f"expected a quoted label value at character {self.pos + 1}")
        quote_char = self.text[self.pos]
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == quote_char:
                self.pos += 1
                return "".join(out)
            if char == "\n" and quote_char != "`":
                break
            if char == "\\" and quote_char != "`":
                out.append(self._escape())
                continue
            out.append(char)
            self.pos += 1
        raise PromqlError("unterminated quoted string")

    def _escape(self) -> str:
        simple = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\",
                  "'": "'", '"': '"'}
        self.pos += 1
        if self.pos >= len(self.text):
            raise PromqlError("unterminated escape sequence")
        char = self.text[self.pos]
        if char in simple:
            self.pos += 1
            return simple[char]
        widths = {"x": 2, "u": 4, "U": 8}
        if char in widths:
            digits = self.text[self.pos + 1:self.pos + 1 + widths[char]]
            if len(digits) != widths[char] or not re.fullmatch(r"[0-9a-fA-F]+", digits):
                raise PromqlError(f"invalid escape sequence \\{char}{digits}")
            self.pos += 1 + widths[char]
            code = int(digits, 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise PromqlError(f"invalid escape sequence \\{char}{digits}")
            return chr(code)
        digits = self.text[self.pos:self.pos + 3]
        if re.fullmatch(r"[0-7]{3}", digits):
            self.pos += 3
            return chr(int(digits, 8))
        raise PromqlError(f"unknown escape sequence \\{char}")

    def end(self) -> bool:
        self.skip()
        return self.pos >= len(self.text)


def _selector(scan: _Scanner) -> Selector:
    metric = scan.match(_METRIC_NAME)
    if metric is not None and metric in _KEYWORDS:
        raise PromqlError(f"'{metric}' is a PromQL keyword, not a metric name")
    matchers: list[Matcher] = []
    if scan.peek("{"):
        scan.pos += 1
        while not scan.peek("}"):
            label = scan.match(_LABEL_NAME)
            if label is None:
                raise PromqlError(f"expected a label name at character {scan.pos + 1}")
            scan.skip()
            op = next((o for o in _OPERATORS if scan.text.startswith(o, scan.pos)), None)
            if op is None:
                raise PromqlError(f"expected =, !=, =~ or !~ after '{label}'")
            scan.pos += len(op)
            value = scan.string()
            if op in ("=~", "!~"):
                _check_regex(value)
            matchers.append(Matcher(label, op, value))
            if scan.peek(","):
                scan.pos += 1
            elif not scan.peek("}"):
                raise PromqlError(f"expected ',' or '}}' at character {scan.pos + 1}")
        scan.pos += 1
    if metric is None and not matchers:
        raise PromqlError("expected a metric name or {label matchers}")
    if metric is None and all(_matches_empty(m) for m in matchers):
        raise PromqlError("a selector needs a metric name or at least one matcher that does not match the "
                          "empty string")
    return Selector(metric, tuple(matchers))


def _check_regex(value: str) -> None:
    # Prometheus matches with RE2, as svcascode does: no look-around and no back-references
    try:
        compile_linear(value)
    except RegexRefused as error:
        raise PromqlError(f"regular expression {value!r}: {error}") from None


def _matches_empty(m: Matcher) -> bool:
    if m.op == "=":
        return m.value == ""
    if m.op == "!=":
        return m.value != ""
    matched = compile_linear(f"^(?:{m.value})$").search("") is not None
    return matched if m.op == "=~" else not matched


def parse_selector(text: str) -> Selector:
    """An instant vector selector, or PromqlError saying why `text` is not one."""
    scan = _Scanner(text)
    selector = _selector(scan)
    if not scan.end():
        raise PromqlError(f"unexpected {scan.text[scan.pos:scan.pos + 20]!r} after the selector")
    return selector


def parse_query(text: str) -> Query:
    """An SLI query: `selector`, `rate(selector[d])`, `increase(selector[d])`, or either inside `sum(...)`.

    The range written in the query is dropped: the generated rules put each window they need in its place.
    """
    scan = _Scanner(text)
    wrapped = False
    if re.match(r"\s*sum\s*\(", text):
        scan.expect("sum", "sum")
        scan.expect("(", "(")
        wrapped = True
    counter: bool | None = None
    function = re.match(r"\s*(rate|increase|irate)\s*\(", text[scan.pos:])
    if function:
        if function.group(1) == "irate":
            raise PromqlError("irate() looks at the last two samples only; an SLI needs rate() or increase()")
        scan.expect(function.group(1), function.group(1))
        scan.expect("(", "(")
        selector = _selector(scan)
        if scan.match(_RANGE) is None:
            raise PromqlError(f"expected a range such as [5m] after the selector in {function.group(1)}()")
        scan.expect(")", "')'")
        counter = True
    else:
        selector = _selector(scan)
        if wrapped:
            raise PromqlError("sum(selector) without rate() or increase(): write sum(rate(selector[5m])) for a "
                              "counter, or the bare selector")
    if wrapped:
        scan.expect(")", "')' closing sum(")
    if not scan.end():
        raise PromqlError(f"unexpected {scan.text[scan.pos:scan.pos + 20]!r}: an SLI query is a selector, "
                          "rate(selector[5m]) or sum(rate(selector[5m])); record anything more complex as a "
                          "metric of its own and use that")
    return Query(selector, counter)

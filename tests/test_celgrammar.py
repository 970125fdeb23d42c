"""CEL's parser loaded from the parse table shipped with svcascode (svcascode/celgrammar.py) is the parser
cel-python builds: the same trees, token positions and syntax errors, on every expression of the built-in
library; and it is used only when the installed lark and cel-python are the ones that saved it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from svcascode import celgrammar

LIBRARY = Path(__file__).parent.parent / "svcascode" / "library" / "controls"
MALFORMED = ["size(x", "a.b +", "x ? y", "'unclosed", "a..b", "1 +* 2", "has(a.b) && )"]


def _expressions(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "expression" and isinstance(item, str):
                yield item
            else:
                yield from _expressions(item)
    elif isinstance(value, list):
        for item in value:
            yield from _expressions(item)


LIBRARY_EXPRESSIONS = sorted({text for path in LIBRARY.glob("*.yaml") for text in _expressions(yaml.safe_load(
    path.read_text()))})


def _parsed(parser: Any, text: str) -> Any:
    """A tree with every token's type, text, line and column, or the error's type, line and column."""
    import lark

    try:
        tree = parser.parse(text)
    except lark.exceptions.LarkError as error:
        return (type(error).__name__, getattr(error, "line", None), getattr(error, "column", None))
    return (tree, [(t.type, str(t), t.line, t.column, t.end_line, t.end_column) for t in tree.scan_values(
        lambda v: isinstance(v, lark.Token))],
            [(s.data, s.meta.line, s.meta.column) for s in tree.iter_subtrees() if not s.meta.empty])


@pytest.fixture
def fresh_parser(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from celpy.celparser import CELParser

    monkeypatch.setattr(CELParser, "CEL_PARSER", None)
    yield


def _built() -> Any:
    from celpy.celparser import CELParser

    CELParser.CEL_PARSER = None
    CELParser()
    return CELParser.CEL_PARSER


def test_a_saved_parser_parses_every_library_expression_as_the_built_one(tmp_path: Path, fresh_parser: None) -> None:
    from celpy.celparser import CELParser

    assert len(LIBRARY_EXPRESSIONS) > 20
    saved = tmp_path / "cel-parser.bin"
    celgrammar.write(saved)
    built = _built()
    CELParser.CEL_PARSER = None
    assert celgrammar.use_shipped(saved) is True
    loaded = CELParser.CEL_PARSER
    assert loaded is not None and loaded is not built
    for text in [*LIBRARY_EXPRESSIONS, *MALFORMED, "true && false || null == x"]:
        assert _parsed(loaded, text) == _parsed(built, text), text
    assert celgrammar.use_shipped(saved) is False  # a parser is there: it is kept


def test_a_parser_saved_by_other_libraries_is_not_used(tmp_path: Path, fresh_parser: None) -> None:
    from celpy.celparser import CELParser

    saved = tmp_path / "cel-parser.bin"
    celgrammar.write(saved)
    CELParser.CEL_PARSER = None
    body = saved.read_bytes()[len(celgrammar.stamp()):]
    saved.write_bytes(celgrammar.stamp().replace(b"lark ", b"lark 0.") + body)
    assert celgrammar.use_shipped(saved) is False and CELParser.CEL_PARSER is None
    saved.write_bytes(celgrammar.stamp() + body[:1000])  # cut short: lark cannot read it back
    assert celgrammar.use_shipped(saved) is False and CELParser.CEL_PARSER is None
    assert celgrammar.use_shipped(tmp_path / "missing.bin") is False


def test_an_expression_run_uses_the_shipped_parser_when_these_libraries_saved_it() -> None:
    """In a new process, the first expression compiled loads the shipped parser (when `make cel-parser` saved
    it from the installed lark and cel-python) instead of building it."""
    probe = ("import lark\nfrom celpy.celparser import CELParser\nfrom svcascode import celgrammar, expressions\n"
             "builds = []\nbuild = lark.Lark.__init__\n"
             "lark.Lark.__init__ = lambda self, *a, **k: (builds.append(1), build(self, *a, **k))[1]\n"
             "expressions.compile_expression('size(x) > 0', {'x'})\n"
             "print(celgrammar.SHIPPED.read_bytes().startswith(celgrammar.stamp()), len(builds), "
             "type(CELParser.CEL_PARSER).__name__)\n")
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parent)
    current, builds, parser = ran.stdout.split()
    assert current == "True", "the installed lark or cel-python changed: run `make cel-parser` to save its parser"
    assert (builds, parser) == ("0", "Lark")  # loaded, not built

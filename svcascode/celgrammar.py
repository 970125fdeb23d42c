"""CEL's parser, as cel-python builds it, loaded from a parse table shipped with svcascode.

cel-python builds its LALR parser from its lark grammar the first time an expression is compiled: a sixth of a
second of CPU, on every run that evaluates an expression control (all of them, since the built-in library has
some). lark can save a built parser and load it again (`Lark.save`, `Lark.load`; what its own `cache` option
does), in a hundredth of that. `svcascode/data/cel-parser.bin` is such a save, made by `make cel-parser`, headed
by a stamp of what built it: the lark version, and digests of cel-python's grammar and of the module that sets
the parser's options. It is used only when that stamp is the one of the installed libraries; otherwise (a new
lark or cel-python) cel-python builds its parser as it always does. Either way the parser is the same: the
tests compare their trees, positions and errors on every expression of the built-in library.

The file is part of the installed package, like its code, and is read from nowhere else.
"""

from __future__ import annotations

import hashlib
import io
import sys
from pathlib import Path

SHIPPED = Path(__file__).parent / "data" / "cel-parser.bin"


def stamp() -> bytes:
    """What the installed lark and cel-python would build the parser from, as the first line of a saved one."""
    import lark
    from celpy import celparser

    source = Path(celparser.__file__)
    grammar = hashlib.sha256((source.parent / "cel.lark").read_bytes()).hexdigest()
    options = hashlib.sha256(source.read_bytes()).hexdigest()
    return f"svcascode cel parser 1; lark {lark.__version__}; grammar {grammar}; celparser {options}\n".encode()


def use_shipped(path: Path = SHIPPED) -> bool:
    """Give cel-python the saved parser when it was saved from these libraries (True); else leave cel-python
    to build its own when it first parses (False). Never replaces a parser cel-python already has."""
    from celpy.celparser import CELParser

    if CELParser.CEL_PARSER is not None:
        return False
    try:
        saved = path.read_bytes()
        expected = stamp()
    except OSError:
        return False
    if not saved.startswith(expected):
        return False
    import lark

    try:
        parser = lark.Lark.load(io.BytesIO(saved[len(expected):]))
    except Exception:  # a save lark cannot read back: cel-python builds its parser instead
        return False
    CELParser.CEL_PARSER = parser
    return True


def write(path: Path = SHIPPED) -> None:
    """Save the parser cel-python builds, headed by its stamp (`make cel-parser`)."""
    from celpy.celparser import CELParser

    CELParser.CEL_PARSER = None
    CELParser()  # builds it, as cel-python does
    built = CELParser.CEL_PARSER
    assert built is not None
    out = io.BytesIO()
    built.save(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(stamp() + out.getvalue())


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else SHIPPED)
    print(f"wrote {sys.argv[1] if len(sys.argv) > 1 else SHIPPED}")

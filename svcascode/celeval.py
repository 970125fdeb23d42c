"""Compiled CEL: each parsed expression becomes Python closures once, and runs without a tree walk.

cel-python (`celpy`) parses an expression into a lark tree and evaluates it with a tree-walking
interpreter (`celpy.Evaluator`): every node is a method found by name, every macro element builds a
nested evaluator and copies its activation: three expression controls took most of the time a `check`
spent evaluating thirty controls. This
module keeps celpy for what it is good at, the parser (and its located syntax errors), the values
(`celpy.celtypes`) and the operators and functions (`celpy.evaluation.base_functions`), and replaces
only the walk:

- `lower(tree)` turns the parse tree into a plain-data form (nested tuples of strings and numbers, no
  lark object), so a compiled expression can be kept and used again without building the parser;
- `Compiled(form).run(activation, functions, meter)` builds closures from that form once, then
  evaluates them;
- `recall(key)` / `keep(key, entry)`: an expression compiled before, in this process or by an earlier run
  (its form kept in the store's `cel` pack), is not parsed again.

The value of every expression is the one celpy's `Evaluator` gives, by the same rules, node for node:
the same functions are called with the same arguments in the same order, and the same Python
exceptions become the same `CELEvalError` values (`&&`, `||` and `?:` absorb them as celpy does;
`all` and `exists` turn an element's error into a value, `map`, `filter` and `exists_one` raise it;
both sides of `&&` and `||` are evaluated, as celpy does). tests/test_celeval.py compares the two on
the library's controls, the rule cases and generated expressions. Where they differ, the compiled
form is the one that does not fail:

- "undeclared reference to 'x'" (a macro's variable read outside its macro, or a macro called as a
  function): celpy's message goes on with a dump of its whole activation, memory addresses included;
  here it stops after the name;
- an error keeps no parse tree, so its repr does not end with celpy's reconstruction of the expression
  (`tree='1 /  0'`): seen in a message only when an error kept inside a map literal is printed; and
  where celpy crashed making that reconstruction (IndexError in `tree_dump` for `x[[]]` or `f({})`,
  when such an error sat beside `&&` or `||`), the error is a value here;
- an expression nested a few hundred operators deep evaluates here where the interpreter ran out of
  stack ("nests too deeply"); one too deep to be lowered (`RecursionError`) is left to the interpreter.

Metering is the interpreter's, to the step: `expressions.Metered` charged one for each node of the
parse tree it visited and, after it, the size of each string, bytes, list or map the node gave, and,
for each evaluation and each macro element, one and the number of names in scope (celpy's
`set_activation` copies them). A closure here stands for a chain of tree nodes (the nine rule nodes
around a literal, say): it charges what that chain would have, the number of nodes before and their
number times the value's size after, in one call (with the nodes before the child it evaluates first,
and, for a macro element, the scope's copy). The total spent at any point where other code runs (a
function, a document read) is the interpreter's, so an evaluation stops at the cost limit exactly
where it stopped before. The meter looks at the CPU clock every 64 charges: here each charge stands
for one closure's own work, as bounded as a node's was.
"""

from __future__ import annotations

import hashlib
import operator
import sys
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from svcascode.store import Pack, Store

FORM_VERSION = 3  # the plain-data form's layout: a kept form of another version is not used

_WRAPPERS = frozenset({"expr", "conditionalor", "conditionaland", "relation", "addition", "multiplication",
                       "unary", "member"})
_MACROS = frozenset({"map", "filter", "all", "exists", "exists_one"})
_BINARY = {"relation_lt": "_<_", "relation_le": "_<=_", "relation_ge": "_>=_", "relation_gt": "_>_",
           "relation_eq": "_==_", "relation_ne": "_!=_", "relation_in": "_in_", "addition_add": "_+_",
           "addition_sub": "_-_", "multiplication_div": "_/_", "multiplication_mul": "_*_",
           "multiplication_mod": "_%_"}
_UNARY = {"unary_not": "!_", "unary_neg": "-_"}
# a frame: [variables, functions, charge, the names in the activation's scope, macro variable of depth 0, ...]
_FIRST_SLOT = 4


class LoweringError(Exception):
    """A tree this module cannot compile: a macro of the wrong shape, at a line and column."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line, self.column = line, column


# ---------------------------------------------------------------------------------------------------
# Lowering: lark tree -> plain data
#
# A form is a tuple (kind, entry, exit, line, column, ...): `entry` steps are charged before the value
# is computed, `exit` times its size after (when it is a string, bytes, list or map).


def _where(tree: Any) -> tuple[int, int]:
    meta = getattr(tree, "meta", None)
    return getattr(meta, "line", 0) or 0, getattr(meta, "column", 0) or 0


def _token_where(token: Any) -> tuple[int, int]:
    return getattr(token, "line", 0) or 0, getattr(token, "column", 0) or 0


def _plus(form: tuple[Any, ...], entry: int, exit: int) -> tuple[Any, ...]:
    return (form[0], form[1] + entry, form[2] + exit, *form[3:])


def lower(tree: Any) -> tuple[Any, ...]:
    """The plain-data form of a parsed expression; a LoweringError for a macro of the wrong shape.

    RecursionError for a tree nested too deeply (the caller then keeps the interpreter)."""
    return _node(tree, ())


def _node(tree: Any, scope: tuple[str, ...]) -> tuple[Any, ...]:
    """The form of visiting `tree` (the interpreter's `_visit_tree`): its own step, its wrappers'."""
    wrappers = 0
    while tree.data in _WRAPPERS and len(tree.children) == 1:
        wrappers += 1
        tree = tree.children[0]
    return _plus(_inner(tree, scope), wrappers, wrappers)


def _inner(tree: Any, scope: tuple[str, ...]) -> tuple[Any, ...]:
    data = str(tree.data)
    line, column = _where(tree)
    children = tree.children
    if data == "expr":  # conditionalor "?" conditionalor ":" expr
        return ("cond", 1, 1, line, column, *(_node(c, scope) for c in children))
    if data in ("conditionalor", "conditionaland"):
        return ("or" if data == "conditionalor" else "and", 1, 1, line, column,
                _node(children[0], scope), _node(children[1], scope))
    if data in ("relation", "addition", "multiplication"):
        op_tree, right = children
        # the operator's node holds the left operand: one step before it, one for the list [left] after
        return ("binary", 2, 1, line, column, _BINARY[str(op_tree.data)], repr(op_tree.data), data,
                _node(op_tree.children[0], scope), _plus(_node(right, scope), 1, 0))
    if data == "unary":
        op_tree, operand = children
        return ("unary", 2, 1, line, column, _UNARY[str(op_tree.data)], repr(op_tree.data), _node(operand, scope))
    if data == "member_dot":
        member, name = children
        return ("dot", 1, 1, line, column, str(name), _node(member, scope))
    if data == "member_dot_arg":
        return _member_call(tree, scope, line, column)
    if data == "member_index":
        member, index = children
        return ("index", 1, 1, line, column, _node(member, scope), _node(index, scope))
    if data == "member_object":
        fields = _fieldinits(children[1], scope) if len(children) == 2 else None
        return ("object", 1, 1, line, column, _node(children[0], scope), fields)
    if data == "primary":
        return _primary(tree, scope, line, column)
    if data == "literal":
        token = children[0]
        return ("lit", 1, 1, line, column, str(token.type), str(token.value))
    if data == "exprlist":
        return ("list", 1, 1, line, column, *(_node(c, scope) for c in children))
    raise LoweringError(f"unexpected {data} in the expression", line, column)


def _fieldinits(tree: Any, scope: tuple[str, ...]) -> tuple[Any, ...]:
    # celpy visits the children of each field's expression and keeps the first (the condition of a ?:);
    # the name comes second, so that no tuple but a form's starts with a string
    pairs = tuple((tuple(_node(c, scope) for c in expr.children), str(name))
                  for name, expr in zip(tree.children[0::2], tree.children[1::2]))
    return ("fields", 1, 1, *_where(tree), pairs)


def _primary(tree: Any, scope: tuple[str, ...], line: int, column: int) -> tuple[Any, ...]:
    child = tree.children[0]
    kind = str(child.data)
    if kind == "literal":
        return _plus(_node(child, scope), 1, 1)
    if kind == "paren_expr":
        return _plus(_node(child.children[0], scope), 1, 1)
    if kind == "list_lit":
        if not child.children:
            return ("emptylist", 1, 1, line, column)
        return _plus(_node(child.children[0], scope), 1, 1)
    if kind == "map_lit":
        if not child.children:
            return ("emptymap", 1, 1, line, column)
        inits = child.children[0]
        return ("map", 2, 2, line, column, tuple(_node(c, scope) for c in inits.children))
    if kind in ("dot_ident", "dot_ident_arg"):
        name = str(child.children[0])
        args = _node(child.children[1], scope) if len(child.children) > 1 else None
        return ("rootname", 1, 1, line, column, name, _slot(scope, name), args)
    if kind == "ident":
        name = str(child.children[0])
        return ("name", 1, 1, line, column, name, _slot(scope, name))
    if kind == "ident_arg":
        token = child.children[0]
        name = str(token)
        args = tuple(_node(c, scope) for c in child.children[1].children) if len(child.children) > 1 else ()
        at = _token_where(token)
        if name in ("has", "dyn"):
            if not args:
                raise LoweringError(f"{name}() takes 1 argument", *at)
            return (name, 1, 1, line, column, args)
        return ("call", 1, 1, *at, name, args)
    raise LoweringError(f"unexpected {kind} in the expression", line, column)


def _slot(scope: tuple[str, ...], name: str) -> int:
    """The frame slot of the innermost macro variable of that name, or -1 (a variable of the activation)."""
    for depth in range(len(scope) - 1, -1, -1):
        if scope[depth] == name:
            return _FIRST_SLOT + depth
    return -1


def _member_call(tree: Any, scope: tuple[str, ...], line: int, column: int) -> tuple[Any, ...]:
    member, token = tree.children[:2]
    name = str(token)
    at = _token_where(token)
    if name in _MACROS:
        args = tree.children[2].children if len(tree.children) > 2 else []
        if len(args) != 2:
            raise LoweringError(f"{name}(variable, expression) takes 2 arguments, not {len(args)}", *at)
        idents = list(args[0].find_data("ident"))
        if len(idents) != 1:
            raise LoweringError(f"the first argument of {name}() is the name of a variable", *at)
        variable = str(idents[0].children[0])
        body = _node(args[1], (*scope, variable))
        return ("macro", 1, 1, line, column, name, _node(member, scope), _FIRST_SLOT + len(scope), variable, body,
                " ".join(scope))  # a string: no tuple but a form's starts with a string
    args_form = _node(tree.children[2], scope) if len(tree.children) > 2 else None
    return ("method", 1, 1, *at, name, _node(member, scope), args_form)


def depth(form: tuple[Any, ...]) -> int:
    """The number of frame slots a form's macros need."""
    deepest = 0
    stack: list[Any] = [form]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple):
            if item and item[0] == "macro":
                deepest = max(deepest, item[7] - _FIRST_SLOT + 1)
            stack.extend(item)
    return deepest


def valid_form(form: Any) -> bool:
    """Whether a kept form has the shape `lower` makes (strings, numbers, None and tuples only)."""
    stack: list[Any] = [form]
    seen = 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > 1_000_000:
            return False
        if isinstance(item, tuple):
            stack.extend(item)
        elif not (item is None or type(item) in (str, int)):
            return False
    return isinstance(form, tuple) and bool(form) and form[0] in _BUILDERS


# ---------------------------------------------------------------------------------------------------
# Building closures
#
# A closure takes the frame [variables, functions, charge, names in scope, macro variables...] and gives
# the value. It charges its form's entry steps, then computes, then charges exit x the value's size. The
# entry steps of the child a node evaluates first are charged with the node's own (nothing runs between
# them in the interpreter either): `_hoisted` moves them up before the closures are built.


Frame = list[Any]
Closure = Callable[[Frame], Any]


class _Name:
    """What celpy's literal conversions read of a token."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value


class _Library:
    """celpy's types and functions, imported when the first expression is built."""

    def __init__(self) -> None:
        import celpy
        from celpy import celtypes, evaluation

        # the stack celpy's parser sets up when it is built: the same whether or not this run parses
        sys.setrecursionlimit(_RECURSION_LIMIT)

        self.celtypes: Any = celtypes
        self.evaluation: Any = evaluation
        self.Error: Any = evaluation.CELEvalError
        self.NameContainer: Any = evaluation.NameContainer
        self.base: dict[str, Any] = evaluation.base_functions
        # celpy's comparisons wrap operator.lt & co. in `boolean` at every call (functools.wraps each
        # time): the same wrapper, made once
        self.comparisons: dict[Any, Any] = {
            getattr(evaluation, f"bool_{name}"): evaluation.boolean(getattr(operator, name))
            for name in ("lt", "le", "gt", "ge", "eq", "ne")}
        # the names celpy's activation resolves before functions: the protobuf packages (`google`)
        self.annotations: Any = evaluation.Activation(annotations=dict(celpy.googleapis))
        self.roots = frozenset(self.annotations.identifiers)


_LIBRARY: list[_Library] = []
_RECURSION_LIMIT = 2500  # what celpy.Environment() sets
_SIZED = (str, bytes, list, dict)  # what the interpreter charged the size of
_MISSING = object()


def _library() -> _Library:
    if not _LIBRARY:
        _LIBRARY.append(_Library())
    return _LIBRARY[0]


def _error(message: Any, kind: Any, args: Any, line: int, column: int, cause: BaseException | None = None) -> Any:
    error = _library().Error(message, kind, args)
    error.line, error.column = line, column
    if cause is not None:
        error.__cause__ = cause
    return error


# where the child evaluated first sits in each kind of form (a path of indexes)
_FIRST: dict[str, tuple[int, ...]] = {
    "cond": (5,), "or": (5,), "and": (5,), "binary": (8,), "unary": (7,), "dot": (6,), "index": (5,),
    "object": (5,), "list": (5,), "map": (5, 0), "rootname": (7,), "has": (5, 0), "dyn": (5, 0), "call": (6, 0),
    "method": (6,), "macro": (6,), "fields": (5, 0, 0, 0)}


def _hoisted(form: tuple[Any, ...]) -> tuple[Any, ...]:
    """The form with the entry steps of each node's first child charged by the node."""
    def walk(item: Any) -> Any:
        if not isinstance(item, tuple):
            return item
        if item and isinstance(item[0], str) and item[0] in _BUILDERS:
            node = tuple(walk(part) for part in item)
            path = _FIRST.get(node[0], ())
            child = _at(node, path)
            if child is not None and child[1]:
                node = _with(node, path, (child[0], 0, *child[2:]))
                node = (node[0], node[1] + child[1], *node[2:])
            return node
        return tuple(walk(part) for part in item)

    result: tuple[Any, ...] = walk(form)
    return result


def _at(node: tuple[Any, ...], path: tuple[int, ...]) -> Any:
    item: Any = node
    for index in path:
        if not isinstance(item, tuple) or index >= len(item) or item[index] is None:
            return None
        item = item[index]
    return item if isinstance(item, tuple) and item and item[0] in _BUILDERS else None


def _with(node: tuple[Any, ...], path: tuple[int, ...], child: Any) -> tuple[Any, ...]:
    if not path:
        return child  # type: ignore[no-any-return]
    index = path[0]
    return (*node[:index], _with(node[index], path[1:], child), *node[index + 1:])


def _build(form: tuple[Any, ...]) -> Closure:
    return _BUILDERS[form[0]](form)


def _b_lit(form: tuple[Any, ...]) -> Closure:
    _, entry, exit, line, column, kind, text = form
    lib = _library()
    celtypes = lib.celtypes
    value: Any
    try:
        if kind == "FLOAT_LIT":
            value = celtypes.DoubleType(text)
        elif kind == "INT_LIT":
            value = celtypes.IntType(text)
        elif kind == "UINT_LIT":
            value = celtypes.UintType(text[:-1])
        elif kind in ("MLSTRING_LIT", "STRING_LIT"):
            value = lib.evaluation.celstr(_Name(text))
        elif kind == "BYTES_LIT":
            value = lib.evaluation.celbytes(_Name(text))
        elif kind == "BOOL_LIT":
            value = celtypes.BoolType(text.lower() == "true")
        elif kind == "NULL_LIT":
            value = None
        else:
            raise LoweringError(f"literal {text!r} of an unknown type", line, column)
    except ValueError as ex:
        reason = (ex.args[0], ex.__class__, ex.args)

        def error(f: Frame) -> Any:
            if entry:
                f[2](entry)
            return _error(reason[0], reason[1], reason[2], line, column)

        return error
    steps = entry + (exit * len(value) if isinstance(value, _SIZED) else 0)

    def literal(f: Frame) -> Any:
        if steps:
            f[2](steps)
        return value

    return literal


def _b_emptylist(form: tuple[Any, ...]) -> Closure:
    entry = form[1]
    make = _library().celtypes.ListType

    def empty(f: Frame) -> Any:
        if entry:
            f[2](entry)
        return make()

    return empty


def _b_emptymap(form: tuple[Any, ...]) -> Closure:
    entry = form[1]
    make = _library().celtypes.MapType

    def empty(f: Frame) -> Any:
        if entry:
            f[2](entry)
        return make()

    return empty


def _b_list(form: tuple[Any, ...]) -> Closure:
    entry, exit = form[1], form[2]
    items = tuple(_build(item) for item in form[5:])
    lib = _library()
    Error, make = lib.Error, lib.celtypes.ListType

    def build_list(f: Frame) -> Any:
        if entry:
            f[2](entry)
        values = [item(f) for item in items]
        for value in values:
            if isinstance(value, Error):
                return value
        if exit and values:
            f[2](exit * len(values))
        return make(values)

    return build_list


def _b_map(form: tuple[Any, ...]) -> Closure:
    _, entry, exit, line, column, inits = form
    items = tuple(_build(item) for item in inits)
    make = _library().celtypes.MapType

    def build_map(f: Frame) -> Any:
        if entry:
            f[2](entry)
        try:
            values = [item(f) for item in items]
            result = make()
            for key, value in zip(values[0::2], values[1::2]):
                if key in result:
                    raise ValueError(f"Duplicate key {key!r}")
                result[key] = value
        except (ValueError, TypeError) as ex:
            return _error(ex.args[0], ex.__class__, ex.args, line, column)
        if exit and result:
            f[2](exit * len(result))
        return result

    return build_map


def _b_name(form: tuple[Any, ...]) -> Closure:
    _, entry, exit, line, column, name, slot = form
    lib = _library()
    if name in lib.roots:  # celpy's activation gives the package, whatever is bound to the name
        package = lib.annotations.resolve_variable(name)
        steps = entry + exit * len(package)

        def root(f: Frame) -> Any:
            if steps:
                f[2](steps)
            return package

        return root
    if slot >= 0:
        def local(f: Frame) -> Any:
            if entry:
                f[2](entry)
            value = f[slot]
            if exit and isinstance(value, _SIZED) and value:
                f[2](exit * len(value))
            return value

        return local
    base = lib.base

    def variable(f: Frame) -> Any:
        if entry:
            f[2](entry)
        value = f[0].get(name, _MISSING)
        if value is _MISSING:  # not a variable: celpy falls back to a function of that name
            value = f[1].get(name, _MISSING)
            if value is _MISSING:
                value = base.get(name, _MISSING)
            if value is _MISSING:
                return _error(f"undeclared reference to '{name}'", KeyError, (name,), line, column)
        if exit and isinstance(value, _SIZED) and value:
            f[2](exit * len(value))
        return value

    return variable


def _b_rootname(form: tuple[Any, ...]) -> Closure:
    # ".name" and ".name(args)": celpy evaluates the arguments, then reads the name as it reads `name`
    _, entry, exit, line, column, name, slot, args = form
    lib = _library()
    arguments = _build(args) if args is not None else None
    base = lib.base
    in_package = name in lib.roots

    def rootname(f: Frame) -> Any:
        if entry:
            f[2](entry)
        if arguments is not None:
            arguments(f)
        if in_package:
            value = lib.annotations.resolve_variable(name)
        elif slot >= 0:
            value = f[slot]
        else:
            value = f[0].get(name, _MISSING)
            if value is _MISSING:
                value = f[1].get(name, _MISSING)
                if value is _MISSING:
                    value = base.get(name, _MISSING)
                if value is _MISSING:
                    return _error(name, KeyError, (name,), line, column)
        if exit and isinstance(value, _SIZED) and value:
            f[2](exit * len(value))
        return value

    return rootname


def _b_dot(form: tuple[Any, ...]) -> Closure:
    _, entry, exit, line, column, name, member_form = form
    member = _build(member_form)
    lib = _library()
    Error, NameContainer = lib.Error, lib.NameContainer
    MessageType, MapType = lib.celtypes.MessageType, lib.celtypes.MapType
    missing = f"no such member in mapping: {name!r}"

    def field(f: Frame) -> Any:
        if entry:
            f[2](entry)
        value = member(f)
        if isinstance(value, MapType):
            if isinstance(value, MessageType):
                value = value.get(name)
            else:
                try:
                    value = value[name]
                except KeyError:
                    return _error(missing, KeyError, None, line, column)
        elif isinstance(value, Error):
            return value
        elif isinstance(value, NameContainer):
            if name not in value:
                return _error(f"No {name!r} in bindings {sorted(value.keys())}", KeyError, None, line, column)
            value = value[name].value
        else:
            return _error(f"{value!r} with type: '{type(value)}' does not support field selection", TypeError,
                          None, line, column)
        if exit and isinstance(value, _SIZED) and value:
            f[2](exit * len(value))
        return value

    return field


def _b_index(form: tuple[Any, ...]) -> Closure:
    _, entry, exit, line, column, member_form, index_form = form
    member, index = _build(member_form), _build(index_form)
    getitem = _library().base["_[_]"]

    def item(f: Frame) -> Any:
        if entry:
            f[2](entry)
        container = member(f)
        key = index(f)
        try:
            value = getitem(container, key)
        except TypeError as ex:
            return _error(f"found no matching overload for _[_] applied to '({type(container)}, {type(key)})'",
                          ex.__class__, ex.args, line, column, ex)
        except KeyError as ex:
            return _error("no such key", ex.__class__, ex.args, line, column, ex)
        except IndexError as ex:
            return _error("invalid_argument", ex.__class__, ex.args, line, column, ex)
        if exit and isinstance(value, _SIZED) and value:
            f[2](exit * len(value))
        return value

    return item


def _b_cond(form: tuple[Any, ...]) -> Closure:
    _, entry, exit, line, column, cond_form, left_form, right_form = form
    cond, left, right = _build(cond_form), _build(left_form), _build(right_form)
    lib = _library()
    choose = lib.base["_?_:_"]
    false = lib.celtypes.BoolType

    def conditional(f: Frame) -> Any:
        if entry:
            f[2](entry)
        condition = cond(f)
        chosen_left = chosen_right = false(False)
        try:  # as celpy's: a TypeError anywhere in the branch taken is this node's error
            if condition:
                chosen_left = left(f)
            else:
                chosen_right = right(f)
            value = choose(condition, chosen_left, chosen_right)
        except TypeError as ex:
            return _error(f"found no matching overload for _?_:_ applied to '({type(condition)}, "
                          f"{type(chosen_left)}, {type(chosen_right)})'", ex.__class__, ex.args, line, column, ex)
        if exit and isinstance(value, _SIZED) and value:
            f[2](exit * len(value))
        return value

    return conditional


def _b_logical(form: tuple[Any, ...]) -> Closure:
    kind, entry, exit, line, column, left_form, right_form = form
    left, right = _build(left_form), _build(right_form)
    symbol = "_||_" if kind == "or" else "_&&_"
    combine = _library().base[symbol]

    def logical(f: Frame) -> Any:
        if entry:
            f[2](entry)
        a = left(f)
        b = right(f)  # both sides, as celpy does: an error on either side may be absorbed
        try:
            value = combine(a, b)
        except TypeError as ex:
            return _error(f"found no matching overload for {symbol} applied to '({type(a)}, {type(b)})'",
                          ex.__class__, ex.args, line, column, ex)
        if exit and isinstance(value, _SIZED) and value:
            f[2](exit * len(value))
        return value

    return logical


def _b_binary(form: tuple[Any, ...]) -> Closure:
    _, entry, exit, line, column, op, op_repr, family, left_form, right_form = form
    left, right = _build(left_form), _build(right_form)
    lib = _library()
    function = lib.base[op]
    function = lib.comparisons.get(function, function)
    caught: tuple[type[BaseException], ...] = {
        "relation": (TypeError,), "addition": (TypeError, ValueError, OverflowError),
        "multiplication": (TypeError, ZeroDivisionError, ValueError, OverflowError)}[family]

    def binary(f: Frame) -> Any:
        if entry:
            f[2](entry)
        a = left(f)
        b = right(f)
        try:
            value = function(a, b)
        except caught as ex:
            if isinstance(ex, TypeError):
                message = f"found no matching overload for {op_repr} applied to '({type(a)}, {type(b)})'"
            elif isinstance(ex, ZeroDivisionError):
                message = "modulus or divide by zero"
            else:
                message = "return error for overflow"
            return _error(message, ex.__class__, ex.args, line, column, ex)
        if exit and isinstance(value, _SIZED) and value:
            f[2](exit * len(value))
        return value

    return binary


def _b_unary(form: tuple[Any, ...]) -> Closure:
    _, entry, exit, line, column, op, op_repr, operand_form = form
    operand = _build(operand_form)
    function = _library().base[op]

    def unary(f: Frame) -> Any:
        if entry:
            f[2](entry)
        a = operand(f)
        try:
            value = function(a)
        except TypeError as ex:
            return _error(f"found no matching overload for {op_repr} applied to '({type(a)})'",
                          ex.__class__, ex.args, line, column, ex)
        except ValueError as ex:
            return _error("return error for overflow", ex.__class__, ex.args, line, column, ex)
        if exit and isinstance(value, _SIZED) and value:
            f[2](exit * len(value))
        return value

    return unary


def _b_has(form: tuple[Any, ...]) -> Closure:
    _, entry, exit, line, column, args_form = form
    args = tuple(_build(a) for a in args_form)
    lib = _library()
    Error, Bool = lib.Error, lib.celtypes.BoolType

    def has(f: Frame) -> Any:
        if entry:
            f[2](entry)
        values = [a(f) for a in args]
        return Bool(not isinstance(values[0], Error))

    return has


def _b_dyn(form: tuple[Any, ...]) -> Closure:
    _, entry, exit, line, column, args_form = form
    args = tuple(_build(a) for a in args_form)

    def dyn(f: Frame) -> Any:
        if entry:
            f[2](entry)
        value = [a(f) for a in args][0]
        if exit and isinstance(value, _SIZED) and value:
            f[2](exit * len(value))
        return value

    return dyn


def _call(function: Any, args: list[Any], line: int, column: int) -> Any:
    try:
        return function(*args)
    except ValueError as ex:
        return _error("return error for overflow", ex.__class__, ex.args, line, column, ex)
    except (TypeError, AttributeError) as ex:
        return _error("no such overload", ex.__class__, ex.args, line, column, ex)


def _b_call(form: tuple[Any, ...]) -> Closure:
    _, entry, exit, line, column, name, args_form = form
    args = tuple(_build(a) for a in args_form)
    lib = _library()
    Error, base = lib.Error, lib.base

    def call(f: Frame) -> Any:
        if entry:
            f[2](entry)
        values = [a(f) for a in args]
        function = f[1].get(name, _MISSING)
        if function is _MISSING:
            function = base.get(name, _MISSING)
        if function is _MISSING:
            return _error(f"undeclared reference to '{name}'", KeyError, (name,), line, column)
        for value in values:
            if isinstance(value, Error):
                return value
        value = _call(function, values, line, column)
        if exit and isinstance(value, _SIZED) and value:
            f[2](exit * len(value))
        return value

    return call


def _b_method(form: tuple[Any, ...]) -> Closure:
    _, entry, exit, line, column, name, member_form, args_form = form
    member = _build(member_form)
    arguments = _build(args_form) if args_form is not None else None
    lib = _library()
    Error, base = lib.Error, lib.base

    def method(f: Frame) -> Any:
        if entry:
            f[2](entry)
        target = member(f)
        args = arguments(f) if arguments is not None else None
        function = f[1].get(name, _MISSING)
        if function is _MISSING:
            function = base.get(name, _MISSING)
        if function is _MISSING:
            return _error(f"undeclared reference to {name!r}", KeyError, (name,), line, column)
        if isinstance(target, Error):
            return target
        if isinstance(args, Error):
            return args
        value = _call(function, [target, *(args or [])], line, column)
        if exit and isinstance(value, _SIZED) and value:
            f[2](exit * len(value))
        return value

    return method


def _b_macro(form: tuple[Any, ...]) -> Closure:
    # celpy evaluates the body in a nested evaluator for each element: an error it gives is raised out
    # of map, filter and exists_one, and kept as the element's value by all and exists
    _, entry, exit, line, column, name, member_form, slot, variable, body_form, scope = form
    # each element's evaluation first copies the names in scope (celpy's set_activation; the interpreter
    # charged one and their number), then enters the body's first node: one charge
    body_entry = body_form[1]
    member, body = _build(member_form), _build((body_form[0], 0, *body_form[2:]))
    lib = _library()
    Error, Bool, List = lib.Error, lib.celtypes.BoolType, lib.celtypes.ListType
    enclosing = frozenset(scope.split())
    roots = lib.roots

    def per_element(f: Frame) -> int:
        names = f[3]
        if names is None:  # the activation's names and celpy's packages (`google`), once an evaluation
            names = f[3] = roots.union(f[0])
        return 1 + len(names.union(enclosing) if enclosing else names) + int(body_entry)

    if name == "map":
        def map_(f: Frame) -> Any:
            if entry:
                f[2](entry)
            values = member(f)
            if isinstance(values, Error):
                return values
            found = []
            steps = per_element(f)
            for item in values:
                f[2](steps)
                f[slot] = item
                value = body(f)
                if isinstance(value, Error):
                    raise value
                found.append(value)
            result = List(found)
            if exit and result:
                f[2](exit * len(result))
            return result

        return map_
    if name == "filter":
        def filter_(f: Frame) -> Any:
            if entry:
                f[2](entry)
            values = member(f)
            if isinstance(values, Error):
                return values
            kept = []
            steps = per_element(f)
            for item in values:
                f[2](steps)
                f[slot] = item
                value = body(f)
                if isinstance(value, Error):
                    raise value
                if value:
                    kept.append(item)
            result = List(kept)
            if exit and result:
                f[2](exit * len(result))
            return result

        return filter_
    if name == "exists_one":
        def exists_one(f: Frame) -> Any:
            if entry:
                f[2](entry)
            values = member(f)
            if isinstance(values, Error):
                return values
            count = 0
            steps = per_element(f)
            for item in values:
                f[2](steps)
                f[slot] = item
                value = body(f)
                if isinstance(value, Error):
                    raise value
                if value:
                    count += 1
            return Bool(count == 1)

        return exists_one
    # celpy folds the elements' values with logical_and (all) or logical_or (exists), a TypeError of
    # which is the error "no such overload" (celpy's eval_error), over every element: no short cut
    logic, start = (lib.celtypes.logical_and, True) if name == "all" else (lib.celtypes.logical_or, False)

    def fold(f: Frame) -> Any:
        if entry:
            f[2](entry)
        values = member(f)
        if isinstance(values, Error):
            return values
        value = Bool(start)
        steps = per_element(f)
        for item in values:
            f[2](steps)
            f[slot] = item
            try:
                element = body(f)
            except Error as ex:
                element = ex
            try:
                value = logic(value, element)
            except TypeError as ex:
                value = _error("no such overload", ex.__class__, ex.args, 0, 0, ex)
                value.line = value.column = None
        if exit and isinstance(value, _SIZED) and value:
            f[2](exit * len(value))
        return value

    return fold


def _b_fields(form: tuple[Any, ...]) -> Closure:
    _, entry, exit, line, column, pairs = form
    built = tuple((name, tuple(_build(c) for c in children)) for children, name in pairs)
    Message = _library().celtypes.MessageType

    def fields(f: Frame) -> Any:
        if entry:
            f[2](entry)
        found: dict[str, Any] = {}
        for name, children in built:
            value = [child(f) for child in children][0]
            if name in found:
                raise ValueError(f"Duplicate field label {name!r}")
            found[name] = value
        result = Message(**found)
        if exit and result:
            f[2](exit * len(result))
        return result

    return fields


def _b_object(form: tuple[Any, ...]) -> Closure:
    _, entry, exit, line, column, member_form, fields_form = form
    member = _build(member_form)
    fields = _build(fields_form) if fields_form is not None else None
    Error = _library().Error

    def construct(f: Frame) -> Any:
        if entry:
            f[2](entry)
        kind = member(f)
        argument = None
        if fields is not None:
            argument = fields(f)
            if isinstance(kind, Error):
                return kind
        try:
            value = kind(argument)
        except (TypeError, ValueError) as ex:
            return _error(ex.args[0], ex.__class__, ex.args, line, column)
        if exit and isinstance(value, _SIZED) and value:
            f[2](exit * len(value))
        return value

    return construct


_BUILDERS: dict[str, Callable[[tuple[Any, ...]], Closure]] = {
    "lit": _b_lit, "emptylist": _b_emptylist, "emptymap": _b_emptymap, "list": _b_list, "map": _b_map,
    "name": _b_name, "rootname": _b_rootname, "dot": _b_dot, "index": _b_index, "cond": _b_cond,
    "or": _b_logical, "and": _b_logical, "binary": _b_binary, "unary": _b_unary, "has": _b_has, "dyn": _b_dyn,
    "call": _b_call, "method": _b_method, "macro": _b_macro, "fields": _b_fields, "object": _b_object}


# ---------------------------------------------------------------------------------------------------
# Running


class Compiled:
    """A lowered expression, its closures built on first use."""

    __slots__ = ("form", "_root", "_slots", "_entry", "_scope")

    def __init__(self, form: tuple[Any, ...]) -> None:
        self.form = form
        self._root: Closure | None = None
        self._slots = self._entry = self._scope = 0

    def prepare(self) -> Closure:
        if self._root is None:
            lib = _library()
            root = _hoisted(self.form)
            self._entry = root[1]  # charged with the activation's copy, below
            self._root = _build((root[0], 0, *root[2:]))
            self._slots = depth(self.form)
            self._scope = 1 + len(lib.roots)  # celpy's set_activation: its base activation holds the packages
        return self._root

    def run(self, activation: dict[str, Any], functions: dict[str, Any], meter: Any) -> Any:
        """The expression's value with these variables and functions (over celpy's), charged to `meter`;
        a CELEvalError value is raised, as celpy's `Evaluator.evaluate` raises it."""
        root = self._root if self._root is not None else self.prepare()
        steps = self._entry + (self._scope if activation else 0)
        if steps:
            meter.charge(steps)
        frame: Frame = [activation, functions, meter.charge, None, *([None] * self._slots)]
        value = root(frame)
        if isinstance(value, _library().Error):
            raise value
        return value


# ---------------------------------------------------------------------------------------------------
# Compiled expressions kept: in this process, and in the store between runs


STAGE = "cel"  # the store's pack of compiled forms (svcascode.store: signed, salted with the code digest)
MAX_KEPT = 4096  # forms the pack carries over from earlier runs; past it, only the ones this run used
MAX_MEMORY = 4096  # expressions remembered in a process (an editor's server sees a new text at each keystroke)


class _Kept:
    """Compiled expressions by (text, names it may read): in memory for the process, and their forms in
    the `cel` pack of the store the result memo attaches, so a later run builds a Control without building
    the parser. The pack is read when an expression is first compiled, and every valid form it holds is
    carried over (a run that builds only one control keeps the others' forms)."""

    def __init__(self) -> None:
        self.memory: dict[tuple[str, tuple[str, ...]], tuple[Any, ...]] = {}
        self.store: Store | None = None
        self.pack: Pack | None = None
        self.kept = 0  # forms the pack will hold

    def attach(self, store: Store) -> None:
        if store is not self.store:
            self.store, self.pack, self.kept = store, None, 0

    def _pack(self) -> Pack | None:
        if self.pack is None and self.store is not None and self.store.folder is not None:
            self.pack = self.store.pack(STAGE)
            found = self.pack.entries()
            if len(found) <= MAX_KEPT:
                for key, entry in list(found.items()):
                    if isinstance(key, bytes) and _entry_ok(entry):
                        self.pack.keep(key, entry)
                        self.kept += 1
        return self.pack

    @staticmethod
    def key(key: tuple[str, tuple[str, ...]]) -> bytes:
        from svcascode.store import stage_key

        return stage_key(STAGE, str(FORM_VERSION).encode(), "\0".join(key[1]).encode("utf-8", "surrogatepass"),
                         key[0].encode("utf-8", "surrogatepass"))

    def get(self, key: tuple[str, tuple[str, ...]]) -> tuple[Any, ...] | None:
        known = self.memory.get(key)
        if known is not None:
            return known
        pack = self._pack()
        if pack is None:
            return None
        kept = pack.get(self.key(key))
        if kept is None or not _entry_ok(kept):
            return None
        entry: tuple[Any, ...] = kept
        if kept[0] == "ok":
            program = Compiled(kept[3])
            try:
                program.prepare()
            except (LoweringError, KeyError, ValueError, TypeError, IndexError, RecursionError):
                return None  # not a form this code makes: parsed again
            entry = ("ok", kept[1], kept[2], program)
        pack.keep(self.key(key), kept)
        if len(self.memory) >= MAX_MEMORY:
            self.memory.clear()
        self.memory[key] = entry
        return entry

    def put(self, key: tuple[str, tuple[str, ...]], entry: tuple[Any, ...]) -> None:
        if len(self.memory) >= MAX_MEMORY:
            self.memory.clear()
        self.memory[key] = entry
        pack = self._pack()
        if pack is not None and self.kept < MAX_KEPT:
            self.kept += 1
            pack.keep(self.key(key), entry if entry[0] == "error" else (*entry[:3], entry[3].form))


def _entry_ok(entry: Any) -> bool:
    """("error", message, line, column) or ("ok", catalogue functions, reads asOf, form)."""
    if not isinstance(entry, tuple) or len(entry) != 4:
        return False
    if entry[0] == "error":
        return isinstance(entry[1], str) and isinstance(entry[2], int) and isinstance(entry[3], int)
    return (entry[0] == "ok" and isinstance(entry[1], tuple) and all(isinstance(name, str) for name in entry[1])
            and isinstance(entry[2], bool) and valid_form(entry[3]))


_KEPT = _Kept()


def attach(store: Store) -> None:
    """Keep compiled forms in this store (written by `save`)."""
    _KEPT.attach(store)


def save() -> None:
    """Write the forms compiled or used by this run, when any is new."""
    if _KEPT.pack is not None:
        _KEPT.pack.save()


def recall(key: tuple[str, tuple[str, ...]]) -> tuple[Any, ...] | None:
    """What was kept for an expression (its text, the names it may read): ("ok", functions, reads_as_of,
    program) or ("error", message, line, column); None when it was not compiled before."""
    return _KEPT.get(key)


def keep(key: tuple[str, tuple[str, ...]], entry: tuple[Any, ...]) -> None:
    """Remember what compiling an expression gave, in this process and, when attached, in the store."""
    _KEPT.put(key, entry)

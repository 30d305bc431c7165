"""No function in the package is over 60 lines unless its docstring says why.

A function's length runs from its ``def`` line to its last line: the docstring, comments and
blank lines count (a reader reads past them too), decorators do not. Nested functions count on
their own and inside the function holding them. The reason is a paragraph of the docstring
that starts with ``Long because`` (CONTRIBUTING.md, "Style").
"""

from __future__ import annotations

import ast
import pathlib
import re
import textwrap
from collections.abc import Iterator

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "asyncexch"
LIMIT = 60
REASON = re.compile(r"Long because \S")

Function = ast.FunctionDef | ast.AsyncFunctionDef


def _functions(node: ast.AST, prefix: str) -> Iterator[tuple[str, Function]]:
    """Every function under ``node`` with its qualified name, as ``__qualname__`` spells it."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield prefix + child.name, child
            yield from _functions(child, f"{prefix}{child.name}.<locals>.")
        elif isinstance(child, ast.ClassDef):
            yield from _functions(child, f"{prefix}{child.name}.")
        else:
            yield from _functions(child, prefix)


def states_a_reason(function: Function) -> bool:
    """Whether a paragraph of the function's docstring starts with ``Long because ...``."""
    docstring = ast.get_docstring(function) or ""
    return any(REASON.match(paragraph) for paragraph in re.split(r"\n\s*\n", docstring))


def long_functions(source: str, module: str) -> list[tuple[str, int]]:
    """``(module:qualname, lines)`` of each function of ``source`` over :data:`LIMIT` lines
    whose docstring gives no reason."""
    found = []
    for name, function in _functions(ast.parse(source), f"{module}:"):
        assert function.end_lineno is not None
        lines = function.end_lineno - function.lineno + 1
        if lines > LIMIT and not states_a_reason(function):
            found.append((name, lines))
    return found


def package_offenders() -> list[tuple[str, int]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found += long_functions(path.read_text(encoding="utf-8"), module)
    return found


def test_no_function_is_long_without_a_reason() -> None:
    offenders = package_offenders()

    assert not offenders, (
        f"over {LIMIT} lines with no 'Long because ...' paragraph in the docstring: split them "
        "into named steps, or say why not:\n"
        + "\n".join(f"  {name} ({lines} lines)" for name, lines in offenders)
    )


def _function(name: str, lines: int, docstring: str = "", *, indent: str = "") -> str:
    """A function of exactly ``lines`` lines, its docstring (if any) among them."""
    head = [f"def {name}() -> None:"]
    if docstring:
        head += f'    """{docstring}"""'.splitlines()
    text = "\n".join(head + ["    x = 1"] * (lines - len(head))) + "\n"
    return textwrap.indent(text, indent)


def test_the_check_counts_from_def_to_the_last_line() -> None:
    source = _function("fits", 60) + _function("over", 61) + "\n\n" + _function("far", 90)

    assert long_functions(source, "pkg.mod") == [("pkg.mod:over", 61), ("pkg.mod:far", 90)]


def test_the_check_names_methods_and_nested_functions() -> None:
    outer = _function("outer", 70).replace(
        "    x = 1\n", _function("inner", 62, indent="    ") + "    x = 1\n", 1
    )
    source = "class Venue:\n" + textwrap.indent(outer, "    ")

    assert long_functions(source, "pkg") == [
        ("pkg:Venue.outer", 132),
        ("pkg:Venue.outer.<locals>.inner", 62),
    ]


def test_only_a_paragraph_starting_long_because_is_a_reason() -> None:
    reason = "Places an order.\n\n    Long because it is a table of arguments.\n    "
    in_passing = "Places an order. Long because it is a table of arguments."
    empty = "Places an order.\n\n    Long because\n    "
    source = "".join(
        _function(name, 61, docstring)
        for name, docstring in [("a", reason), ("b", in_passing), ("c", empty), ("d", "")]
    )

    assert long_functions(source, "m") == [("m:b", 61), ("m:c", 61), ("m:d", 61)]

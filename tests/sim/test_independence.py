"""The simulator is an independent oracle: it shares no code with the client it checks.

A bug in the client's signer, codes or id rules must not be mirrored by the exchange the tests
run it against, so nothing under ``asyncexch/sim`` imports the client side of ``asyncexch``.
The scan reads the source (every ``import`` and ``from ... import``, relative ones resolved),
so a lazy import inside a function is caught as well as one at the top.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import asyncexch.sim

SIM = Path(asyncexch.sim.__file__).parent
PACKAGE = SIM.parent
#: The one thing the simulator shares with the client: the source of time. One VirtualClock
#: drives both in a test, and the default SystemClock must be the client's own (the client
#: shares its rate limiter between sessions by clock equality, and the pytest plugin hands
#: the simulator's clock to the clients it builds).
SHARED = {"asyncexch._clock": frozenset({"Clock", "SystemClock"})}


def module_name(path: Path) -> str:
    """The dotted name of a module file under the package."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_of(path: Path) -> str:
    """The package a module file's relative imports start from."""
    name = module_name(path)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def imports(source: str, package: str) -> Iterator[tuple[str, frozenset[str]]]:
    """(module, names imported from it) for every import in ``source``, a module of
    ``package``; relative imports resolved."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, frozenset()
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield module, frozenset(alias.name for alias in node.names)


def client_imports(source: str, package: str) -> list[str]:
    """What ``source`` imports from asyncexch outside asyncexch.sim, beyond the shared clock."""
    found = []
    for module, names in imports(source, package):
        if module != "asyncexch" and not module.startswith("asyncexch."):
            continue  # the standard library or a third-party library
        if module == "asyncexch.sim" or module.startswith("asyncexch.sim."):
            continue
        if module in SHARED and names and names <= SHARED[module]:
            continue
        found.append(f"{module} {sorted(names)}")
    return found


def test_the_simulator_imports_nothing_of_the_client() -> None:
    files = sorted(SIM.rglob("*.py"))
    assert len(files) >= 6  # the scan sees the package (not an empty glob)
    offenders = {
        str(path.relative_to(PACKAGE)): client_imports(path.read_text("utf-8"), package_of(path))
        for path in files
    }
    assert {path: found for path, found in offenders.items() if found} == {}


def test_the_scan_resolves_relative_imports_and_sees_a_client_import() -> None:
    """The scan itself can fail: a venue module of the simulator reaching into the client."""
    source = (
        "from ..._convert import dumps\n"
        "from .. import _faults\n"
        "from ..._clock import Clock, VirtualClock\n"
        "def lazy() -> None:\n"
        "    import asyncexch.bybit\n"
        "from ..._clock import SystemClock\n"
        "from ._records import SimOrder\n"
    )
    package = "asyncexch.sim._bybit"
    assert client_imports(source, package) == [
        "asyncexch._convert ['dumps']",
        "asyncexch._clock ['Clock', 'VirtualClock']",
        "asyncexch.bybit []",
    ]
    resolved = dict(imports(source, package))
    assert resolved["asyncexch.sim"] == {"_faults"}
    assert resolved["asyncexch.sim._bybit._records"] == {"SimOrder"}
    assert package_of(SIM / "__init__.py") == "asyncexch.sim"
    assert package_of(SIM / "_faults.py") == "asyncexch.sim"


# --- the engines are pure ---------------------------------------------------------------------

#: Each venue's engine: its rules, free of HTTP and of clocks, so they can be driven directly.
ENGINES = ["asyncexch.sim._bybit._engine", "asyncexch.sim._chainup._engine"]
#: What an engine, and every module of the simulator it builds on, must not import: the HTTP
#: stack, and anything that reads or waits on time (time arrives as an ``Instant`` argument).
IMPURE = (
    "starlette",
    "httpx",
    "uvicorn",
    "asyncio",
    "time",
    "datetime",
    "threading",
    "asyncexch._clock",
)


def module_path(module: str) -> Path | None:
    """The file of a module of ``asyncexch.sim``, if it is one."""
    base = PACKAGE.parent.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def dependencies(module: str) -> dict[str, frozenset[str]]:
    """Every module of the simulator ``module`` builds on (itself included, parent packages'
    ``__init__`` not: they only re-export), with what each imports from outside the simulator."""
    seen: dict[str, frozenset[str]] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        path = module_path(name)
        if name in seen or path is None:
            continue
        outside: set[str] = set()
        for imported, names in imports(path.read_text("utf-8"), package_of(path)):
            if imported.startswith("asyncexch.sim"):
                todo.append(imported)
                todo.extend(f"{imported}.{item}" for item in names)  # `from . import _x`
            else:
                outside.add(imported)
        seen[name] = frozenset(outside)
    return seen


def impure(imported: str) -> bool:
    return any(imported == bad or imported.startswith(bad + ".") for bad in IMPURE)


@pytest.mark.parametrize("engine", ENGINES)
def test_an_engine_needs_no_http_and_no_clock(engine: str) -> None:
    found = dependencies(engine)
    assert engine in found and len(found) >= 3  # the engine and the records it books into
    assert {name: sorted(filter(impure, outside)) for name, outside in found.items()} == {
        name: [] for name in found
    }


def test_the_purity_check_sees_an_impure_dependency() -> None:
    """The check itself can fail: the HTTP layer is impure, through Starlette and the clock."""
    found = dependencies("asyncexch.sim._chainup._app")
    assert "asyncexch.sim._chainup._engine" in found
    assert sorted(filter(impure, found["asyncexch.sim._chainup._app"])) == [
        "asyncexch._clock",
        "starlette.applications",
        "starlette.requests",
        "starlette.responses",
        "starlette.routing",
    ]
    assert any(impure(name) for name in found["asyncexch.sim._exchange"])

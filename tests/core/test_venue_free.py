"""Which files of ``tests/core`` reach a real venue: the core is tested over the fake one.

``tests/core`` runs the session, retries, limits, the clock, observers and the transports
over ``tests.builders.fake_venue``, so a core test pins a core promise and nothing of Bybit's
or ChainUP's wire format. A file that imports a real venue (its package, its simulator or its
builders, directly or through the modules it imports) or takes one of the fixtures that build
a venue client tests that venue again, and belongs in ``tests/bybit`` or ``tests/chainup``;
the few that are about the venue-facing contract are listed here with the reason, so that a
new one fails this test by name.

The check reads the source (``ast``), so it sees imports made only while type checking or
inside functions too; the root ``conftest.py`` is not a core file and is not checked (it
builds the venue clients the other groups use).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).parents[2]
#: A real venue, to a test: its package, its simulator, the builders of its answers and orders.
VENUE_MODULES = (
    "asyncexch.bybit",
    "asyncexch.chainup",
    "asyncexch.sim",
    "tests.builders.bybit",
    "tests.builders.chainup",
    "tests.builders.sim",
)
#: The fixtures of ``tests/conftest.py`` that build a real venue's client or mock.
VENUE_FIXTURES = frozenset(
    {"make_client", "bybit_mock", "make_chainup_client", "chainup_mock", "sim_client"}
)
#: The files of tests/core about the venue-facing contract, and why they reach a venue.
REACHES_A_VENUE = {
    "test_cli.py": "the command line serves each venue's simulator and runs the demo",
    "test_client_options.py": "every venue's client takes the session's options as it does",
    "test_demo.py": "the demo places orders with BybitClient on the Bybit simulator",
}


def _source(module: str) -> Path | None:
    """The file of ``module`` if it is one of the repository's (asyncexch or tests)."""
    base = ROOT.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _is_venue(module: str) -> bool:
    return any(module == venue or module.startswith(f"{venue}.") for venue in VENUE_MODULES)


@functools.cache
def _imports(module: str, path: Path) -> frozenset[str]:
    """Every module ``path`` (the file of ``module``) imports, by absolute name: with the
    packages Python runs on the way, and the submodules named in ``from package import m``."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package[: len(package) - node.level + 1] if node.level else []
            origin = ".".join([*parts, *(node.module or "").split(".")]).strip(".")
            found.add(origin)
            submodules = (f"{origin}.{alias.name}" for alias in node.names)
            found.update(name for name in submodules if _source(name) is not None)
    parents = {
        ".".join(name.split(".")[:end]) for name in found for end in range(1, name.count(".") + 1)
    }
    return frozenset(found | parents)


def venues_reached(module: str) -> set[str]:
    """The venue modules ``module`` imports, directly or through the repository's modules."""
    reached: set[str] = set()
    seen = {module}
    waiting = [module]
    while waiting:
        current = waiting.pop()
        path = _source(current)
        if path is None:
            continue  # a third-party or standard module
        for name in _imports(current, path):
            if _is_venue(name):
                reached.add(name)
            elif name not in seen and _source(name) is not None:
                seen.add(name)
                waiting.append(name)
    return reached


def fixtures_taken(path: Path) -> set[str]:
    """The venue fixtures the test functions of ``path`` take."""
    taken: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            taken.update(arg.arg for arg in node.args.args if arg.arg in VENUE_FIXTURES)
    return taken


def venue_use() -> dict[str, list[str]]:
    """Each file of tests/core that reaches a real venue, with what it reaches."""
    use = {}
    for path in sorted((ROOT / "tests" / "core").glob("test_*.py")):
        what = venues_reached(f"tests.core.{path.stem}") | fixtures_taken(path)
        if what:
            use[path.name] = sorted(what)
    return use


def test_only_the_venue_facing_files_of_tests_core_reach_a_real_venue() -> None:
    use = venue_use()

    unexpected = {name: what for name, what in use.items() if name not in REACHES_A_VENUE}
    assert not unexpected, f"test the core over tests.builders.fake_venue: {unexpected}"
    assert set(use) == set(REACHES_A_VENUE), "a file listed here no longer reaches a venue"


def test_the_check_sees_a_venue_however_it_is_reached() -> None:
    # Directly, through a package's submodule, and through the package's own modules.
    assert venues_reached("tests.core.test_client_options") == {
        "asyncexch.bybit",
        "asyncexch.chainup",
    }
    assert "tests.builders.bybit" in venues_reached("tests.conftest")
    assert "asyncexch.bybit" in venues_reached("asyncexch._demo")
    assert venues_reached("tests.core.test_session") == set()
    assert fixtures_taken(ROOT / "tests" / "bybit" / "test_feedback.py") == {
        "make_client",
        "bybit_mock",
    }


def test_the_fake_venue_and_the_core_modules_reach_no_real_venue() -> None:
    assert venues_reached("tests.builders.fake_venue") == set()
    for module in ("asyncexch", "asyncexch._session", "asyncexch._retry", "asyncexch.otel"):
        assert venues_reached(module) == set(), module

"""The command line: help with defaults, --version, the simulator binding before it says where,
both venues served, missing extras named with the command that installs them; and the entry
points run as a user runs them (``python -m asyncexch``, the ``asyncexch`` script, the demo)."""

from __future__ import annotations

import importlib
import pathlib
import re
import socket
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

import asyncexch
from asyncexch._cli import _listening_socket, _parse_categories, main
from asyncexch._demo import CATEGORIES
from asyncexch._watch import CATEGORIES as WATCH_CATEGORIES


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int | str | None, str, str]:
    """The exit status and the output of ``asyncexch argv``."""
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    out, err = capsys.readouterr()
    return exited.value.code, out, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")

    assert code == 0
    assert out.strip() == f"asyncexch {asyncexch.__version__}"


DEMO_OPTIONS = ["--orders", "--rate", "--faults", "--jitter", "--seed", "--category"]
SIM_OPTIONS = [
    *["--venue", "--host", "--port", "--api-key", "--api-secret", "--faults", "--seed"],
    *["--settlement-delay", "--limits", "--verbose"],
]
WATCH_OPTIONS = ["--category", "--product", "--host", "--sim", "--seconds"]


@pytest.mark.parametrize(
    ("command", "names"),
    [("demo", DEMO_OPTIONS), ("sim", SIM_OPTIONS), ("watch", WATCH_OPTIONS)],
    ids=["demo", "sim", "watch"],
)
def test_every_option_has_help_with_its_default(
    capsys: pytest.CaptureFixture[str], command: str, names: list[str]
) -> None:
    code, out, _ = run(capsys, command, "--help")

    assert code == 0
    options = re.findall(r"^  (--[a-z-]+)(.*(?:\n {10,}.*)*)", out, re.MULTILINE)
    assert [name for name, _ in options] == names
    for name, text in options:
        assert "default" in text, f"{name} does not say its default"


def test_the_console_script_is_declared() -> None:
    text = (pathlib.Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8")

    assert re.search(r'^asyncexch = "asyncexch\._cli:main"$', text, re.MULTILINE)


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_a_port_in_use_is_an_error_and_no_banner(
    capsys: pytest.CaptureFixture[str], taken_port: int
) -> None:
    code, out, _ = run(capsys, "sim", "--port", str(taken_port))

    assert isinstance(code, str) and f"cannot listen on 127.0.0.1:{taken_port}" in code
    assert out == ""  # nothing claimed to listen


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["sim", "--limits", "place_order"], "is not NAME=N/SECONDS"),
        (["sim", "--limits", "place_order=0/1"], "N must be >= 1"),
        (["sim", "--faults", "2"], "--faults must be in [0, 1]"),
        (["demo", "--orders", "0"], "--orders and --rate must be >= 1"),
        (["demo", "--category", "DoubleLoss"], "--category: 'DoubleLoss': name some of"),
        (["demo", "--category", ","], "--category: ',': name some of"),
        (["watch", "--category", "DoubleLoss"], "'DoubleLoss': name one of SmartLeverage,"),
        (["watch", "--host", "mainnet", "--sim"], "not allowed with argument --host"),
        (["watch", "--host", "localhost"], "invalid choice: 'localhost'"),
        (["watch", "--seconds", "0"], "--seconds must be > 0"),
    ],
)
def test_bad_options_are_refused_by_name(
    capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    code, _, err = run(capsys, *argv)

    assert code == 2
    assert says in err


def test_a_limit_the_venue_does_not_have_is_named(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "sim", "--venue", "chainup", "--limits", "stake=1/1", "--port", "0")

    assert isinstance(code, str) and "stake" in code
    assert out == ""


@pytest.mark.parametrize("command", [["sim"], ["sim", "--venue", "chainup"], ["demo"]])
def test_a_missing_extra_names_its_install_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if not installed

    code, out, _ = run(capsys, *command)

    extra = "cli" if command == ["demo"] else "sim"
    assert code == (
        f"asyncexch {command[0]} needs the '{extra}' extra (uvicorn is missing): "
        f"pip install 'asyncexch[{extra}]'"
    )
    assert out == ""


def test_importing_the_simulator_without_its_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "starlette", None)
    monkeypatch.delitem(sys.modules, "asyncexch.sim")

    with pytest.raises(ModuleNotFoundError, match=r"pip install 'asyncexch\[sim\]'") as caught:
        importlib.import_module("asyncexch.sim")

    assert caught.value.name == "starlette"


def test_the_simulators_socket_accepts_before_the_banner_names_it() -> None:
    """The banner is printed once the socket listens: a client connecting the moment it
    reads it is accepted (queued), not refused while the server starts."""
    listener = _listening_socket("127.0.0.1", 0)
    try:
        assert listener.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
        with socket.create_connection(listener.getsockname()[:2], timeout=5):
            pass  # accepted into the backlog: nothing serves it yet
    finally:
        listener.close()


@pytest.mark.slow
@pytest.mark.parametrize("venue", ["bybit", "chainup"])
def test_the_simulator_serves_each_venue_and_logs_requests_when_verbose(venue: str) -> None:
    command = [sys.executable, "-m", "asyncexch", "sim", "--venue", venue, "--port", "0"]
    server = subprocess.Popen(
        [*command, "--verbose"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None and server.stderr is not None
        banner = server.stdout.readline()  # printed once the port is bound
        found = re.search(r"http://127\.0\.0\.1:(\d+)", banner)
        assert found, banner
        path = "/api/contract_public_info" if venue == "chainup" else "/v5/market/time"
        answer = httpx.get(found.group(0) + path, timeout=10)
        assert answer.status_code == 200
        body = answer.json()
        if venue == "chainup":
            assert (body["code"], body["msg"]) == ("0", "成功")
            assert body["data"]["market"]["E_BTCUSD"]["id"] == 1
        else:
            assert (body["retCode"], body["retMsg"]) == (0, "OK")
            assert int(body["result"]["timeSecond"]) == body["time"] // 1000
    finally:
        server.terminate()
        out, err = server.communicate(timeout=10)
    assert f"GET {path}" in out + err  # uvicorn's access log


# --- the entry points, as a user runs them ---------------------------------------------------


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_python_m_asyncexch_is_the_command_line() -> None:
    done = _run(sys.executable, "-m", "asyncexch", "--version")

    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        f"asyncexch {asyncexch.__version__}\n",
        "",
    )


def test_the_console_script_runs_the_command_line() -> None:
    script = pathlib.Path(sys.executable).with_name("asyncexch")
    if not script.exists():
        pytest.skip("the asyncexch script is installed by pip install (not in this environment)")

    done = _run(str(script), "--version")

    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        f"asyncexch {asyncexch.__version__}\n",
        "",
    )


@pytest.mark.slow
def test_the_demo_command_places_a_batch_exactly_once() -> None:
    """``make demo``'s job through the command it runs, with a small batch."""
    done = _run(sys.executable, "-m", "asyncexch", "demo", "--orders", "12", "--rate", "20")

    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line.strip("│ ") for line in done.stdout.splitlines()]
    assert re.sub(r"\s+", " ", lines[-1]) == (
        "OK: every order placed exactly once, no rate limit broken."
    )
    rows = {re.sub(r"\s+", " ", line.split("│")[0].strip()): line for line in lines if "│" in line}
    assert rows["acknowledged / failed"].endswith("12 / 0")
    assert rows["duplicate orders"].endswith(" 0")
    assert "demo-secret" not in done.stdout + done.stderr  # the demo's key never shows


@pytest.mark.parametrize(
    ("given", "categories"),
    [
        ("SmartLeverage", ("SmartLeverage",)),
        ("dualassets", ("DualAssets",)),
        ("DualAssets, smartleverage,DualAssets", ("DualAssets", "SmartLeverage")),
        ("discountbuy,DOUBLEWIN", ("DiscountBuy", "DoubleWin")),
        ("all", CATEGORIES),
        ("ALL", CATEGORIES),
    ],
)
def test_demo_categories_are_named_in_any_case_or_all(
    given: str, categories: tuple[str, ...]
) -> None:
    assert _parse_categories(given) == categories


def test_the_command_line_offers_the_demos_categories() -> None:
    """The command line names them without importing the demo (it needs the "cli" extra):
    its list (``watch``'s, read from the same Advance Earn readers) is the demo's."""
    assert tuple(WATCH_CATEGORIES) == CATEGORIES


def test_a_demo_that_cannot_get_going_says_why_without_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Every request faulty: the products the demo starts from never come.
    status = main(["demo", "--orders", "2", "--faults", "1", "--seed", "1"])

    out, err = capsys.readouterr()
    assert status == 1
    text = " ".join((out + err).split())
    problem = text[text.index("PROBLEM") :]
    assert problem.startswith("PROBLEM: the demo stopped: ")
    assert len(problem) > len("PROBLEM: the demo stopped: ") + 10  # the error itself
    assert "Traceback" not in out + err


@pytest.mark.parametrize(
    ("category", "products"),
    [
        ("dualassets", {"36320", "36340", "36360"}),
        ("SmartLeverage", None),
        ("DoubleWin", {"14084"}),  # the simulator's one fixed-range product
        ("discountBUY", {"7037", "7038", "7039"}),
    ],
)
def test_watch_shows_the_simulators_live_offers_and_stops_after_seconds(
    capsys: pytest.CaptureFixture[str], category: str, products: set[str] | None
) -> None:
    from asyncexch._watch import CATEGORIES

    code = main(["watch", "--category", category, "--seconds", "1.5"])

    out, err = capsys.readouterr()
    assert code == 0, err
    name = next(name for name in CATEGORIES if name.lower() == category.lower())
    assert f"{name} live offers" in out
    assert re.search(rf"watching {name} offers on ws://127\.0\.0\.1:\d+/v5/public/fp", out)
    shown = set(re.findall(r"^│ (\w+) +│", out, re.MULTILINE))
    if category.lower() == "discountbuy":  # 7038 is quoted with expiredAt "0"
        (row_7038,) = [line for line in out.splitlines() if line.startswith("│ 7038 ")]
        assert "never" in row_7038
    if products is not None:
        assert shown == products
    assert shown, out
    assert "no gap" in out


def test_watch_shows_only_the_products_asked_for(capsys: pytest.CaptureFixture[str]) -> None:
    products = ["--product", "7038", "--product", "7039"]
    code = main(["watch", *products, "--category", "DiscountBuy", "--seconds", "1.5"])

    out, _ = capsys.readouterr()
    assert code == 0
    assert set(re.findall(r"^│ (\w+) +│", out, re.MULTILINE)) == {"7038", "7039"}


def test_the_watch_board_marks_gaps_and_the_rows_received_before_them() -> None:
    from datetime import datetime, timedelta, timezone
    from decimal import Decimal

    from rich.console import Console

    from asyncexch._watch import Board
    from asyncexch.bybit import DoubleWinQuote, LiveQuote, QuoteGap

    start = datetime(2026, 12, 7, 10, 0, 0, tzinfo=timezone.utc)

    def live(product_id: str, seconds: int) -> LiveQuote[DoubleWinQuote]:
        at = start + timedelta(seconds=seconds)
        quote = DoubleWinQuote(
            category="DoubleWin",
            product_id=product_id,
            current_price=Decimal("2050.99"),
            leverage=Decimal("37.78"),
            expire_time=at + timedelta(seconds=60),
            max_investment_amount=Decimal("1000"),
        )
        return LiveQuote(
            category="DoubleWin",
            product_id=product_id,
            quote=quote,
            pushed_at=None,
            received_at=at,
            expires_at=quote.expire_time,
            received_monotonic=0.0,
        )

    board = Board("DoubleWin")
    board.take(live("14082", 0))
    board.take(
        QuoteGap(
            category="DoubleWin",
            lost_at=start + timedelta(seconds=5),
            resumed_at=start + timedelta(seconds=7),
            reason="no frame for 30 s",
        )
    )
    board.take(live("14083", 8))
    console = Console(record=True, width=160)
    console.print(board.table(start + timedelta(seconds=10)))
    text = console.export_text()

    rows = {line.split("│")[1].strip(): line for line in text.splitlines() if "│ 140" in line}
    assert "10:00:00 (before gap)" in rows["14082"] and "50 s" in rows["14082"]
    assert "(before gap)" not in rows["14083"] and "58 s" in rows["14083"]
    assert "37.78" in rows["14083"]
    assert (
        "GAP 10:00:05 -> 10:00:07 (1 reconnect(s): no frame for 30 s); offers may have been "
        "missed" in " ".join(text.split())  # the caption wraps at the table's width
    )

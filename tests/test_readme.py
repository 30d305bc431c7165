"""README.md's samples are tests: every Python block runs as written and passes mypy --strict.

A block runs as a program of its own (a fresh interpreter, in a scratch directory, without
exchange keys in its environment, so the samples that can reach a real exchange take their
offline path). An HTML comment on the line before a block says what else it needs:

* ``<!-- readme-test: redis -->``: a Redis server, given as ``REDIS_URL``;
* ``<!-- readme-test: pytest -->``: it is a test module, run by pytest in a project of its own.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from tests.redis_testing import RedisServer, redis_server_fixture  # noqa: F401 (the fixture)

README = Path(__file__).parents[1] / "README.md"
#: A fenced Python block, with the readme-test comment on the line before it, if any.
_BLOCK = re.compile(
    r"^(?:<!-- readme-test: (?P<kind>[a-z-]+) -->\n)?```python\n(?P<code>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)
_KINDS = {"script", "redis", "pytest"}
#: Keys that would send a sample to a real exchange.
_EXCHANGE_KEYS = ("BYBIT_KEY", "BYBIT_SECRET", "CHAINUP_URL", "CHAINUP_KEY", "CHAINUP_SECRET")


@attrs.frozen
class Sample:
    line: int
    kind: str
    code: str

    @property
    def name(self) -> str:
        return f"readme_line_{self.line}"


def samples() -> list[Sample]:
    text = README.read_text(encoding="utf-8")
    return [
        Sample(
            line=text.count("\n", 0, match.start("code")) + 1,
            kind=match["kind"] or "script",
            code=match["code"],
        )
        for match in _BLOCK.finditer(text)
    ]


def run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def offline_environment(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in _EXCHANGE_KEYS}
    env.pop("PYTEST_ADDOPTS", None)
    return {**env, **extra}


def test_the_readme_has_samples_of_every_kind() -> None:
    found = samples()

    assert len(found) >= 8
    assert {sample.kind for sample in found} == _KINDS  # a misspelt marker shows up here


@pytest.fixture
def redis_url(request: pytest.FixtureRequest, sample: Sample) -> Iterator[str]:
    if sample.kind != "redis":
        yield ""
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    yield server.url


@pytest.fixture(params=samples(), ids=lambda sample: sample.name)
def sample(request: pytest.FixtureRequest) -> Sample:
    value: Sample = request.param
    return value


@pytest.mark.slow
def test_the_sample_runs_as_written(sample: Sample, redis_url: str, tmp_path: Path) -> None:
    source = tmp_path / f"{sample.name}.py"
    source.write_text(sample.code, encoding="utf-8")
    env = offline_environment(REDIS_URL=redis_url) if redis_url else offline_environment()
    if sample.kind == "pytest":
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", source.name]
    else:
        command = [sys.executable, source.name]

    done = run(command, tmp_path, env)

    assert done.returncode == 0, f"README line {sample.line}:\n{done.stdout}\n{done.stderr}"
    if sample.kind == "pytest":
        assert " passed" in done.stdout and "failed" not in done.stdout


@pytest.mark.slow
def test_every_sample_passes_mypy_strict(tmp_path: Path) -> None:
    for sample in samples():
        (tmp_path / f"{sample.name}.py").write_text(sample.code, encoding="utf-8")
    command = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "."]

    done = run(command, tmp_path, offline_environment())

    assert done.returncode == 0, done.stdout + done.stderr

"""CLI tests: every test gets its own embedded store (the ``home`` fixture) and a runner."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import modeldeck
from modeldeck.cli.main import app

Invoke = Callable[..., Result]


@pytest.fixture(autouse=True)
def _cli_store(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    # Wide enough that no table cell is cut; artifacts land in the test's own folder.
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(tmp_path)
    yield home


@pytest.fixture
def cli() -> Invoke:
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args), prog_name="modeldeck")

    return invoke


@pytest.fixture
def two_runs() -> tuple[str, str]:
    """Two finished runs of experiment "e" that share one param and differ in another."""
    with modeldeck.start_run(experiment="e", name="alpha") as a:
        modeldeck.log_params({"lr": 0.1, "model": "gbm"})
        modeldeck.log_metric("auc", 0.80)
        modeldeck.log_metric("loss", float("nan"))
        modeldeck.set_tag("team", "[red]risk[/]")
    with modeldeck.start_run(experiment="e", name="beta") as b:
        modeldeck.log_params({"lr": 0.2, "model": "gbm"})
        modeldeck.log_metric("auc", 0.90)
        modeldeck.log_metric("loss", 0.25)
    modeldeck.flush()
    return a.id, b.id

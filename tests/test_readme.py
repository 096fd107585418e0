"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_examples() -> None:
    assert _blocks()


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_readme_example_runs(index: int, home: Path) -> None:
    exec(compile(_blocks()[index], f"README.md[python block {index}]", "exec"), {})
